"""Both backends: who is alive. A worker that is gone (its process ended without unregistering)
has what it left ``sending`` taken back at once by the next worker that registers or keeps
alive, keeping the delivery's id (its ``webhook-id``) and attempt number, and its row removed;
a live worker's rows are never taken; an outcome of a worker whose delivery was taken and
claimed again moves nothing.

A store closed without unregistering its worker is what a killed process leaves: its workers'
file lock (SQLite) or advisory lock (PostgreSQL) is released with it, its rows stay.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool
from storekit import T0, MakeEndpoint, new_event

from scanhook.store import AttemptOutcome, ClaimedDelivery, Store, StorePolicy, open_store
from scanhook.store.postgres_workers import WORKER_LOCK_CLASS

LEASE = 60.0


def _outcome(c: ClaimedDelivery, worker: str, *, succeeded: bool, at: float) -> AttemptOutcome:
    return AttemptOutcome(
        delivery_id=c.id,
        endpoint_id=c.endpoint.id,
        number=c.attempt,
        started_at=at,
        duration_ms=5.0,
        succeeded=succeeded,
        status_code=200 if succeeded else 500,
        error_kind=None if succeeded else "http",
        error=None if succeeded else "HTTP 500",
        next_attempt_at=None if succeeded else at + 1,
        leased_by=worker,
    )


def _sql(db_url: str, statement: str, **params: object) -> list[tuple[object, ...]]:
    """Run one statement on the database directly (what the test looks at or stages)."""
    url = make_url(db_url)
    if url.get_backend_name() != "sqlite":
        url = url.set(drivername="postgresql+psycopg")
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.begin() as connection:
            result = connection.execute(text(statement), params)
            return [tuple(row) for row in result] if result.returns_rows else []
    finally:
        engine.dispose()


def _age_heartbeat(db_url: str, worker_id: str, seconds: float) -> None:
    """Make ``worker_id``'s last heartbeat ``seconds`` old: on PostgreSQL a worker whose lock is
    released is gone once its heartbeat is a few seconds old (it may be reconnecting)."""
    if make_url(db_url).get_backend_name() == "sqlite":
        return
    _sql(
        db_url,
        "UPDATE workers SET heartbeat_at = extract(epoch from now()) - :s WHERE id = :id",
        s=seconds,
        id=worker_id,
    )


async def _open(db_url: str, policy: StorePolicy) -> Store:
    store = open_store(db_url, policy)
    await store.upgrade()
    return store


async def test_a_dead_workers_deliveries_are_taken_back_at_once_as_they_were(
    store: Store, make_endpoint: MakeEndpoint, db_url: str, policy: StorePolicy
) -> None:
    ep = await make_endpoint(max_in_flight=3)
    await store.publish([new_event(at=T0 + i) for i in range(3)])
    dead = await _open(db_url, policy)
    try:
        assert await dead.register_worker("w_dead", T0) == 0
        first = await dead.claim("w_dead", T0 + 5, LEASE, 10)
        assert len(first) == 3
        # One of them had failed once: it is on its second attempt when its worker dies.
        await dead.record([_outcome(first[0], "w_dead", succeeded=False, at=T0 + 5)])
        again = await dead.claim("w_dead", T0 + 7, LEASE, 10)
        assert [c.id for c in again] == [first[0].id]
        assert again[0].attempt == 2
    finally:
        await dead.close()  # killed: no unregister, no release
    _age_heartbeat(db_url, "w_dead", 30)

    # The endpoint is full of the dead worker's leases (for another minute)...
    assert await store.claim("probe", T0 + 8, LEASE, 10) == []
    # ...until a worker starts: it takes them back at once.
    assert await store.register_worker("w_new", T0 + 9) == 3
    retaken = await store.claim("w_new", T0 + 10, LEASE, 10)
    held = {c.id: c.attempt for c in [*first[1:], *again]}
    assert {c.id: c.attempt for c in retaken} == held  # same webhook-id, same attempt
    assert all(c.endpoint.id == ep.id for c in retaken)
    # The dead worker's row is gone; the new one's is there.
    assert [row[0] for row in _sql(db_url, "SELECT id FROM workers")] == ["w_new"]
    # Nothing left to take back, and the next heartbeat finds no one dead.
    assert await store.keep_worker_alive("w_new", T0 + 11) == 0
    await store.unregister_worker("w_new")
    assert _sql(db_url, "SELECT id FROM workers") == []


async def test_a_live_workers_deliveries_are_never_taken(
    store: Store, make_endpoint: MakeEndpoint, db_url: str, policy: StorePolicy
) -> None:
    await make_endpoint(max_in_flight=2)
    await store.publish([new_event(at=T0 + i) for i in range(4)])
    alive = await _open(db_url, policy)
    try:
        await alive.register_worker("w_alive", T0)
        held = await alive.claim("w_alive", T0 + 5, LEASE, 10)
        assert len(held) == 2
        # Stalled: no heartbeat for a while, but its process (and lock) is alive.
        _age_heartbeat(db_url, "w_alive", 30)
        assert await store.register_worker("w_other", T0 + 6) == 0
        for second in range(3):
            assert await store.keep_worker_alive("w_other", T0 + 7 + second) == 0
            assert await store.claim("w_other", T0 + 7 + second, LEASE, 10) == []
        states = _sql(db_url, "SELECT leased_by, count(*) FROM deliveries GROUP BY leased_by")
        assert sorted(states, key=str) == sorted([("w_alive", 2), (None, 2)], key=str)
        # Its outcomes still count: the endpoint frees up as it records them.
        await alive.record([_outcome(c, "w_alive", succeeded=True, at=T0 + 10) for c in held])
        assert len(await store.claim("w_other", T0 + 11, LEASE, 10)) == 2
    finally:
        await alive.close()


async def test_a_late_outcome_of_a_delivery_taken_over_moves_nothing(
    store: Store, make_endpoint: MakeEndpoint
) -> None:
    await make_endpoint()
    await store.publish([new_event(at=T0)])
    (slow,) = await store.claim("w_slow", T0 + 1, LEASE, 10)
    # w_slow was taken for dead (or its lease ran out): w_fast claims the delivery again.
    (fast,) = await store.claim("w_fast", T0 + 2 + LEASE, LEASE, 10)
    assert (fast.id, fast.attempt) == (slow.id, slow.attempt)
    # w_slow's outcome, and its giving back, come late: w_fast's attempt is still in flight.
    await store.record([_outcome(slow, "w_slow", succeeded=True, at=T0 + 3 + LEASE)])
    await store.release([slow.id], "w_slow")
    in_flight = await store.get_delivery(fast.id)
    assert in_flight.status == "sending"
    assert await store.claim("w_other", T0 + 4 + LEASE, LEASE, 10) == []
    # w_fast's outcome decides.
    await store.record([_outcome(fast, "w_fast", succeeded=False, at=T0 + 5 + LEASE)])
    after = await store.get_delivery(fast.id)
    assert (after.status, after.attempts) == ("pending", 1)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_sqlite_a_second_worker_process_waits_for_the_first_and_takes_over_when_it_ends(
    store: Store, make_endpoint: MakeEndpoint, db_url: str, policy: StorePolicy, tmp_path: Path
) -> None:
    await make_endpoint(max_in_flight=2)
    await store.publish([new_event(at=T0 + i) for i in range(4)])
    first = await _open(db_url, policy)
    try:
        await first.register_worker("w_first", T0)
        assert len(await first.claim("w_first", T0 + 1, LEASE, 10)) == 2
        # The second cannot take the workers' lock: it judges the first by its heartbeat.
        assert await store.register_worker("w_second", T0 + 2) == 0
        assert await store.keep_worker_alive("w_second", T0 + 3) == 0
        assert await store.claim("w_second", T0 + 3, LEASE, 10) == []
    finally:
        await first.close()  # killed
    assert (tmp_path / "scanhook.db-workers.lock").exists()
    # At its next heartbeat the second takes the lock, and with it what the first held.
    assert await store.keep_worker_alive("w_second", T0 + 4) == 2
    assert len(await store.claim("w_second", T0 + 4, LEASE, 10)) == 2


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
async def test_postgres_a_worker_whose_lock_connection_was_cut_keeps_its_deliveries(
    store: Store, make_endpoint: MakeEndpoint, db_url: str, policy: StorePolicy
) -> None:
    await make_endpoint(max_in_flight=4)
    await store.publish([new_event(at=T0 + i) for i in range(4)])
    cut, dead = await _open(db_url, policy), await _open(db_url, policy)
    try:
        await store.register_worker("w_sweeper", T0)
        await cut.register_worker("w_cut", T0)
        await dead.register_worker("w_dead", T0)
        assert len(await cut.claim("w_cut", T0 + 5, LEASE, 2)) == 2
        assert len(await dead.claim("w_dead", T0 + 5, LEASE, 2)) == 2

        # The server ends w_cut's lock session (its process lives on, attempts in flight).
        ((key,),) = _sql(db_url, "SELECT lock_key FROM workers WHERE id = 'w_cut'")
        ((ended,),) = _sql(
            db_url,
            "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory'"
            " AND classid = :c AND objid = :k AND objsubid = 2",
            c=WORKER_LOCK_CLASS,
            k=key,
        )
        assert ended is True
        # Its heartbeat is recent: no one takes its deliveries while it gets its lock back.
        assert await store.keep_worker_alive("w_sweeper", T0 + 6) == 0
        assert await cut.keep_worker_alive("w_cut", T0 + 6) == 0
        held = _sql(
            db_url,
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = :c"
            " AND objid = :k AND objsubid = 2 AND granted",
            c=WORKER_LOCK_CLASS,
            k=key,
        )
        assert held == [(1,)]  # taken again

        # w_dead dies. w_cut, having just got its lock back, does not take over anyone yet
        # (the others may be reconnecting too); w_sweeper, which never lost it, does.
        await dead.close()
        _age_heartbeat(db_url, "w_dead", 30)
        assert await cut.keep_worker_alive("w_cut", T0 + 7) == 0
        assert await store.keep_worker_alive("w_sweeper", T0 + 7) == 2
        leased = _sql(
            db_url, "SELECT leased_by, count(*) FROM deliveries GROUP BY leased_by ORDER BY 1"
        )
        assert leased == [("w_cut", 2), ("w_dead", 2)]  # w_dead's until claimed again
        assert len(await store.claim("w_sweeper", T0 + 8, LEASE, 10)) == 2
    finally:
        await cut.close()
        await dead.close()
