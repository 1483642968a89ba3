"""The engine suite really runs on both databases: the Hub of each run is on its backend."""

from __future__ import annotations

from pathlib import Path

from engine_support import hub_on

from scanhook.store.postgres import PostgresStore
from scanhook.store.sqlite import SqliteStore


async def test_the_hub_is_on_the_backend_of_this_run(tmp_path: Path, database: str) -> None:
    async with hub_on(tmp_path) as hub:
        if database == "sqlite":
            assert isinstance(hub.store, SqliteStore)
        else:
            assert isinstance(hub.store, PostgresStore)
            assert hub.store.url.database == database.rsplit("/", 1)[-1]
