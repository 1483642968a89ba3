"""Helpers of the engine tests: a scriptable loopback receiver, notifications, a Hub on a
SQLite file in tmp_path or a PostgreSQL database (see ``conftest.py``), and bounded waiting.

Every test here drives the real engine (Hub → store → Worker → HttpClient) against
aiohttp servers on 127.0.0.1 (or the loopback alias 127.0.0.2); nothing is mocked.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from scanhook import Hub
from scanhook.delivery import HttpClient
from scanhook.store import DeliveryRecord, StorePolicy, open_store
from table_resolver import StaticResolver

__all__ = [
    "FAST_SCHEDULE",
    "Hit",
    "Receiver",
    "StaticResolver",
    "all_final",
    "attempted",
    "deliveries",
    "finished_scan",
    "hub_on",
    "receiving",
    "ticket",
    "wait_for",
    "worker_with",
]

#: The schedule most tests use: quick, but long enough to see the spacing.
FAST_SCHEDULE = "0.2s,0.4s,0.8s"
#: The database of the running test: a PostgreSQL URL (set by conftest's ``database``
#: fixture, which runs every test on both backends), or None for a SQLite file in tmp_path.
DATABASE_URL: str | None = None

Handler = Callable[["Hit", web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Hit:
    """One request as the receiver saw it."""

    number: int
    at: float
    headers: dict[str, str]
    #: Header names exactly as sent (case kept), in order.
    raw_names: list[str]
    body: bytes
    host: str

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]

    @property
    def attempt(self) -> int:
        return int(self.headers["scanhook-attempt"])


async def ok(hit: Hit, request: web.Request) -> web.StreamResponse:
    return web.Response(text="ok")


@dataclass
class Receiver:
    """An aiohttp receiver on loopback that records every request and answers with ``handler``
    (a 200 by default; a test may replace it at any time)."""

    handler: Handler = ok
    host: str = "127.0.0.1"
    hits: list[Hit] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0
    port: int = 0
    _runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/hook"

    async def _hook(self, request: web.Request) -> web.StreamResponse:
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            body = await request.read()
            hit = Hit(
                number=len(self.hits) + 1,
                at=time.time(),
                headers={k.lower(): v for k, v in request.headers.items()},
                raw_names=[name.decode("latin-1") for name, _ in request.raw_headers],
                body=body,
                host=request.host,
            )
            self.hits.append(hit)
            return await self.handler(hit, request)
        finally:
            self.in_flight -= 1

    async def start(self) -> Receiver:
        app = web.Application()
        app.router.add_post("/hook", self._hook)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, 0)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def bodies(self) -> list[bytes]:
        return [hit.body for hit in self.hits]


@asynccontextmanager
async def receiving(*receivers: Receiver) -> AsyncIterator[None]:
    """Run the receivers for the ``async with`` body."""
    try:
        for receiver in receivers:
            await receiver.start()
        yield
    finally:
        for receiver in receivers:
            await receiver.stop()


@asynccontextmanager
async def hub_on(
    tmp_path: Path, policy: StorePolicy | None = None, **settings: Any
) -> AsyncIterator[Hub]:
    """A started Hub on a fresh database (SQLite, or the test's PostgreSQL); private networks
    allowed and the fast schedule unless the test says otherwise."""
    options: dict[str, Any] = {
        "allow_private_networks": True,
        "retry_schedule": FAST_SCHEDULE,
        "poll_interval": "0.2s",
        "request_timeout": 5,
    }
    options.update(settings)
    url = DATABASE_URL or f"sqlite:///{tmp_path}/db.sqlite"
    if policy is None:
        hub = Hub.open(url, **options)
    else:
        hub = Hub(Hub.open(url, **options).settings, store=open_store(url, policy))
    async with hub:
        yield hub


@asynccontextmanager
async def worker_with(hub: Hub, client: HttpClient, grace: float = 1.0) -> AsyncIterator[None]:
    """Run one engine worker of ``hub`` that sends through ``client`` (e.g. one whose resolver
    is a table) for the ``async with`` body."""
    stop = asyncio.Event()
    task = asyncio.create_task(hub.new_worker(client).run(stop, grace=grace))
    try:
        await asyncio.sleep(0)
        yield
    finally:
        stop.set()
        await task


async def wait_for(
    predicate: Callable[[], bool | Awaitable[bool]], within: float = 10.0, what: str = ""
) -> None:
    """Poll ``predicate`` until true; fail the test after ``within`` seconds."""
    deadline = time.monotonic() + within
    while True:
        value = predicate()
        if not isinstance(value, bool):
            value = await value
        if value:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within} s waiting for {what or predicate}")
        await asyncio.sleep(0.02)


async def deliveries(hub: Hub, endpoint_id: str) -> list[DeliveryRecord]:
    """Every delivery of an endpoint, oldest first, each with its attempt log."""
    listed = await hub.store.list_deliveries(endpoint_id=endpoint_id, limit=10_000)
    full = [await hub.store.get_delivery(d.id) for d in listed]
    return sorted(full, key=lambda d: (d.created_at, d.id))


async def attempted(hub: Hub, endpoint_id: str) -> bool:
    """True once the endpoint's first delivery has an attempt recorded."""
    found = await deliveries(hub, endpoint_id)
    return bool(found and found[0].attempt_log)


async def all_final(hub: Hub, endpoint_id: str, count: int) -> bool:
    found = await hub.store.list_deliveries(endpoint_id=endpoint_id, limit=10_000)
    return len(found) == count and all(d.status in ("succeeded", "failed") for d in found)


def ticket(number: int, status: str = "Open", severity: str = "High") -> dict[str, Any]:
    return {
        "ticket": {
            "number": number,
            "status": status,
            "severity": severity,
            "vulnerability_name": f"CVE-2026-{number:04d} in OpenSSL",
            "asset_name": "web-01.example.com",
            "asset_link": f"https://sc.example.com/assets/{number}",
            "due_date": "2026-03-01",
            "owner": "secops@example.com",
        }
    }


def finished_scan(name: str = "Daily scan", critical: int = 1) -> dict[str, Any]:
    return {
        "finished_scan": {
            "name": name,
            "type": "network",
            "started": "2018-08-21 12:02",
            "finished": "2018-08-21 12:59",
            "duration": "00:57",
            "status": "Completed",
            "errors": "",
            "critical_cnt": critical,
            "high_cnt": 0,
            "medium_cnt": 3,
            "low_cnt": 0,
            "link": "https://sc.example.com/scans/view/123",
        }
    }
