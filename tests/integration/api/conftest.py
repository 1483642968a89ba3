"""Fixtures of the API tests: a running API server, and every test runs twice, on a SQLite file
in tmp_path and on a PostgreSQL database.

PostgreSQL needs ``SCANHOOK_TEST_POSTGRES_URL`` (``.ci/run`` sets it); without it the PostgreSQL
half is skipped with a message saying so. Each test module gets its own migrated database,
dropped afterwards, and every test starts from empty tables. ``ApiServer`` reads the URL from
``apikit.DATABASE_URL``, which the autouse ``database`` fixture sets.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# The PostgreSQL helpers live beside the store tests (the test folders are not packages).
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "store"))

import apikit
from apikit import ApiServer
from pgkit import both_backends


def _use_url(url: str | None) -> None:
    apikit.DATABASE_URL = url


postgres_module_url, database = both_backends(_use_url)


@pytest.fixture
def api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ApiServer]:
    monkeypatch.delenv("SCANHOOK_API_TOKEN", raising=False)
    monkeypatch.delenv("SCANHOOK_CONFIG", raising=False)
    server = ApiServer(tmp_path / "api.db").start()
    try:
        yield server
    finally:
        server.close()
