"""Fixtures for the store tests: a migrated SQLite store in tmp_path."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from storekit import MakeEndpoint

from scanhook.store import Endpoint, Store, StorePolicy, open_store
from scanhook.store.ids import new_id


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'scanhook.db'}"


@pytest.fixture
def policy() -> StorePolicy:
    return StorePolicy(
        circuit_threshold=3, circuit_base=10.0, circuit_max=100.0, disable_after=1000.0
    )


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
