"""Fixtures for the store tests: every test that takes ``store`` (or ``db_url``) runs against
both backends, a migrated SQLite file in tmp_path and a PostgreSQL database.

PostgreSQL needs ``SCANHOOK_TEST_POSTGRES_URL`` (``.ci/run`` sets it); without it the PostgreSQL
half is skipped with a message saying so. Each test module gets its own freshly migrated
database, dropped afterwards, so parallel runs never collide; each test starts from empty tables.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from pgkit import emptied, module_database
from storekit import MakeEndpoint

from scanhook.store import Endpoint, Store, StorePolicy, open_store
from scanhook.store.ids import new_id


@pytest.fixture(scope="module")
def postgres_module_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A migrated PostgreSQL database of this test module."""
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
def policy() -> StorePolicy:
    return StorePolicy(circuit_threshold=3, circuit_steps=(10.0, 20.0, 100.0), disable_after=1000.0)


@pytest.fixture
async def store(db_url: str, policy: StorePolicy) -> AsyncIterator[Store]:
    s = open_store(db_url, policy)
    await s.upgrade()
    try:
        yield s
    finally:
        await s.close()


@pytest.fixture
def make_endpoint(store: Store) -> MakeEndpoint:
    async def make(**fields: Any) -> Endpoint:
        fields.setdefault("id", new_id("ep_"))
        fields.setdefault("url", "https://receiver.example/hook")
        return await store.create_endpoint(Endpoint(**fields))

    return make
