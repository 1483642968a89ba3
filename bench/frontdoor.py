"""The front door: scanhook as a platform runs it, measured from outside.

    .venv/bin/python bench/frontdoor.py                      # SQLite `serve`, 1 run
    .venv/bin/python bench/frontdoor.py --repeat 3           # per-run rows and medians
    .venv/bin/python bench/frontdoor.py --quick              # small sizes: a smoke run (≈ 11 s)
    .venv/bin/python bench/frontdoor.py --postgres postgresql://postgres@127.0.0.1:5432/postgres \\
        --workers 1,3                                        # `api` + N `worker` processes
    .venv/bin/python bench/frontdoor.py --profile /tmp/prof  # py-spy the service's processes

scanhook runs as separate processes started here with default settings, except
``SCANHOOK_ALLOW_PRIVATE_NETWORKS=true`` (the receiver is on 127.0.0.1) and a fresh database:
``scanhook serve`` on a new SQLite file, or with ``--postgres`` ``scanhook api`` plus N
``scanhook worker`` processes on a new PostgreSQL database (created and dropped here; the
processes share one generated ``SCANHOOK_SECRET_KEY``). The bench reads the API token that the
first start prints, registers one endpoint with default settings through ``POST /v1/endpoints``
and publishes through the HTTP API. The receiver is a small aiohttp web app in its own process
(``receiver.py``'s ``app`` mode: it parses each body as JSON and records the ``webhook-id`` and
the arrival time).

* **single**: ``--events`` events, one ``POST /v1/events`` each, from ``--clients`` concurrent
  clients (one aiohttp session). Deliveries/s = events ÷ (last arrival − first publish).
* **batch**: the same events in ``POST /v1/events/batch`` of ``--batch-size``, one at a time,
  timed the same way.
* **paced**: single POSTs started on a fixed schedule (open loop: a request starts on time
  whether or not earlier ones were answered, at most 1,000 outstanding) at each of ``--rates``
  for ``--seconds``; the publish latency (start of the request → its 202) and the
  publish→arrival latency (arrival at the receiver − start of the request; ``time.time()`` in
  both processes) with p50/p99/max, and the accepted rate (202s ÷ the time from the first start
  to the last 202).
* the same run's yardsticks through the same receiver: ``requests.post`` per event (naive),
  a ``requests.Session`` loop, and aiohttp with ``--concurrency`` in flight and no storage (the
  ceiling), all from ``baselines.py``.

Every phase is bounded in count and time (``--limit`` seconds); every process started here is
stopped when the bench ends, on Ctrl-C and on SIGTERM too. Traffic goes only to 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import json
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import create_engine, text

from baselines import ceiling, naive, session_loop
from receiver import Receiver
from scale import _engine, _loopback_only, drop_database, new_database
from scanhook.eventloop import LOOP_CHOICES, loop_name
from scanhook.eventloop import run as run_on_loop
from scanhook.store.secretbox import generate_key
from scenarios import _percentile
from workload import Workload, make_workload

SCANHOOK = str(Path(sys.executable).with_name("scanhook"))
PY_SPY = Path(sys.executable).with_name("py-spy")
HOST = "127.0.0.1"
#: Paced phases: requests allowed outstanding before the pacer waits (and connections at most).
MAX_OUTSTANDING = 1000
START_TIMEOUT = 60.0
_SERVING = re.compile(r"scanhook is serving (http://[0-9.]+:\d+)")
_TOKEN = re.compile(r"API token: (\S+)")


class BenchError(RuntimeError):
    """A phase did not complete as it must (a lost event, a process that died, a deadline)."""


# -- processes -------------------------------------------------------------------------------------
def _die_with_parent() -> None:
    """In the child, before exec: SIGTERM when the bench process dies, even by SIGKILL (Linux)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _stop(processes: list[subprocess.Popen[bytes]], grace: float = 15.0) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace
    for process in processes:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far (every thread), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Service:
    """scanhook as separate processes on a fresh database: ``serve`` (SQLite), or ``api`` and
    ``workers`` × ``worker`` (PostgreSQL). Start with :meth:`running`."""

    tmp: Path
    postgres: str | None = None
    workers: int = 0
    #: Endpoint settings besides the URL (none: the defaults, as a platform would keep them).
    endpoint: dict[str, Any] = field(default_factory=dict)
    url: str = ""
    token: str = ""
    database_url: str = ""
    api: subprocess.Popen[bytes] | None = None
    worker_processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SCANHOOK_")}
        env |= {
            "SCANHOOK_DATABASE_URL": self.database_url,
            "SCANHOOK_ALLOW_PRIVATE_NETWORKS": "true",
            "NO_COLOR": "1",
            "COLUMNS": "250",  # one line per message in the log files we read
        }
        if self.postgres is not None:
            env["SCANHOOK_SECRET_KEY"] = os.environ["SCANHOOK_SECRET_KEY"]
        return env

    def _spawn(self, args: list[str], log: str) -> subprocess.Popen[bytes]:
        with (self.tmp / log).open("ab") as out:
            return subprocess.Popen(
                [SCANHOOK, *args],
                env=self._env(),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent,
            )

    @contextlib.contextmanager
    def running(self) -> Iterator[Service]:
        if self.postgres is None:
            self.database_url = f"sqlite:///{self.tmp / 'frontdoor.db'}"
        else:
            self.database_url = new_database(self.postgres)
        try:
            command = "serve" if self.postgres is None else "api"
            self.api = self._spawn([command, "--host", HOST, "--port", "0"], "api.log")
            self._wait_ready()
            self.worker_processes = [
                self._spawn(["worker"], f"worker-{n}.log") for n in range(self.workers)
            ]
            for n in range(self.workers):
                self._wait_for(self.worker_processes[n], f"worker-{n}.log", "worker started")
            yield self
        finally:
            _stop([p for p in [self.api, *self.worker_processes] if p is not None])
            if self.postgres is not None and self.database_url:
                drop_database(self.postgres, self.database_url)

    def _wait_ready(self) -> None:
        assert self.api is not None
        output = self._wait_for(self.api, "api.log", "scanhook is serving")
        serving, token = _SERVING.search(output), _TOKEN.search(output)
        if not (serving and token):
            raise BenchError(f"no URL and API token in scanhook's output:\n{output[-2000:]}")
        self.url, self.token = serving[1], token[1]

    def _wait_for(self, process: subprocess.Popen[bytes], log: str, line: str) -> str:
        """The process's output once it holds ``line`` (a worker only publishes to a receiver
        it is ready to deliver to: events published before would wait for its first poll)."""
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            output = (self.tmp / log).read_text(errors="replace")
            if line in output:
                return output
            if process.poll() is not None:
                raise BenchError(f"scanhook exited ({process.returncode}):\n{output[-2000:]}")
            time.sleep(0.1)
        raise BenchError(f"scanhook did not start within {START_TIMEOUT} s; see {self.tmp / log}")

    def check_alive(self) -> None:
        for process in [self.api, *self.worker_processes]:
            if process is not None and process.poll() is not None:
                raise BenchError(
                    f"a scanhook process exited ({process.returncode}); see {self.tmp}"
                )

    def pids(self) -> dict[str, int]:
        named = {"api" if self.postgres else "serve": self.api.pid} if self.api else {}
        return named | {f"worker-{n}": p.pid for n, p in enumerate(self.worker_processes)}

    def cpu(self) -> dict[str, float]:
        return {name: cpu_seconds(pid) for name, pid in self.pids().items()}

    def deliveries_of(self) -> dict[str, str]:
        """event id → delivery id (the ``webhook-id``), read from the database (untimed)."""
        if self.postgres is None:
            engine = create_engine(self.database_url)
        else:
            engine = _engine(self.database_url)
        try:
            with engine.connect() as connection:
                rows = connection.execute(text("SELECT event_id, id FROM deliveries")).all()
        finally:
            engine.dispose()
        return {event_id: delivery_id for event_id, delivery_id in rows}


@contextlib.contextmanager
def profiling(service: Service, out: Path | None, phase: str, gil: bool) -> Iterator[None]:
    """py-spy (raw collapsed stacks, no --native: it hangs here) on each of the service's
    processes while the phase runs, when ``out`` is a directory: samples of every thread that is
    not idle, or with ``gil`` only of the thread holding the GIL (Python CPU)."""
    if out is None:
        yield
        return
    out.mkdir(parents=True, exist_ok=True)
    spies = []
    for name, pid in service.pids().items():
        path = out / f"{phase}-{name}.txt"
        command = [str(PY_SPY), "record", "--pid", str(pid), "--rate", "200", "--threads"]
        command += ["--format", "raw", "-o", str(path), "--nonblocking"]
        command += ["--gil"] if gil else []
        with (out / f"{phase}-{name}.log").open("wb") as log:
            spies.append(
                subprocess.Popen(
                    command,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    preexec_fn=_die_with_parent,
                )
            )
    time.sleep(1.0)  # py-spy attaches
    try:
        yield
    finally:
        for spy in spies:
            if spy.poll() is None:
                spy.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT
        for spy in spies:
            try:
                spy.wait(timeout=30)
            except subprocess.TimeoutExpired:
                spy.kill()
                spy.wait(timeout=5)


# -- publishing through the API --------------------------------------------------------------------
async def _add_endpoint(http: aiohttp.ClientSession, service: Service, url: str) -> str:
    options = {"url": url, **service.endpoint}
    async with http.post(
        f"{service.url}/v1/endpoints", json=options, headers=service.headers
    ) as response:
        body = await response.json()
        if response.status != 201:
            raise BenchError(f"POST /v1/endpoints: HTTP {response.status}: {body}")
        return str(body["id"])


async def _wait_arrivals(
    receiver: Receiver, service: Service, count: int, limit: float
) -> dict[str, Any]:
    """Until the receiver holds ``count`` distinct deliveries (at most ``limit`` seconds)."""
    deadline = time.monotonic() + limit
    while True:
        stats = receiver.stats()[0]
        if stats["unique"] >= count:
            return stats
        service.check_alive()
        if time.monotonic() > deadline:
            raise BenchError(f"the receiver got {stats['unique']} of {count} after {limit:.0f} s")
        await asyncio.sleep(0.1)


async def throughput(
    receiver: Receiver,
    service: Service,
    work: Workload,
    *,
    events: int,
    clients: int,
    batch_size: int,
    limit: float,
) -> dict[str, float]:
    """``clients`` concurrent single POSTs (``batch_size`` 0) or batches one at a time."""
    receiver.reset()
    connector = aiohttp.TCPConnector(limit=max(clients, 1))
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
        await _add_endpoint(http, service, receiver.url(0))
        cpu_before, receiver_cpu_before = service.cpu(), receiver.cpu_seconds()
        calls: list[float] = []
        next_index = 0

        async def single_client() -> None:
            nonlocal next_index
            while next_index < events:
                index = next_index
                next_index += 1
                began = time.perf_counter()
                async with http.post(
                    f"{service.url}/v1/events", data=work.bodies[index], headers=service.headers
                ) as response:
                    await response.read()
                    if response.status != 202:
                        raise BenchError(f"POST /v1/events: HTTP {response.status}")
                calls.append(time.perf_counter() - began)

        async def batches() -> None:
            for first in range(0, events, batch_size):
                chunk = work.bodies[first : min(first + batch_size, events)]
                body = b'{"events":[' + b",".join(chunk) + b"]}"
                began = time.perf_counter()
                async with http.post(
                    f"{service.url}/v1/events/batch", data=body, headers=service.headers
                ) as response:
                    await response.read()
                    if response.status != 202:
                        raise BenchError(f"POST /v1/events/batch: HTTP {response.status}")
                calls.append(time.perf_counter() - began)

        started = time.time()
        async with asyncio.timeout(limit):
            if batch_size:
                await batches()
            else:
                await asyncio.gather(*(single_client() for _ in range(clients)))
        accepted = time.time()
        stats = await _wait_arrivals(receiver, service, events, limit)
        cpu_after, receiver_cpu = service.cpu(), receiver.cpu_seconds() - receiver_cpu_before
    if stats["duplicates"]:
        raise BenchError(f"the receiver got {stats['duplicates']} duplicates")
    out = {
        "rate": events / (stats["last"] - started),
        "accept_rate": events / (accepted - started),
        "call_p50": 1000 * statistics.median(calls),
        "call_p99": 1000 * _percentile(calls, 0.99),
        "receiver_cpu_us": 1e6 * receiver_cpu / events,
    }
    for name, before in cpu_before.items():
        key = "worker" if name.startswith("worker") else "service"
        out[f"{key}_cpu_us"] = (
            out.get(f"{key}_cpu_us", 0.0) + 1e6 * (cpu_after[name] - before) / events
        )
    return out


async def _paced_rate(
    http: aiohttp.ClientSession,
    receiver: Receiver,
    service: Service,
    bodies: list[bytes],
    rate: float,
    limit: float,
) -> dict[str, float]:
    """``bodies`` as single POSTs started ``rate`` per second; the latencies."""
    receiver.reset()
    sent: list[tuple[str, float, float]] = []  # event id, start (epoch), 202 (epoch)
    failures = 0

    async def publish_one(body: bytes) -> None:
        nonlocal failures
        began = time.time()
        try:
            async with http.post(
                f"{service.url}/v1/events", data=body, headers=service.headers
            ) as response:
                answer = await response.read()
                if response.status != 202:
                    failures += 1
                    return
        except (aiohttp.ClientError, TimeoutError):
            failures += 1
            return
        sent.append((json.loads(answer)["id"], began, time.time()))

    tasks: set[asyncio.Task[None]] = set()
    started = time.perf_counter()
    for n, body in enumerate(bodies):
        delay = started + n / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        while len(tasks) >= MAX_OUTSTANDING:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        task = asyncio.create_task(publish_one(body))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    offered = len(bodies) / (time.perf_counter() - started)
    async with asyncio.timeout(limit):
        await asyncio.gather(*tasks)
    if not sent:
        raise BenchError(f"paced {rate:g}/s: no publish was accepted")
    await _wait_arrivals(receiver, service, len(sent), limit)
    delivery_of = service.deliveries_of()
    arrivals = receiver.arrivals(0)
    first = min(began for _, began, _ in sent)
    calls = [(done - began) * 1000 for _, began, done in sent]
    ends = [(arrivals[delivery_of[e]] - began) * 1000 for e, began, _ in sent]
    return {
        "offered": offered,
        "accepted": len(sent) / (max(done for _, _, done in sent) - first),
        "failed": float(failures),
        "call_p50": statistics.median(calls),
        "call_p99": _percentile(calls, 0.99),
        "call_max": max(calls),
        "p50": statistics.median(ends),
        "p99": _percentile(ends, 0.99),
        "max": max(ends),
    }


async def paced(
    receiver: Receiver,
    service: Service,
    work: Workload,
    *,
    rates: list[float],
    seconds: float,
    limit: float,
) -> dict[str, float]:
    """Single POSTs on a fixed schedule at each rate in turn (one endpoint, one service); each
    rate's deliveries have all arrived before the next rate starts."""
    out: dict[str, float] = {}
    connector = aiohttp.TCPConnector(limit=MAX_OUTSTANDING)
    timeout = aiohttp.ClientTimeout(total=30)
    offset = 0
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
        await _add_endpoint(http, service, receiver.url(0))
        for rate in rates:
            events = int(rate * seconds)
            if offset + events > len(work):
                raise BenchError(f"the workload has {len(work)} events, {offset + events} needed")
            bodies = work.bodies[offset : offset + events]
            figures = await _paced_rate(http, receiver, service, bodies, rate, limit)
            out |= {f"r{rate:g}_{k}": v for k, v in figures.items()}
            offset += events
    return out


# -- one run ---------------------------------------------------------------------------------------
def _phase(name: str) -> None:
    print(f"  {name} …", file=sys.stderr, flush=True)


def endpoint_options(args: argparse.Namespace) -> dict[str, Any]:
    return {} if args.max_in_flight is None else {"max_in_flight": args.max_in_flight}


def scanhook_run(
    args: argparse.Namespace, receiver: Receiver, work: Workload, workers: int, prefix: str
) -> dict[str, float]:
    """single, batch and paced, each on a fresh service (processes and database)."""
    out: dict[str, float] = {}
    for phase, batch_size in (("single", 0), ("batch", args.batch_size)):
        _phase(f"{prefix}{phase}: {args.events:,} events")
        with (
            tempfile.TemporaryDirectory(prefix="scanhook-frontdoor-") as tmp,
            Service(Path(tmp), args.postgres, workers, endpoint_options(args)).running() as service,
            profiling(service, args.profile, f"{prefix}{phase}", args.profile_gil),
        ):
            figures = run_on_loop(
                throughput(
                    receiver,
                    service,
                    work,
                    events=args.events,
                    clients=args.clients,
                    batch_size=batch_size,
                    limit=args.limit,
                ),
                args.loop,
            )
        out |= {f"{prefix}{phase}_{k}": v for k, v in figures.items()}
    if args.rates:
        _phase(f"{prefix}paced: {', '.join(f'{r:g}' for r in args.rates)}/s × {args.seconds:g} s")
        with (
            tempfile.TemporaryDirectory(prefix="scanhook-frontdoor-") as tmp,
            Service(Path(tmp), args.postgres, workers, endpoint_options(args)).running() as service,
        ):
            figures = run_on_loop(
                paced(
                    receiver,
                    service,
                    work,
                    rates=args.rates,
                    seconds=args.seconds,
                    limit=args.limit,
                ),
                args.loop,
            )
        out |= {f"{prefix}{k}": v for k, v in figures.items()}
    return out


def one_run(args: argparse.Namespace, receiver: Receiver, work: Workload) -> dict[str, float]:
    out: dict[str, float] = {"load_1m": os.getloadavg()[0]}
    if not args.no_baselines:
        _phase(f"naive: {args.naive_events:,} requests")
        out["naive_rate"] = naive(receiver, work, args.naive_events).rate
        _phase(f"session: {args.naive_events:,} requests")
        out["session_rate"] = session_loop(receiver, work, args.naive_events).rate
        _phase(f"ceiling: {args.events:,} requests, {args.concurrency} in flight")
        cpu_before = receiver.cpu_seconds()
        result = ceiling(receiver, work, args.events, args.concurrency, loop=args.loop)
        out["ceiling_rate"] = result.rate
        out["ceiling_receiver_cpu_us"] = 1e6 * (receiver.cpu_seconds() - cpu_before) / args.events
    if args.postgres is None:
        out |= scanhook_run(args, receiver, work, 0, "")
    else:
        for workers in args.workers:
            out |= scanhook_run(args, receiver, work, workers, f"w{workers}_")
    return out


# -- the table -------------------------------------------------------------------------------------
def _values(runs: list[dict[str, float]], key: str) -> list[float]:
    return [run[key] for run in runs if key in run]


def _cell(runs: list[dict[str, float]], key: str, fmt: str, unit: str = "") -> tuple[str, str]:
    values = _values(runs, key)
    if not values:
        return "–", ""
    median = format(statistics.median(values), fmt) + unit
    if len(values) < 2:
        return median, ""
    return median, " / ".join(format(v, fmt) for v in values)


def _ratio(runs: list[dict[str, float]], top: str, bottom: str) -> float | None:
    """The median over runs of top ÷ bottom, each pair measured in the same run (same load)."""
    pairs = [run[top] / run[bottom] for run in runs if top in run and bottom in run]
    return statistics.median(pairs) if pairs else None


def table(runs: list[dict[str, float]], args: argparse.Namespace) -> str:
    rows: list[tuple[str, str, str, str]] = []

    def row(label: str, key: str, fmt: str, unit: str, note: str = "") -> None:
        if _values(runs, key):
            median, each = _cell(runs, key, fmt, unit)
            rows.append((label, median, each, note))

    def ratios(key: str) -> str:
        parts = []
        for base, name in (("naive_rate", "naive"), ("ceiling_rate", "ceiling")):
            value = _ratio(runs, key, base)
            if value is not None:
                parts.append(f"{value:.2f}× {name}")
        return ", ".join(parts)

    n = args.naive_events
    row(f"naive: `requests.post` per event, no Session ({n:,})", "naive_rate", ",.0f", " /s")
    row(
        f"`requests.Session` loop ({n:,})",
        "session_rate",
        ",.0f",
        " /s",
        ratios("session_rate").split(", ")[0],
    )
    row(
        f"ceiling: aiohttp, {args.concurrency} in flight, no storage ({args.events:,})",
        "ceiling_rate",
        ",.0f",
        " /s",
        ratios("ceiling_rate").split(", ")[0],
    )
    row(
        "receiver (aiohttp app) CPU per request, during the ceiling",
        "ceiling_receiver_cpu_us",
        ",.0f",
        " µs",
    )
    prefixes = [""] if args.postgres is None else [f"w{w}_" for w in args.workers]
    for prefix in prefixes:
        who = "serve"
        if prefix:
            who = f"api + {prefix[1:-1]} worker{'s' if prefix != 'w1_' else ''}"
        for phase, how in (
            ("single", f"single `POST /v1/events`, {args.clients} clients"),
            ("batch", f"`POST /v1/events/batch` of {args.batch_size}"),
        ):
            key = f"{prefix}{phase}"
            row(
                f"{who}: {args.events:,} events via {how}: deliveries/s",
                f"{key}_rate",
                ",.0f",
                " /s",
                ratios(f"{key}_rate"),
            )
            row(f"{who}, {phase}: events accepted/s", f"{key}_accept_rate", ",.0f", " /s")
            row(
                f"{who}, {phase}: one call's time, p50 (p99 in the notes)",
                f"{key}_call_p50",
                ".1f",
                " ms",
                f"p99 {_cell(runs, f'{key}_call_p99', '.1f', ' ms')[0]}",
            )
            cpu_name = "serve" if not prefix else "api"
            row(
                f"{who}, {phase}: {cpu_name} process CPU per event",
                f"{key}_service_cpu_us",
                ",.0f",
                " µs",
            )
            row(
                f"{who}, {phase}: worker processes' CPU per delivery",
                f"{key}_worker_cpu_us",
                ",.0f",
                " µs",
            )
        for rate in args.rates:
            key = f"{prefix}r{rate:g}"
            if not _values(runs, f"{key}_p99"):
                continue
            offered = _cell(runs, f"{key}_offered", ",.0f")[0]
            failed = _cell(runs, f"{key}_failed", ".0f")[0]
            row(
                f"{who}, paced {rate:g}/s × {args.seconds:g} s: accepted/s",
                f"{key}_accepted",
                ",.0f",
                " /s",
                f"offered {offered}/s, {failed} not accepted",
            )
            row(
                f"{who}, paced {rate:g}/s: publish (202) p50 (p99 / max in the notes)",
                f"{key}_call_p50",
                ",.1f",
                " ms",
                f"p99 {_cell(runs, f'{key}_call_p99', ',.1f', ' ms')[0]}, "
                f"max {_cell(runs, f'{key}_call_max', ',.0f', ' ms')[0]}",
            )
            row(
                f"{who}, paced {rate:g}/s: publish→arrival p50 (p99 / max in the notes)",
                f"{key}_p50",
                ",.1f",
                " ms",
                f"p99 {_cell(runs, f'{key}_p99', ',.1f', ' ms')[0]}, "
                f"max {_cell(runs, f'{key}_max', ',.0f', ' ms')[0]}",
            )
    row("load average (1 min) when each run started", "load_1m", ".2f", "")
    header = ("measure", "median", f"each of {len(runs)} runs", "ratio / notes")
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


# -- main ------------------------------------------------------------------------------------------
def _list(kind: type[Any]) -> Any:
    return lambda text: [kind(part) for part in text.split(",") if part.strip()]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=10_000, help="events per throughput phase")
    parser.add_argument("--clients", type=int, default=32, help="concurrent single-POST clients")
    parser.add_argument("--batch-size", type=int, default=500, help="events per batch POST")
    parser.add_argument("--naive-events", type=int, default=3_000, help="naive/Session requests")
    parser.add_argument("--concurrency", type=int, default=64, help="the ceiling's in flight")
    parser.add_argument(
        "--rates", type=_list(float), default=[100.0, 500.0, 1000.0], help="paced rates, /s"
    )
    parser.add_argument("--seconds", type=float, default=5.0, help="seconds per paced rate")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    parser.add_argument("--postgres", help="run `api` + workers on this server (loopback)")
    parser.add_argument("--workers", type=_list(int), default=[1], help="with --postgres: 1,3")
    parser.add_argument("--profile", type=Path, help="py-spy each process into this directory")
    parser.add_argument(
        "--profile-gil", action="store_true", help="py-spy --gil: only the GIL holder's samples"
    )
    parser.add_argument(
        "--max-in-flight",
        type=int,
        help="a diagnostic: the endpoint's max_in_flight (default: not set, the endpoint default)",
    )
    parser.add_argument("--no-baselines", action="store_true")
    parser.add_argument("--limit", type=float, default=300.0, help="seconds any phase may take")
    parser.add_argument(
        "--loop",
        choices=LOOP_CHOICES,
        default="auto",
        help="event loop of this process's clients (the ceiling's and the publishers')",
    )
    parser.add_argument("--json", type=Path, help="also write every run's numbers here")
    args = parser.parse_args(argv)
    if args.quick:
        args.events, args.naive_events, args.batch_size = 300, 100, 100
        args.rates, args.seconds, args.repeat = [100.0], 1.0, 1
        args.workers = args.workers[:1]
    for name in ("events", "clients", "batch_size", "naive_events", "concurrency", "repeat"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.batch_size > 1000:
        parser.error("--batch-size must be at most 1000 (the API's limit)")
    if args.profile is not None and not PY_SPY.exists():
        parser.error(f"--profile needs py-spy at {PY_SPY} (pip install py-spy into the venv)")
    return args


def machine() -> str:
    return (
        f"{os.cpu_count()} CPUs (nproc {len(os.sched_getaffinity(0))}), "
        f"Python {platform.python_version()}, {platform.platform()}, "
        f"load average {os.getloadavg()[0]:.2f}"
    )


def _terminate(signum: int, frame: Any) -> None:
    """SIGTERM as Ctrl-C: inside an event loop the runner cancels its task, outside it a
    KeyboardInterrupt unwinds; either way every context manager stops its processes."""
    signal.raise_signal(signal.SIGINT)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even when started with it ignored
    signal.signal(signal.SIGTERM, _terminate)
    if args.postgres is not None:
        _loopback_only(args.postgres)
        os.environ.setdefault("SCANHOOK_SECRET_KEY", generate_key())
    print(f"machine: {machine()}", file=sys.stderr)
    print(f"client event loop: {loop_name(args.loop)}", file=sys.stderr)
    paced_events = int(sum(args.rates) * args.seconds)
    work = make_workload(max(args.events, args.naive_events, paced_events))
    runs: list[dict[str, float]] = []
    try:
        with Receiver(["app"]) as receiver:
            for index in range(args.repeat):
                print(f"run {index + 1} of {args.repeat}", file=sys.stderr)
                runs.append(one_run(args, receiver, work))
                print(f"  {json.dumps(runs[-1])}", file=sys.stderr)
    except KeyboardInterrupt:
        print("interrupted; every process started here is stopped", file=sys.stderr)
        return 130
    if args.json is not None:
        args.json.write_text(json.dumps({"args": vars(args), "runs": runs}, indent=2, default=str))
    print()
    print(f"machine: {machine()}")
    print(f"command: {' '.join(sys.argv)}")
    print(f"endpoint settings besides the URL: {endpoint_options(args) or 'none (defaults)'}")
    print(table(runs, args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
