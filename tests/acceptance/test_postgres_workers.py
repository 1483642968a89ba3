"""Three real ``scanhook worker`` processes share one PostgreSQL database; one is killed with
SIGKILL mid-run. Nothing is lost (every delivery arrives and ends ``succeeded``), no delivery is
ever in flight twice at the same moment (the receiver tracks requests in flight per
``webhook-id``), max_in_flight holds across the three, the others take over what the killed
worker held within 15 s (its advisory lock is gone with its connection; its lease would hold for
another minute), and the only duplicates are deliveries the killed worker held at the kill.

The receiver is an aiohttp server on 127.0.0.1 in the test process; events are published by a
Hub in the test. Every wait is bounded; the processes are always killed and the database dropped.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiohttp import web
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from acceptance.test_worker_process import SCANHOOK
from scanhook import Hub

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration" / "store"))

from pgkit import create_database, drop_database

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

EVENTS = 3000
WORKERS = 3
MAX_IN_FLIGHT = 60
#: Long enough that only the takeover, not the lease, can explain a resumption within 15 s.
LEASE = 60.0
#: Contract: when one of several workers dies, the others take over its deliveries within 15 s.
TAKEOVER_WITHIN = 15.0


@dataclass
class Arrival:
    webhook_id: str
    body: bytes
    at: float


@dataclass
class Recorder:
    """Records every request; notes a request whose ``webhook-id`` is already being handled."""

    delay: float = 0.02
    arrivals: list[Arrival] = field(default_factory=list)
    active: dict[str, int] = field(default_factory=dict)
    overlaps: list[str] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0
    port: int = 0

    async def hook(self, request: web.Request) -> web.Response:
        webhook_id = request.headers["webhook-id"]
        body = await request.read()
        self.arrivals.append(Arrival(webhook_id, body, time.time()))
        if self.active.get(webhook_id):
            self.overlaps.append(webhook_id)
        self.active[webhook_id] = self.active.get(webhook_id, 0) + 1
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await asyncio.sleep(self.delay)
            return web.Response(text="done")
        finally:
            self.in_flight -= 1
            self.active[webhook_id] -= 1

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"


@asynccontextmanager
async def receiving(recorder: Recorder) -> AsyncIterator[Recorder]:
    app = web.Application()
    app.router.add_post("/hook", recorder.hook)
    runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=0)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    recorder.port = int(runner.addresses[0][1])
    try:
        yield recorder
    finally:
        await runner.cleanup()


@pytest.fixture
def database() -> Iterator[str]:
    url = create_database("scanhook_workers")
    try:
        yield url
    finally:
        drop_database(url)


class Workers:
    def __init__(self, tmp_path: Path, database: str) -> None:
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("SCANHOOK_")}
        self.env.update(
            {
                "SCANHOOK_DATABASE_URL": database,
                # The key the test's own Hub seals endpoint secrets with (tests/conftest.py).
                "SCANHOOK_SECRET_KEY": os.environ["SCANHOOK_SECRET_KEY"],
                "SCANHOOK_ALLOW_PRIVATE_NETWORKS": "true",
                "SCANHOOK_LEASE": f"{LEASE:g}s",
                "SCANHOOK_POLL_INTERVAL": "0.2s",
                "SCANHOOK_RETRY_SCHEDULE": "0.2s,0.4s,0.8s",
                "SCANHOOK_LOG_LEVEL": "warning",
                "NO_COLOR": "1",
            }
        )
        self.tmp_path = tmp_path
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self) -> None:
        for n in range(WORKERS):
            with (self.tmp_path / f"worker-{n}.log").open("wb") as log:
                self.processes.append(
                    subprocess.Popen(
                        [SCANHOOK, "worker"], env=self.env, stdout=log, stderr=subprocess.STDOUT
                    )
                )

    def logs(self) -> str:
        return "\n".join(
            p.read_text(errors="replace")[-1500:]
            for p in sorted(self.tmp_path.glob("worker-*.log"))
        )

    def kill_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.kill()
            process.wait(timeout=10)


async def until(check: Callable[[], object], within: float, what: str, workers: Workers) -> None:
    deadline = time.monotonic() + within
    while True:
        value = check()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within} s: {what}\n{workers.logs()}")
        await asyncio.sleep(0.02)


def _ticket(number: int) -> dict[str, object]:
    return {
        "ticket": {
            "number": number,
            "status": "Open",
            "severity": "Medium",
            "vulnerability_name": f"Finding {number}",
            "asset_name": f"host-{number % 97}.example.com",
            "asset_link": f"https://sc.example.com/assets/{number}",
            "due_date": "2026-06-01",
            "owner": "secops@example.com",
        }
    }


def _sql(database: str, statement: str, **params: object) -> list[tuple[object, ...]]:
    engine = create_engine(
        make_url(database).set(drivername="postgresql+psycopg"), poolclass=NullPool
    )
    try:
        with engine.begin() as connection:
            return [tuple(row) for row in connection.execute(text(statement), params)]
    finally:
        engine.dispose()


async def _succeeded(hub: Hub) -> bool:
    stats = await hub.store.stats(time.time())
    deliveries = stats["deliveries"]
    assert isinstance(deliveries, dict)
    return bool(deliveries["succeeded"] == EVENTS)


async def test_three_workers_one_killed_lose_nothing_and_never_send_one_delivery_twice_at_once(
    tmp_path: Path, database: str
) -> None:
    workers = Workers(tmp_path, database)
    recorder = Recorder()
    try:
        async with receiving(recorder), Hub.open(database, allow_private_networks=True) as hub:
            await hub.add_endpoint(recorder.url, max_in_flight=MAX_IN_FLIGHT)
            workers.start()
            for start in range(0, EVENTS, 500):
                await hub.publish_batch([_ticket(n) for n in range(start, start + 500)])

            await until(
                lambda: len(recorder.arrivals) >= EVENTS // 4 and recorder.in_flight > 0,
                30,
                "a quarter of the deliveries to arrive",
                workers,
            )
            # The victim: the worker holding the most deliveries right now.
            ((victim_id, victim_pid),) = _sql(
                database,
                "SELECT w.id, w.pid FROM workers w JOIN deliveries d ON d.leased_by = w.id"
                " WHERE d.status = 'sending' GROUP BY w.id, w.pid ORDER BY count(*) DESC LIMIT 1",
            )
            (victim,) = [p for p in workers.processes if p.pid == victim_pid]
            victim.send_signal(signal.SIGKILL)
            killed_at = time.time()
            victim.wait(timeout=10)
            # What was leased at the kill: the killed worker's leases are among these.
            leased = await hub.store.list_deliveries(status="sending", limit=10_000)
            held_at_kill = {d.id for d in leased}
            arrived_before_kill = len(recorder.arrivals)
            assert 0 < arrived_before_kill < EVENTS, "the kill was not mid-run"
            held_by_victim = "SELECT id FROM deliveries WHERE status = 'sending' AND leased_by = :w"
            assert _sql(database, held_by_victim, w=victim_id), "the victim held nothing"
            await until(
                lambda: not _sql(database, held_by_victim, w=victim_id),
                TAKEOVER_WITHIN,
                "the others to take over what the killed worker held",
                workers,
            )
            taken_over_after = time.time() - killed_at

            await until(lambda: _succeeded(hub), 40, "every delivery to succeed", workers)
            stats = await hub.store.stats(time.time())
            ids = {d.id for d in await hub.store.list_deliveries(limit=10_000)}
            survivors = [p.poll() for p in workers.processes if p is not victim]
    finally:
        workers.kill_all()

    print(f"the others took over {taken_over_after:.2f} s after the kill")
    assert survivors == [None] * (WORKERS - 1), workers.logs()
    assert stats["deliveries"] == {"pending": 0, "sending": 0, "succeeded": EVENTS, "failed": 0}
    by_id: dict[str, list[Arrival]] = {}
    for arrival in recorder.arrivals:
        by_id.setdefault(arrival.webhook_id, []).append(arrival)
    # No loss: every delivery arrived, each under its own webhook-id with one body.
    assert set(by_id) == ids
    assert len(ids) == EVENTS
    assert all(len({a.body for a in hits}) == 1 for hits in by_id.values())
    # Never two attempts of one delivery in flight at once, and the endpoint's limit held
    # across the three processes together.
    assert recorder.overlaps == []
    assert recorder.max_in_flight <= MAX_IN_FLIGHT
    # Duplicates only for deliveries held at the kill: sent once before it, and again only
    # once the others saw the killed worker gone.
    duplicated = {webhook_id for webhook_id, hits in by_id.items() if len(hits) > 1}
    assert duplicated <= held_at_kill
    assert len(duplicated) <= MAX_IN_FLIGHT
    for webhook_id in duplicated:
        first, second = by_id[webhook_id]  # exactly two
        assert first.at < killed_at + 0.5
        assert second.at > killed_at + 1.0
