"""Several stores (each its own connection pool and threads) on one database, at once: no
delivery is leased twice while held, max_in_flight and order hold across all of them, and
concurrent publishes with one idempotency key create one event."""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import AsyncIterator

import pytest
from pgkit import sql
from storekit import new_event

from scanhook.store import AttemptOutcome, Endpoint, Store, open_store

pytestmark = pytest.mark.postgres

LEASE = 60.0


@pytest.fixture
async def stores(pg_url: str) -> AsyncIterator[list[Store]]:
    opened = [open_store(pg_url) for _ in range(3)]
    try:
        await opened[0].upgrade()
        yield opened
    finally:
        for s in opened:
            await s.close()


async def test_workers_never_share_a_delivery_and_limits_hold_across_them(
    stores: list[Store],
) -> None:
    first = stores[0]
    await first.create_endpoint(
        Endpoint(id="ep_narrow", url="https://r.example/a", max_in_flight=3)
    )
    await first.create_endpoint(Endpoint(id="ep_ordered", url="https://r.example/b", ordered=True))
    await first.create_endpoint(Endpoint(id="ep_wide", url="https://r.example/c"))
    events = [new_event(at=time.time()) for _ in range(40)]
    await first.publish(events)
    total = 3 * len(events)

    held: dict[str, str] = {}  # delivery id -> worker, while leased
    endpoint_of: dict[str, str] = {}
    peak: Counter[str] = Counter()
    ordered_done: list[str] = []
    recorded = 0

    async def work(store: Store, name: str) -> None:
        nonlocal recorded
        while recorded < total:
            claimed = await store.claim(name, time.time(), LEASE, 4)
            for c in claimed:
                assert c.id not in held, f"{c.id} leased by {held.get(c.id)} and {name}"
                held[c.id] = name
                endpoint_of[c.id] = c.endpoint.id
            in_flight = Counter(endpoint_of[d] for d in held)
            for endpoint_id, n in in_flight.items():
                peak[endpoint_id] = max(peak[endpoint_id], n)
            if not claimed:
                await asyncio.sleep(0.002)
                continue
            await asyncio.sleep(random.uniform(0.001, 0.006))  # "sending"
            for c in claimed:
                del held[c.id]  # before recording: the check never over-counts
                if c.endpoint.id == "ep_ordered":
                    ordered_done.append(c.event_id)
            await store.record(
                [
                    AttemptOutcome(c.id, c.endpoint.id, c.attempt, time.time(), 1.0, True, 200)
                    for c in claimed
                ]
            )
            recorded += len(claimed)

    async with asyncio.timeout(120):
        await asyncio.gather(*(work(s, f"w{i}") for i, s in enumerate(stores)))
    assert recorded == total
    assert (await first.stats(time.time()))["deliveries"] == {
        "pending": 0,
        "sending": 0,
        "succeeded": total,
        "failed": 0,
    }
    # Each delivery was sent once: one attempt each.
    assert sql(stores_url(first), "SELECT count(*), max(number) FROM attempts")[0] == (total, 1)
    assert peak["ep_narrow"] <= 3
    assert peak["ep_ordered"] == 1
    assert ordered_done == [e.id for e in events]
    # All three workers took part (else this proved nothing about concurrency).
    assert peak["ep_wide"] > 1


def stores_url(store: Store) -> str:
    from scanhook.store.postgres import PostgresStore

    assert isinstance(store, PostgresStore)
    return store.url.render_as_string(hide_password=False)


async def test_concurrent_publishes_with_one_key_create_one_event(stores: list[Store]) -> None:
    await stores[0].create_endpoint(Endpoint(id="ep_1", url="https://r.example/a"))
    for key in ("k-1", "k-2", "k-3"):
        results = await asyncio.gather(
            *(s.publish([new_event(key=key, at=time.time())]) for s in stores for _ in range(4))
        )
        flat = [r for batch in results for r in batch]
        assert len({r.event_id for r in flat}) == 1
        assert sum(not r.duplicate for r in flat) == 1
        assert all(r.deliveries == 1 for r in flat)
        [(count,)] = sql(
            stores_url(stores[0]),
            "SELECT count(*) FROM events WHERE idempotency_key = :k",
            {"k": key},
        )
        assert count == 1
    assert (await stores[0].stats(time.time()))["deliveries"]["pending"] == 3  # type: ignore[index]
