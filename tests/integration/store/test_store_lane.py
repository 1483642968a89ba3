"""The SQLite lane's group commit: transactions queued together share one commit, each caller
gets its own result or error, and a failing one never takes the others down with it."""

from __future__ import annotations

import asyncio
import threading
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
def lane(tmp_path: Path) -> Lane:
    engine = make_sqlite_engine(str(tmp_path / "lane.db"), writer=True)
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
