"""Fixtures of the schedule tests: a Hub with a clock the test moves, on a SQLite file in
tmp_path and (with ``SCANHOOK_TEST_POSTGRES_URL``) on a PostgreSQL database."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

# The shared helpers live beside the store and API tests (the test folders are not packages).
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "store"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "api"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "engine"))

from pgkit import emptied, module_database
from schedkit import Clock, MakeHub

from scanhook.config import load_settings
from scanhook.hub import Hub


@pytest.fixture(autouse=True)
def _no_outside_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SCANHOOK_CONFIG", "SCANHOOK_API_TOKEN", "SCANHOOK_DISPLAY_TIMEZONE"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def postgres_module_url(request: pytest.FixtureRequest) -> Iterator[str]:
    yield from module_database(request.module.__name__)


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def db_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'scanhook.db'}"
    url = str(request.getfixturevalue("postgres_module_url"))
    emptied(url)
    return url


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def make_hub(db_url: str, clock: Clock) -> AsyncIterator[MakeHub]:
    """Hubs on the test's database with the test's clock; closed at the end."""
    hubs: list[Hub] = []

    def make(**settings: Any) -> Hub:
        settings.setdefault("allow_private_networks", True)
        settings.setdefault("retry_schedule", "0.2s,0.4s")
        hub = Hub(load_settings(database_url=db_url, **settings), clock=clock)
        hubs.append(hub)
        return hub

    try:
        yield make
    finally:
        for hub in hubs:
            await hub.close()


@pytest.fixture
async def hub(make_hub: MakeHub) -> Hub:
    h = make_hub()
    await h.start()
    return h
