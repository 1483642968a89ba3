"""The fault suite's harness: real ``scanhook`` processes, a loopback receiver that records every
request, a client of the HTTP API, and the figures each case reports.

Everything runs on 127.0.0.1: the receiver is an aiohttp server in the test's own event loop,
the service is the installed ``scanhook`` command in subprocesses (``serve``, ``api``,
``worker``) with ``SCANHOOK_*`` settings in their environment. Events carry their number in the
ticket's ``number`` field, so the receiver knows which published event each request delivers.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import signal
import socket
import sqlite3
import subprocess
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from acceptance.cli_support import SCANHOOK, clean_env
from integration.store.pgkit import create_database, drop_database, server_url, sql

__all__ = [
    "RESULTS",
    "Api",
    "Database",
    "Figures",
    "Receiver",
    "Service",
    "free_port",
    "postgres_database",
    "postgres_sql",
    "record",
    "service_env",
    "ticket",
    "until",
]

#: The bearer token every case's service accepts (SCANHOOK_API_TOKEN).
TOKEN = "shk_faults_" + secrets.token_hex(16)


def ticket(number: int) -> dict[str, Any]:
    """A ``ticket.opened`` notification that carries ``number`` (the event's identity here)."""
    return {
        "ticket": {
            "number": number,
            "status": "Open",
            "severity": "High",
            "vulnerability_name": f"Finding {number}",
            "asset_name": f"host-{number % 97}.example.com",
            "asset_link": f"https://sc.example.com/assets/{number}",
            "due_date": "2026-06-01",
            "owner": "secops@example.com",
        }
    }


@dataclass(frozen=True)
class Database:
    """The database of one case: ``sqlite`` (a file) or ``postgresql`` (its own database)."""

    backend: str
    url: str

    @property
    def name(self) -> str:
        """The PostgreSQL database's name."""
        return self.url.rsplit("/", 1)[-1]

    def rows(self, statement: str) -> list[tuple[Any, ...]]:
        """The rows of one read-only statement, on a connection of the test's own."""
        if self.backend == "postgresql":
            return [tuple(row) for row in sql(self.url, statement)]
        path = self.url.removeprefix("sqlite:///")
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
            return list(db.execute(statement))

    async def unfinished(self, ids: set[str]) -> set[str]:
        """Which of the deliveries ``ids`` have not succeeded (yet)."""
        rows = await asyncio.to_thread(
            self.rows, "SELECT id FROM deliveries WHERE status <> 'succeeded'"
        )
        return ids & {row[0] for row in rows}

    async def sending(self) -> set[str]:
        """The deliveries that are ``sending`` now."""
        rows = await asyncio.to_thread(
            self.rows, "SELECT id FROM deliveries WHERE status = 'sending'"
        )
        return {row[0] for row in rows}


@contextlib.contextmanager
def postgres_database() -> Iterator[Database]:
    """A new, empty PostgreSQL database for one case (skips without SCANHOOK_TEST_POSTGRES_URL),
    dropped afterwards."""
    url = create_database("scanhook_faults")
    try:
        yield Database("postgresql", url)
    finally:
        drop_database(url)


def postgres_sql(statement: str, params: dict[str, Any] | None = None, url: str = "") -> list[Any]:
    """One statement on the PostgreSQL server (its maintenance database unless ``url``)."""
    return sql(url or server_url(), statement, params)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (kept across a service's restarts)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve_on(
    directory: Path,
    database_url: str,
    services: list[Service],
    session: aiohttp.ClientSession,
    **settings: str,
) -> tuple[Service, Api]:
    """A ``scanhook serve`` on a free loopback port (not started; stopped with ``services``) and
    the API client that talks to it; ``settings`` as for :func:`service_env`."""
    port = free_port()
    serve = Service(
        directory, "serve", ["serve", "--port", str(port)], service_env(database_url, **settings)
    )
    services.append(serve)
    return serve, Api.on_port(session, port)


def service_env(database_url: str, **settings: str) -> dict[str, str]:
    """The environment of a scanhook process: only this case's SCANHOOK_* settings, loopback
    receivers allowed, the fixed token, the tests' secret key, JSON logs, unbuffered output;
    ``settings`` are SCANHOOK_<NAME> values by lower-case name (``retry_schedule="0.2s,0.4s"``)."""
    env = clean_env(
        SCANHOOK_DATABASE_URL=database_url,
        SCANHOOK_SECRET_KEY=os.environ["SCANHOOK_SECRET_KEY"],
        SCANHOOK_API_TOKEN=TOKEN,
        SCANHOOK_ALLOW_PRIVATE_NETWORKS="true",
        SCANHOOK_LOG_FORMAT="json",
        SCANHOOK_LOG_LEVEL="info",
        PYTHONUNBUFFERED="1",
    )
    env.update({f"SCANHOOK_{name.upper()}": value for name, value in settings.items()})
    return env


# -- the receiver -------------------------------------------------------------------------------
@dataclass(slots=True)
class Hit:
    """One request the receiver got."""

    webhook_id: str
    attempt: int
    number: int
    status: int
    #: When the request came in (its answer follows after the receiver's delay).
    at: float


@dataclass
class Receiver:
    """A webhook receiver on 127.0.0.1 that records every request. It answers 200 after
    ``delay`` seconds, or 500 to the first ``fail_first`` requests of every ``webhook-id``;
    :meth:`down` closes its port (connections are refused) and :meth:`up` opens the same port
    again."""

    delay: float = 0.0
    fail_first: int = 0
    hits: list[Hit] = field(default_factory=list)
    #: Requests being answered right now, by webhook-id.
    active: dict[str, int] = field(default_factory=dict)
    port: int = 0
    _seen: dict[str, int] = field(default_factory=dict)
    _runner: web.AppRunner | None = None

    async def _hook(self, request: web.Request) -> web.Response:
        arrived = time.time()
        webhook_id = request.headers["webhook-id"]
        body = await request.json()
        seen = self._seen[webhook_id] = self._seen.get(webhook_id, 0) + 1
        status = 500 if seen <= self.fail_first else 200
        self.active[webhook_id] = self.active.get(webhook_id, 0) + 1
        try:
            if self.delay:
                await asyncio.sleep(self.delay)
            hit = Hit(
                webhook_id,
                int(request.headers["scanhook-attempt"]),
                int(body["ticket"]["number"]),
                status,
                arrived,
            )
            self.hits.append(hit)
            return web.Response(status=status, text="ok" if status == 200 else "flaky")
        finally:
            self.active[webhook_id] -= 1

    async def start(self) -> Receiver:
        await self.up()
        return self

    async def up(self) -> None:
        """Listen (again, on the same port after :meth:`down`)."""
        app = web.Application()
        app.router.add_post("/hook", self._hook)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=0)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port, reuse_address=True).start()
        if not self.port:
            self.port = int(self._runner.addresses[0][1])

    async def down(self) -> None:
        """Go away: close the port and every open connection; connecting is refused until
        :meth:`up`."""
        await self.stop()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    @property
    def in_flight(self) -> int:
        return sum(self.active.values())

    def delivered(self) -> set[int]:
        """The event numbers that got a 2xx answer."""
        return {hit.number for hit in self.hits if hit.status == 200}

    async def every_delivery(
        self, accepted: Iterable[int], services: Sequence[Service], within: float = 60
    ) -> float:
        """Wait until every event of ``accepted`` got a 2xx answer; when it had."""
        wanted = set(accepted)
        return await until(
            lambda: self.delivered() >= wanted,
            within,
            "every accepted event to be delivered",
            services,
            lambda: self.progress(wanted),
        )

    def progress(self, accepted: Iterable[int]) -> str:
        """How far delivery got, for a failure's message."""
        accepted = set(accepted)
        last = max((h.at for h in self.hits if h.status == 200), default=None)
        ago = "never" if last is None else f"{time.time() - last:.1f} s ago"
        return (
            f"{len(accepted & self.delivered())} of {len(accepted)} delivered, "
            f"{len(self.hits)} requests, last success {ago}"
        )

    def first_success_after(self, moment: float) -> float | None:
        """When the first request that came in after ``moment`` and was answered 2xx came in
        (None: none yet)."""
        return min((h.at for h in self.hits if h.status == 200 and h.at > moment), default=None)

    def figures(
        self, case: str, backend: str, accepted: Iterable[int], resume_s: float | None, **extra: Any
    ) -> Figures:
        """This case's figures: events lost (accepted, never answered 2xx) and duplicated
        (webhook-ids answered 2xx more than once)."""
        accepted = set(accepted)
        successes: dict[str, int] = {}
        numbers: dict[str, set[int]] = {}
        for hit in self.hits:
            numbers.setdefault(hit.webhook_id, set()).add(hit.number)
            if hit.status == 200:
                successes[hit.webhook_id] = successes.get(hit.webhook_id, 0) + 1
        assert all(len(n) == 1 for n in numbers.values()), "a webhook-id carried two events"
        return Figures(
            case=case,
            backend=backend,
            accepted=len(accepted),
            lost=len(accepted - self.delivered()),
            duplicated=sum(1 for count in successes.values() if count > 1),
            requests=len(self.hits),
            resume_s=None if resume_s is None else round(resume_s, 2),
            extra=extra,
        )


# -- the figures --------------------------------------------------------------------------------
@dataclass
class Figures:
    """What one case measured: printed at the end of the run (and with ``-s`` at once)."""

    case: str
    backend: str
    accepted: int
    lost: int
    duplicated: int
    requests: int
    resume_s: float | None
    extra: dict[str, Any] = field(default_factory=dict)

    def line(self) -> str:
        resume = "-" if self.resume_s is None else f"{self.resume_s:.2f} s"
        extra = ", ".join(f"{k}={v}" for k, v in self.extra.items())
        return (
            f"{self.case:<34} {self.backend:<10} accepted={self.accepted:<5} lost={self.lost:<3} "
            f"duplicated={self.duplicated:<3} requests={self.requests:<5} resume={resume:<8} "
            f"{extra}"
        )


#: Every case's figures in this run, in order.
RESULTS: list[Figures] = []


def record(figures: Figures) -> Figures:
    """Keep ``figures`` for the run's summary (and SCANHOOK_FAULTS_RESULTS, a JSON-lines file,
    when set) and print them."""
    RESULTS.append(figures)
    print(f"\nfault figures: {figures.line()}")
    path = os.environ.get("SCANHOOK_FAULTS_RESULTS")
    if path:
        with Path(path).open("a", encoding="utf-8") as out:
            out.write(json.dumps(asdict(figures)) + "\n")
    return figures


# -- scanhook processes -------------------------------------------------------------------------
_READY = {"serve": "scanhook is serving", "api": "scanhook is serving", "worker": "worker started"}


class Service:
    """One ``scanhook serve|api|worker`` process at a time, started again as often as the case
    wants; each run's output goes to its own log file in ``directory``."""

    def __init__(
        self, directory: Path, name: str, command: Sequence[str], env: dict[str, str]
    ) -> None:
        self.directory = directory
        self.name = name
        self.command = list(command)
        self.env = env
        self.runs: list[subprocess.Popen[bytes]] = []
        self.logs: list[Path] = []
        #: When the latest run was started.
        self.started_at = 0.0

    @property
    def process(self) -> subprocess.Popen[bytes]:
        return self.runs[-1]

    def start(self) -> Service:
        log = self.directory / f"{self.name}-{len(self.runs)}.log"
        with log.open("wb") as out:
            self.started_at = time.time()
            self.runs.append(
                subprocess.Popen(
                    [SCANHOOK, *self.command],
                    env=self.env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                )
            )
        self.logs.append(log)
        return self

    async def ready(self, within: float = 30) -> float:
        """Wait for the latest run's start line; when it was seen."""
        marker = _READY[self.command[0]]
        await until(lambda: marker in self.log(), within, f"{self.name} to start", [self])
        return time.time()

    def log(self, run: int = -1) -> str:
        return self.logs[run].read_text(errors="replace") if self.logs else ""

    def kill(self) -> None:
        """``kill -9``."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def terminate(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    async def exited(self, within: float) -> int:
        """The latest run's exit status, once it ends (fails after ``within`` seconds)."""
        process = self.process
        await until(lambda: process.poll() is not None, within, f"{self.name} to exit", [self])
        return int(process.returncode)

    def alive(self) -> bool:
        return bool(self.runs) and self.process.poll() is None

    def stop_all(self) -> None:
        for process in self.runs:
            if process.poll() is None:
                process.kill()
                process.wait(10)

    def tail(self, chars: int = 2500) -> str:
        return f"--- {self.name} (run {len(self.runs)}) ---\n{self.log()[-chars:]}"


async def until(
    check: Callable[[], object | Awaitable[object]],
    within: float,
    what: str,
    services: Sequence[Service] = (),
    progress: Callable[[], str] | None = None,
) -> float:
    """Wait until ``check()`` is true (it may be a coroutine function); when it became true.
    Fails after ``within`` seconds with ``progress()`` and the services' latest output."""
    deadline = time.monotonic() + within
    while True:
        value = check()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return time.time()
        if time.monotonic() > deadline:
            logs = "\n".join(service.tail() for service in services)
            state = f" ({progress()})" if progress is not None else ""
            raise AssertionError(f"timed out after {within} s waiting for {what}{state}\n{logs}")
        await asyncio.sleep(0.05)


# -- the HTTP API -------------------------------------------------------------------------------
class Api:
    """A client of one service's HTTP API with the suite's token."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str) -> None:
        self.session = session
        self.base_url = base_url
        self.headers = {"Authorization": f"Bearer {TOKEN}"}

    @classmethod
    def on_port(cls, session: aiohttp.ClientSession, port: int) -> Api:
        return cls(session, f"http://127.0.0.1:{port}")

    async def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """One request: the status and the decoded JSON answer (None when there is none)."""
        async with self.session.request(
            method,
            self.base_url + path,
            json=body,
            headers=self.headers,
            timeout=aiohttp.ClientTimeout(total=30),
        ) as response:
            text = await response.text()
            try:
                answer = json.loads(text) if text else None
            except ValueError:
                answer = text
            return response.status, answer

    async def add_endpoint(self, url: str, **fields: Any) -> dict[str, Any]:
        status, answer = await self.call("POST", "/v1/endpoints", {"url": url, **fields})
        assert status == 201, answer
        assert isinstance(answer, dict)
        return answer

    async def publish(self, number: int) -> tuple[int, Any]:
        return await self.call("POST", "/v1/events", ticket(number))

    async def publish_batch(self, numbers: Sequence[int]) -> tuple[int, Any]:
        return await self.call("POST", "/v1/events/batch", {"events": [ticket(n) for n in numbers]})

    async def accept_batch(self, numbers: Sequence[int]) -> list[int]:
        """Publish ``numbers`` in batches of 1,000, each of which must be accepted (202)."""
        for start in range(0, len(numbers), 1000):
            chunk = numbers[start : start + 1000]
            status, answer = await self.publish_batch(chunk)
            assert status == 202, answer
            assert len(answer["ids"]) == len(chunk)
        return list(numbers)

    async def deliveries(self) -> dict[str, int]:
        """The counts of ``GET /v1/stats`` by delivery status."""
        status, answer = await self.call("GET", "/v1/stats")
        assert status == 200, answer
        return dict(answer["deliveries"])

    async def settled(self, services: Sequence[Service], within: float = 15) -> dict[str, int]:
        """The delivery counts once none is pending or sending (the receiver may have answered
        an attempt a moment before the worker recorded it)."""
        counts: dict[str, int] = {}

        async def done() -> bool:
            counts.update(await self.deliveries())
            return counts["pending"] == counts["sending"] == 0

        await until(done, within, "every delivery to be recorded", services, lambda: str(counts))
        return counts
