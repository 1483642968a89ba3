"""A worker that starts takes over at once what a dead worker left in flight, without waiting for
its leases: the receiver gets those deliveries under their webhook-id, as the same attempt. The
worker has a row in ``workers`` while it runs, and none once it stopped.

The dead worker is a second store on the same database that claimed and was closed without
unregistering: what a killed process leaves (its file lock or advisory lock goes with it)."""

from __future__ import annotations

import time
from pathlib import Path

from engine_support import Receiver, all_final, deliveries, hub_on, receiving, ticket, wait_for
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from scanhook.store import open_store

LEASE = 60.0
#: SQLite: at the worker's start; PostgreSQL: once the dead worker's heartbeat is 3 s old.
TAKEOVER_WITHIN = 10.0


def _workers(url: str) -> list[str]:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        parsed = parsed.set(drivername="postgresql+psycopg")
    engine = create_engine(parsed, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return [row[0] for row in connection.execute(text("SELECT id FROM workers"))]
    finally:
        engine.dispose()


async def test_a_starting_worker_delivers_at_once_what_a_dead_one_left_in_flight(
    tmp_path: Path,
) -> None:
    receiver = Receiver()
    async with receiving(receiver), hub_on(tmp_path, lease=f"{LEASE:g}s") as hub:
        url = hub.settings.database_url
        endpoint = await hub.add_endpoint(receiver.url, max_in_flight=2)
        await hub.publish_batch([ticket(n) for n in range(4)])
        dead = open_store(url)
        try:
            await dead.register_worker("wrk_dead", time.time())
            held = await dead.claim("wrk_dead", time.time(), LEASE, 10)
        finally:
            await dead.close()  # killed while both attempts were in flight
        assert len(held) == 2

        started = time.monotonic()
        async with hub.run_workers():
            await wait_for(
                lambda: all_final(hub, endpoint.id, 4),
                within=TAKEOVER_WITHIN,
                what="every delivery, the dead worker's two included",
            )
            took = time.monotonic() - started
            running = _workers(url)
        stored = await deliveries(hub, endpoint.id)
        after = _workers(url)

    assert took < TAKEOVER_WITHIN < LEASE
    assert [d.status for d in stored] == ["succeeded"] * 4
    hits = {hit.headers["webhook-id"]: hit for hit in receiver.hits}
    assert len(receiver.hits) == 4  # each once: the dead worker never sent its two
    for delivery in held:
        assert hits[delivery.id].headers["scanhook-attempt"] == "1"
    assert len(running) == 1
    assert running[0] != "wrk_dead"
    assert after == []
