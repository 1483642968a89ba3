"""The SQLite lane's group commit: transactions queued together share one commit, each caller
gets its own result or error, and a failing one never takes the others down with it. And its
inline transactions: on the caller's thread when the lane is idle, on the lane's thread (never
blocking the event loop) when it is busy or another process holds the write lock."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import event, text
from sqlalchemy.engine import Connection

from scanhook.errors import DatabaseError, NotFound
from scanhook.store.lane import Lane
from scanhook.store.sqlite_engine import make_sqlite_engine

#: Commits made by the lane's engine in the running test.
COMMITS: list[int] = []


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "lane.db"


@pytest.fixture
def lane(db_path: Path) -> Lane:
    engine = make_sqlite_engine(str(db_path), writer=True)
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE t (n INTEGER PRIMARY KEY)")
    COMMITS.clear()
    event.listen(engine, "commit", lambda _connection: COMMITS.append(1))
    return Lane(engine, "test-lane", "test database")


def insert(n: int) -> object:
    def work(connection: Connection) -> int:
        connection.execute(text("INSERT INTO t (n) VALUES (:n)"), {"n": n})
        return n

    return work


async def queued_behind_a_gate(lane: Lane, jobs: list[object]) -> list[object]:
    """Hold the lane's thread in one transaction while ``jobs`` queue up, so they run as one
    group; return each job's result or exception."""
    gate = threading.Event()

    def held(connection: Connection) -> None:
        gate.wait(10)

    first = asyncio.ensure_future(lane.transaction("held", held))
    await asyncio.sleep(0.05)
    pending = [
        asyncio.ensure_future(lane.transaction(f"job{i}", job)) for i, job in enumerate(jobs)
    ]  # type: ignore[arg-type]
    await asyncio.sleep(0.05)
    gate.set()
    await first
    return list(await asyncio.gather(*pending, return_exceptions=True))


async def rows(lane: Lane) -> list[int]:
    return await lane.transaction(
        "rows", lambda c: [r[0] for r in c.execute(text("SELECT n FROM t ORDER BY n"))]
    )


async def test_queued_transactions_each_get_their_own_result(lane: Lane) -> None:
    results = await queued_behind_a_gate(lane, [insert(n) for n in range(20)])
    assert results == list(range(20))
    assert len(COMMITS) == 2  # the held transaction, then all 20 in one
    assert await rows(lane) == list(range(20))
    await lane.close()


async def test_a_scanhook_error_rolls_back_only_its_own_work(lane: Lane) -> None:
    def insert_then_refuse(connection: Connection) -> None:
        connection.execute(text("INSERT INTO t (n) VALUES (100)"))
        raise NotFound("endpoint ep_x: no such endpoint")

    results = await queued_behind_a_gate(lane, [insert(1), insert_then_refuse, insert(2)])
    assert results[0] == 1
    assert results[2] == 2
    assert isinstance(results[1], NotFound)
    assert await rows(lane) == [1, 2]  # 100 was rolled back with its savepoint
    await lane.close()


async def test_a_driver_error_fails_only_the_culprit(lane: Lane) -> None:
    def broken(connection: Connection) -> None:
        connection.execute(text("INSERT INTO no_such_table (n) VALUES (1)"))

    results = await queued_behind_a_gate(lane, [insert(1), broken, insert(2)])
    assert results[0] == 1
    assert results[2] == 2
    assert isinstance(results[1], DatabaseError)
    assert "job1 failed" in str(results[1])
    assert "no_such_table" in str(results[1])
    assert await rows(lane) == [1, 2]
    await lane.close()


async def test_a_closed_lane_refuses_work(lane: Lane) -> None:
    await lane.transaction("one", insert(1))
    await lane.close()
    with pytest.raises(DatabaseError, match="closed"):
        await lane.transaction("two", insert(2))


def insert_noting_thread(n: int, threads: list[str]) -> object:
    def work(connection: Connection) -> int:
        threads.append(threading.current_thread().name)
        connection.execute(text("INSERT INTO t (n) VALUES (:n)"), {"n": n})
        return n

    return work


def committed_rows(db_path: Path) -> list[int]:
    """What another connection (another process, say) sees: only committed rows."""
    with sqlite3.connect(db_path) as other:
        return [row[0] for row in other.execute("SELECT n FROM t ORDER BY n")]


async def test_an_inline_transaction_runs_on_the_callers_thread_and_commits(
    lane: Lane, db_path: Path
) -> None:
    threads: list[str] = []
    assert await lane.transaction("one", insert_noting_thread(1, threads), inline=True) == 1
    assert threads == [threading.current_thread().name]
    assert committed_rows(db_path) == [1]
    assert len(COMMITS) == 1
    await lane.close()


async def test_an_inline_transaction_waits_for_another_process_off_the_event_loop(
    lane: Lane, db_path: Path
) -> None:
    # Another process on the file holds the write lock (as `scanhook api` beside a worker can).
    other = sqlite3.connect(db_path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    threads: list[str] = []
    waiting = asyncio.ensure_future(
        lane.transaction("cycle", insert_noting_thread(7, threads), inline=True)
    )
    started = time.monotonic()
    for _ in range(10):  # the event loop keeps running while the transaction waits
        await asyncio.sleep(0.01)
    assert time.monotonic() - started < 2.0  # not SQLite's 10 s busy wait on the event loop
    assert not waiting.done()
    other.execute("COMMIT")
    other.close()
    assert await asyncio.wait_for(waiting, 10) == 7
    assert threads == ["test-lane"]  # the lane's thread waited for the lock, then ran it
    assert committed_rows(db_path) == [7]
    # The lane's connection got its busy timeout back: a queued transaction waits again.
    assert await lane.transaction("after", insert(8), inline=True) == 8
    await lane.close()


async def test_an_inline_transaction_queues_behind_a_busy_lane(lane: Lane) -> None:
    threads: list[str] = []
    gate = threading.Event()
    held = asyncio.ensure_future(lane.transaction("held", lambda _c: gate.wait(10)))
    await asyncio.sleep(0.05)
    later = asyncio.ensure_future(
        lane.transaction("inline", insert_noting_thread(3, threads), inline=True)
    )
    await asyncio.sleep(0.05)
    assert not later.done()  # it did not run beside the held transaction
    gate.set()
    await held
    assert await later == 3
    assert threads == ["test-lane"]
    await lane.close()


async def test_an_inline_transactions_errors_are_the_lanes(lane: Lane) -> None:
    def broken(connection: Connection) -> None:
        connection.execute(text("INSERT INTO no_such_table (n) VALUES (1)"))

    def refuse(connection: Connection) -> None:
        connection.execute(text("INSERT INTO t (n) VALUES (100)"))
        raise NotFound("endpoint ep_x: no such endpoint")

    with pytest.raises(DatabaseError, match="broken failed: no such table: no_such_table"):
        await lane.transaction("broken", broken, inline=True)
    with pytest.raises(NotFound):
        await lane.transaction("refuse", refuse, inline=True)
    assert await lane.transaction("fine", insert(1), inline=True) == 1
    assert await rows(lane) == [1]  # the refused insert was rolled back
    await lane.close()
    with pytest.raises(DatabaseError, match="closed"):
        await lane.transaction("late", insert(2), inline=True)


async def test_the_workers_cycle_runs_inline_only_when_it_records_many(tmp_path: Path) -> None:
    """SqliteStore.record_and_claim: a cycle recording INLINE_OUTCOMES or more runs on the event
    loop's thread; a smaller one (a trickle) goes to the writer lane's thread."""
    from storekit import T0, new_event

    from scanhook.store import AttemptOutcome, Endpoint
    from scanhook.store.ids import new_id
    from scanhook.store.sqlite import INLINE_OUTCOMES, SqliteStore

    store = SqliteStore(f"sqlite:///{tmp_path / 'scanhook.db'}")
    await store.upgrade()
    try:
        endpoint = await store.create_endpoint(
            Endpoint(id=new_id("ep_"), url="https://receiver.example/hook", max_in_flight=100)
        )
        await store.publish([new_event(at=T0 + i * 0.001) for i in range(40)])
        claimed = await store.record_and_claim([], "w", T0 + 1, 30.0, 40)
        assert len(claimed) == 40
        threads: list[str] = []
        event.listen(
            store._writer_engine,  # which thread runs the statements
            "before_cursor_execute",
            lambda *_args: threads.append(threading.current_thread().name),
        )

        def outcomes(first: int, count: int) -> list[AttemptOutcome]:
            return [
                AttemptOutcome(
                    delivery_id=c.id,
                    endpoint_id=endpoint.id,
                    number=c.attempt,
                    started_at=T0 + 2,
                    duration_ms=5.0,
                    succeeded=True,
                    status_code=200,
                )
                for c in claimed[first : first + count]
            ]

        small = INLINE_OUTCOMES - 1
        await store.record_and_claim(outcomes(0, small), "w", T0 + 3, 30.0, 1)
        assert set(threads) == {"scanhook-sqlite-writer"}
        threads.clear()
        await store.record_and_claim(outcomes(small, INLINE_OUTCOMES), "w", T0 + 4, 30.0, 1)
        assert set(threads) == {threading.current_thread().name}
        stats = await store.stats(T0 + 5)
        recorded = small + INLINE_OUTCOMES
        counts = stats["deliveries"]
        assert isinstance(counts, dict)
        assert (counts["succeeded"], counts["sending"]) == (recorded, 40 - recorded)
    finally:
        await store.close()
