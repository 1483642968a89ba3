"""Who is alive: the ``workers`` rows, and taking back what a worker that is gone left ``sending``.

Each running worker has a row (its id is what ``deliveries.leased_by`` holds) with a heartbeat.
How a backend tells that a worker is gone differs (SQLite: an OS lock on a file beside the
database; PostgreSQL: a session advisory lock per worker); what it does then is the same, in
the caller's transaction: expire the leases of that worker's ``sending`` rows (the next claim
takes them first, keeping their id, which is the ``webhook-id``, and their attempt count, and
they stop counting against max_in_flight) and remove its row. A live worker's rows are never
touched; a row leased by an id without a worker row (e.g. from before workers had rows) waits
for its lease, the last resort.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Collection

from sqlalchemy.engine import Connection

from scanhook.store import queries as q

__all__ = ["HEARTBEAT_EVERY", "beat", "reclaim", "reclaim_all_but", "register", "unregister"]

#: How often a worker refreshes its heartbeat and looks for workers that are gone (seconds).
HEARTBEAT_EVERY = 1.0
#: A lease taken back ends this long before the clock reading of the worker that took it back.
_ENDED_BEFORE = 0.001


def register(connection: Connection, worker_id: str, now: float, lock_key: int | None) -> None:
    """Insert the row of ``worker_id`` (this process, on this host), replacing one it had."""
    connection.execute(q.DELETE_WORKERS, {"ids": [worker_id]})
    connection.execute(
        q.INSERT_WORKER,
        {
            "id": worker_id,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "started_at": now,
            "heartbeat_at": now,
            "lock_key": lock_key,
        },
    )


def beat(connection: Connection, worker_id: str, now: float, lock_key: int | None) -> bool:
    """Refresh the heartbeat; False when the worker has no row (it was taken for dead and its
    rows taken back: the caller registers it again)."""
    result = connection.execute(
        q.HEARTBEAT, {"b_id": worker_id, "b_now": now, "b_lock_key": lock_key}
    )
    return bool(result.rowcount)


def unregister(connection: Connection, worker_id: str) -> None:
    connection.execute(q.DELETE_WORKERS, {"ids": [worker_id]})


def reclaim(connection: Connection, dead: Collection[str], now: float) -> int:
    """Expire the leases the workers ``dead`` hold and remove their rows; how many deliveries
    were taken back. ``now`` is the caller's clock (the one its claims compare leases with)."""
    if not dead:
        return 0
    ids = sorted(dead)
    taken = connection.execute(
        q.RECLAIM_LEASES_OF, {"ids": ids, "now": now, "expired": now - _ENDED_BEFORE}
    ).rowcount
    connection.execute(q.DELETE_WORKERS, {"ids": ids})
    return int(taken)


def reclaim_all_but(connection: Connection, alive: Collection[str], now: float) -> int:
    """Expire every lease not held by one of the workers ``alive`` (the caller knows these are
    the only ones); how many deliveries were taken back."""
    result = connection.execute(
        q.RECLAIM_LEASES_BUT,
        {"ids": sorted(alive), "now": now, "expired": now - _ENDED_BEFORE},
    )
    return int(result.rowcount)
