"""Fixtures of the fault suite: the database of a case (a SQLite file, and a PostgreSQL database
of its own when SCANHOOK_TEST_POSTGRES_URL is set), an HTTP session, the processes' cleanup,
and the figures table at the end of the run."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest

from faults.support import RESULTS, Database, Service, postgres_database


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """The case's database, on each backend in turn."""
    if request.param == "sqlite":
        yield Database("sqlite", f"sqlite:///{tmp_path / 'scanhook.db'}")
        return
    with postgres_database() as database:
        yield database


@pytest.fixture
def postgres() -> Iterator[Database]:
    """A PostgreSQL database of the case's own."""
    with postgres_database() as database:
        yield database


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def services() -> Iterator[list[Service]]:
    """The case's scanhook processes: every one is killed at the end, whatever happened."""
    started: list[Service] = []
    try:
        yield started
    finally:
        for service in started:
            service.stop_all()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if RESULTS:
        terminalreporter.section("fault suite figures")
        for figures in RESULTS:
            terminalreporter.write_line(figures.line())
