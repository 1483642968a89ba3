"""LISTEN/NOTIFY: a publish, retry, release or enabling in one store wakes wait_for_work in
another at once; with nothing notified, waiting just times out."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from storekit import new_event

from scanhook.store import AttemptOutcome, Endpoint, Store, open_store
from scanhook.store.postgres import PostgresStore

pytestmark = pytest.mark.postgres

#: Far longer than a wake-up takes: a wait that returns before this was woken, not timed out.
LONG = 60.0


@pytest.fixture
async def pair(pg_url: str) -> AsyncIterator[tuple[PostgresStore, Store]]:
    waiter, writer = open_store(pg_url), open_store(pg_url)
    assert isinstance(waiter, PostgresStore)
    try:
        await waiter.wait_for_work(0.0)  # starts listening
        async with asyncio.timeout(20):
            await waiter._listener.listening.wait()
        await waiter.wait_for_work(0.5)  # the "look once" wake-up of a new connection
        yield waiter, writer
    finally:
        await waiter.close()
        await writer.close()


async def woken_by(waiter: Store, action: asyncio.Future[object] | object) -> None:
    waiting = asyncio.create_task(waiter.wait_for_work(LONG))
    await asyncio.sleep(0.05)
    assert not waiting.done()
    await action  # type: ignore[misc]
    async with asyncio.timeout(LONG / 3):
        await waiting


async def test_writes_that_make_work_due_wake_other_stores(
    pair: tuple[PostgresStore, Store],
) -> None:
    waiter, writer = pair
    ep = await writer.create_endpoint(Endpoint(id="ep_1", url="https://r.example/a"))
    now = time.time()
    await woken_by(waiter, writer.publish([new_event(at=now), new_event(at=now)]))
    a, b = await writer.claim("w", time.time(), 60.0, 10)
    await woken_by(waiter, writer.release([a.id]))
    await writer.record([AttemptOutcome(b.id, ep.id, 1, time.time(), 1.0, False, 500)])
    await woken_by(waiter, writer.retry_delivery(b.id, time.time()))
    await writer.set_endpoint_enabled(ep.id, False)
    await woken_by(waiter, writer.set_endpoint_enabled(ep.id, True))


async def test_without_a_notification_waiting_times_out(
    pair: tuple[PostgresStore, Store],
) -> None:
    waiter, _ = pair
    started = time.monotonic()
    await waiter.wait_for_work(0.3)
    assert time.monotonic() - started >= 0.29


async def test_sqlite_default_only_sleeps(tmp_path: object) -> None:
    store = open_store(f"sqlite:///{tmp_path}/x.db")
    try:
        started = time.monotonic()
        await store.wait_for_work(0.05)
        assert time.monotonic() - started >= 0.049
    finally:
        await store.close()
