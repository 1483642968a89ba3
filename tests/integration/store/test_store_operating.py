"""Both backends: listing, retry, replay, stats, prune and upgrade; SQLite's own driver errors
(the PostgreSQL ones are in tests/integration/postgres)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pgkit import sql
from sqlalchemy import create_engine, text
from storekit import T0, MakeEndpoint, new_event

from scanhook.errors import ConflictError, DatabaseError, NotFound
from scanhook.store import AttemptOutcome, ClaimedDelivery, Endpoint, Store, open_store
from scanhook.store.sqlite import SqliteStore

LEASE = 30.0


def outcome(c: ClaimedDelivery, succeeded: bool, at: float = T0) -> AttemptOutcome:
    return AttemptOutcome(
        delivery_id=c.id,
        endpoint_id=c.endpoint.id,
        number=c.attempt,
        started_at=at,
        duration_ms=1.0,
        succeeded=succeeded,
        status_code=200 if succeeded else 500,
        error=None if succeeded else "HTTP 500",
    )


async def test_list_deliveries_filters_and_pages(store: Store, make_endpoint: MakeEndpoint) -> None:
    a = await make_endpoint()
    b = await make_endpoint(event_types=("ticket.closed",))
    from storekit import ticket

    await store.publish([new_event(at=T0 + i) for i in range(5)])
    await store.publish([new_event(ticket(status="Closed (Fixed)"), at=T0 + 10)])
    everything = await store.list_deliveries()
    assert len(everything) == 7
    assert [d.id for d in everything] == sorted((d.id for d in everything), reverse=True)
    assert len(await store.list_deliveries(endpoint_id=b.id)) == 1
    assert len(await store.list_deliveries(endpoint_id=a.id, event_type="ticket.opened")) == 5
    assert len(await store.list_deliveries(since=T0 + 3, until=T0 + 10)) == 2
    page1 = await store.list_deliveries(limit=3)
    page2 = await store.list_deliveries(limit=3, after=page1[-1].id)
    assert [d.id for d in page1 + page2] == [d.id for d in everything[:6]]
    [c] = await store.claim("w", T0, LEASE, 1)
    await store.record([outcome(c, True)])
    [done] = await store.list_deliveries(status="succeeded")
    assert done.id == c.id
    assert done.attempt_log == ()  # listings carry no attempt log; get_delivery does
    assert len((await store.get_delivery(c.id)).attempt_log) == 1
    with pytest.raises(NotFound, match="dlv_nope"):
        await store.get_delivery("dlv_nope")


async def test_retry_delivery(store: Store, make_endpoint: MakeEndpoint) -> None:
    await make_endpoint()
    await store.publish([new_event(), new_event()])
    good, bad = await store.claim("w", T0, LEASE, 10)
    with pytest.raises(ConflictError, match="in flight"):
        await store.retry_delivery(good.id, T0 + 1)
    await store.record([outcome(good, True), outcome(bad, False)])
    assert (await store.get_delivery(bad.id)).status == "failed"
    with pytest.raises(ConflictError, match="succeeded"):
        await store.retry_delivery(good.id, T0 + 2)
    with pytest.raises(NotFound):
        await store.retry_delivery("dlv_nope", T0)
    retried = await store.retry_delivery(bad.id, T0 + 100)
    assert (retried.status, retried.next_attempt_at) == ("pending", T0 + 100)
    [again] = await store.claim("w", T0 + 100, LEASE, 10)
    assert (again.id, again.attempt) == (bad.id, 2)


async def test_replay_requeues_finished_deliveries(
    store: Store, make_endpoint: MakeEndpoint
) -> None:
    ep = await make_endpoint()
    await store.publish([new_event(at=T0), new_event(at=T0 + 50), new_event(at=T0 + 60)])
    old, mid, new = await store.claim("w", T0 + 100, LEASE, 10)
    await store.record([outcome(old, True), outcome(mid, False), outcome(new, True)])
    assert await store.replay(ep.id, since=T0 + 10, status="succeeded", now=T0 + 200) == 1
    assert await store.replay(ep.id, since=None, status="pending", now=T0 + 200) == 0
    assert await store.replay(ep.id, since=None, status=None, now=T0 + 200) == 2
    statuses = {d.id: d.status for d in await store.list_deliveries(endpoint_id=ep.id)}
    assert statuses == {old.id: "pending", mid.id: "pending", new.id: "pending"}
    assert len(await store.claim("w", T0 + 200, LEASE, 10)) == 3
    with pytest.raises(NotFound):
        await store.replay("ep_nope", since=None, status=None, now=T0)


async def test_stats(store: Store, make_endpoint: MakeEndpoint) -> None:
    ep = await make_endpoint()
    await make_endpoint(enabled=False)
    await store.publish([new_event(at=T0), new_event(at=T0 + 5), new_event(at=T0 + 500)])
    [c] = await store.claim("w", T0, LEASE, 1)
    await store.record(
        [
            AttemptOutcome(c.id, ep.id, 1, T0, 1.0, False, 500, next_attempt_at=None),
        ]
    )
    stats = await store.stats(T0 + 20)
    assert stats == {
        "deliveries": {"pending": 2, "sending": 0, "succeeded": 0, "failed": 1},
        "oldest_due_age": 15.0,
        "endpoints": {"total": 2, "disabled": 1, "open_circuits": 0},
    }
    assert (await store.stats(T0 - 1))["oldest_due_age"] is None
    # The queue's statuses only (what /metrics reads often): the same figures for those.
    queue = await store.stats(T0 + 20, ("pending", "sending"))
    assert queue["deliveries"] == {"pending": 2, "sending": 0}
    assert queue["oldest_due_age"] == 15.0


async def test_the_oldest_due_delivery_is_the_least_over_enabled_endpoints(
    store: Store, make_endpoint: MakeEndpoint
) -> None:
    first, second = await make_endpoint(), await make_endpoint()
    await store.publish([new_event(at=T0 + 30), new_event(at=T0 + 40)])  # both endpoints
    # The first endpoint's earliest is sent: the oldest due is now the second endpoint's.
    [c] = await store.claim("w", T0 + 100, LEASE, 1)
    await store.record([outcome(c, True, at=T0 + 100)])
    remaining = {d.endpoint_id: d for d in await store.list_deliveries(status="pending")}
    assert len(remaining) == 2
    assert (await store.stats(T0 + 100))["oldest_due_age"] == 70.0
    assert (await store.stats(T0 + 35))["oldest_due_age"] == 5.0  # only T0 + 30 is due then
    assert {first.id, second.id} >= set(remaining)


async def test_prune_in_batches(store: Store, make_endpoint: MakeEndpoint) -> None:
    await make_endpoint()
    await store.publish([new_event(at=T0, key=f"k{i}") for i in range(7)])
    await store.publish([new_event(at=T0 + 1000)])
    claimed = await store.claim("w", T0 + 1000, LEASE, 10)
    old = [c for c in claimed if c.event_created_at == T0]
    await store.record([outcome(c, True, at=T0 + 1000) for c in claimed[:-1]])
    # 6 old ones finished, 1 old one still in flight, the new one finished.
    removed = await store.prune(older_than=T0 + 500, batch_size=4)
    assert removed == len([c for c in old if c.id != claimed[-1].id])
    left = await store.list_deliveries()
    assert {d.id for d in left} == {claimed[-1].id} | {
        c.id for c in claimed if c.event_created_at == T0 + 1000
    }
    for c in old[:-1]:
        with pytest.raises(NotFound):
            await store.get_event(c.event_id)
    # An event that still has a delivery stays.
    assert (await store.get_event(claimed[-1].event_id)).deliveries
    assert await store.prune(older_than=T0 + 500) == 0


def _note_ids(db_url: str) -> list[str]:
    query = "SELECT delivery_id FROM delivery_notes ORDER BY delivery_id"
    if db_url.startswith("sqlite"):
        engine = create_engine(db_url)
        try:
            with engine.connect() as c:
                return list(c.execute(text(query)).scalars())
        finally:
            engine.dispose()
    return [row.delivery_id for row in sql(db_url, query)]


async def test_prune_removes_the_notes_of_the_deliveries_it_removes(
    store: Store, db_url: str, make_endpoint: MakeEndpoint
) -> None:
    await make_endpoint()
    await store.publish([new_event(at=T0), new_event(at=T0 + 1000)])
    old, new = await store.claim("w", T0 + 1000, LEASE, 10)
    await store.record([outcome(old, True, at=T0 + 1), outcome(new, True, at=T0 + 1000)])
    for c in (old, new):
        await store.note_attention(c.id, 1, "closed with no Jira issue known", T0 + 1000)
    assert await store.prune(older_than=T0 + 500) == 1
    assert _note_ids(db_url) == [new.id]  # no note is left without its delivery


def _keys(db_url: str) -> list[str]:
    if db_url.startswith("sqlite"):
        engine = create_engine(db_url)
        try:
            with engine.connect() as c:
                return list(c.execute(text("SELECT key FROM idempotency_keys")).scalars())
        finally:
            engine.dispose()
    return [row.key for row in sql(db_url, "SELECT key FROM idempotency_keys")]


async def test_prune_forgets_expired_idempotency_keys(store: Store, db_url: str) -> None:
    now = time.time()
    window = store.policy.idempotency_window
    await store.publish([new_event(at=now - window - 10, key="old")])
    await store.publish([new_event(at=now, key="fresh")])
    assert sorted(_keys(db_url)) == ["fresh", "old"]
    await store.prune(older_than=now - 2 * window)  # keeps every event
    assert _keys(db_url) == ["fresh"]


async def test_upgrade_is_idempotent_and_concurrent_upgrades_succeed(db_url: str) -> None:
    stores = [open_store(db_url) for _ in range(3)]
    try:
        await asyncio.gather(*(s.upgrade() for s in stores))
        await stores[0].upgrade()
        await stores[1].ping()
    finally:
        for s in stores:
            await s.close()


async def test_upgrade_creates_the_folder(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'new' / 'dir' / 'db.sqlite'}")
    try:
        await store.upgrade()
        await store.ping()
    finally:
        await store.close()
    assert (tmp_path / "new" / "dir" / "db.sqlite").exists()


async def test_a_corrupt_file_raises_database_error(tmp_path: Path) -> None:
    path = tmp_path / "corrupt.db"
    path.write_bytes(b"this is not a sqlite database at all" * 200)
    store = open_store(f"sqlite:///{path}")
    try:
        with pytest.raises(DatabaseError, match="file is not a database") as info:
            await store.upgrade()
        assert str(path) in str(info.value)
        assert info.value.__cause__ is not None
        with pytest.raises(DatabaseError, match="file is not a database"):
            await store.ping()
    finally:
        await store.close()


async def test_missing_tables_raise_database_error(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'empty.db'}")  # never upgraded
    try:
        with pytest.raises(DatabaseError, match="no such table"):
            await store.publish([new_event()])
    finally:
        await store.close()


@pytest.fixture
async def sqlite_store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    s = open_store(f"sqlite:///{tmp_path / 'own.db'}")
    assert isinstance(s, SqliteStore)
    await s.upgrade()
    try:
        yield s
    finally:
        await s.close()


async def test_a_full_disk_raises_database_error_and_keeps_nothing(
    sqlite_store: SqliteStore,
) -> None:
    store = sqlite_store
    await store.create_endpoint(Endpoint(id="ep_1", url="https://receiver.example/hook"))
    # Cap the file at its current size: the next growth is "database or disk is full".
    await store._writer.transaction(
        "test",
        lambda c: c.execute(
            text(f"PRAGMA max_page_count = {c.execute(text('PRAGMA page_count')).scalar()}")
        ),
    )
    big = [new_event() for _ in range(50)]
    with pytest.raises(DatabaseError, match="database or disk is full"):
        await store.publish(big)
    with pytest.raises(NotFound):
        await store.get_event(big[0].id)


async def test_a_closed_store_refuses_work(db_url: str) -> None:
    store = open_store(db_url)
    await store.upgrade()
    await store.close()
    await store.close()
    with pytest.raises(DatabaseError, match="closed"):
        await store.ping()
