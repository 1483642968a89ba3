"""The API suite really runs on both databases: the server of each run is on its backend."""

from __future__ import annotations

from apikit import ApiServer

from scanhook.store.postgres import PostgresStore
from scanhook.store.sqlite import SqliteStore


def test_the_server_is_on_the_backend_of_this_run(api: ApiServer, database: str) -> None:
    if database == "sqlite":
        assert isinstance(api.hub.store, SqliteStore)
    else:
        assert isinstance(api.hub.store, PostgresStore)
        assert api.hub.store.url.database == database.rsplit("/", 1)[-1]
    assert api.session.get(api.url("/v1/stats")).status_code == 200
