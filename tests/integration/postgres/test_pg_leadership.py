"""Background jobs run once across the cluster: ``Store.try_lead`` is a PostgreSQL advisory
lock on a dedicated connection. Of two stores only one leads; when the leader's connection is
cut (its process died) the other takes over at its next call, and the old leader learns it lost.
Through the Hub: of two running Hubs only the leader prunes; when it stops, the other prunes."""

from __future__ import annotations

import asyncio
import time

import pytest
from pgkit import sql
from storekit import new_event

from scanhook import Hub
from scanhook.store import Endpoint, open_store
from scanhook.store.postgres_leader import lock_key

pytestmark = pytest.mark.postgres


def holders(url: str, name: str) -> list[int]:
    """The server pids holding job ``name``'s advisory lock."""
    rows = sql(
        url,
        "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted"
        " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        " AND ((classid::bigint << 32) | objid::bigint) = :key",
        {"key": lock_key(name)},
    )
    return [int(r[0]) for r in rows]


async def eventually(check: object, within: float = 5.0, what: str = "") -> None:
    assert callable(check)
    deadline = time.monotonic() + within
    while True:
        value = check()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within} s: {what}")
        await asyncio.sleep(0.05)


async def test_one_store_leads_and_another_takes_over_when_its_connection_dies(
    pg_url: str,
) -> None:
    a, b = open_store(pg_url), open_store(pg_url)
    try:
        assert await a.try_lead("retention")
        assert not await b.try_lead("retention")
        assert await a.try_lead("retention")  # still leading: the lead is kept
        assert await b.try_lead("scheduler")  # another job has its own lead
        assert not await a.try_lead("scheduler")
        (leader_pid,) = holders(pg_url, "retention")

        # The leader's connection dies (as with its process): the lock goes with it.
        sql(pg_url, "SELECT pg_terminate_backend(:pid)", {"pid": leader_pid})
        await eventually(lambda: not holders(pg_url, "retention"), what="the lock to go")
        assert await b.try_lead("retention")
        assert not await a.try_lead("retention")  # it learns it lost, and b keeps it
        assert await b.try_lead("retention")
        assert holders(pg_url, "retention") != [leader_pid]
        assert len(holders(pg_url, "retention")) == 1

        # Closing a store gives up its leads at once.
        await b.close()
        assert await a.try_lead("retention")
        assert await a.try_lead("scheduler")
    finally:
        await a.close()
        await b.close()


async def test_only_the_leading_hub_prunes_and_the_other_takes_over_when_it_stops(
    pg_url: str,
) -> None:
    settings = {"poll_interval": "0.1s", "retention": "1h"}
    a = Hub.open(pg_url, **settings)
    b = Hub.open(pg_url, **settings)
    async with a, b:
        await a.store.create_endpoint(Endpoint(id="ep_1", url="https://receiver.example/hook"))
        await a.store.publish([new_event(at=time.time())])
        stop_a = asyncio.Event()
        running_a = asyncio.create_task(a.run(stop_a))
        try:
            await eventually(lambda: holders(pg_url, "retention"), what="a to lead")
            (old_leader,) = holders(pg_url, "retention")
            async with b.run_workers():
                # A finished delivery older than the retention appears while a leads. a pruned
                # when it took the lead and waits an hour now; b does not lead, so it stays.
                sql(pg_url, "UPDATE deliveries SET status = 'succeeded', created_at = 0")
                await asyncio.sleep(1.0)  # 10 of b's lead checks
                assert sql(pg_url, "SELECT count(*) FROM deliveries") == [(1,)]
                assert holders(pg_url, "retention") == [old_leader]

                # a stops and closes, as its process exits: b leads and prunes.
                stop_a.set()
                await running_a
                await a.close()
                await eventually(
                    lambda: holders(pg_url, "retention") not in ([], [old_leader]),
                    what="b to take the lead",
                )
                await eventually(
                    lambda: sql(pg_url, "SELECT count(*) FROM deliveries") == [(0,)],
                    what="b to prune the old delivery",
                )
        finally:
            stop_a.set()
            await running_a
