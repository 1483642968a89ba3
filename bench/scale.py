"""scanhook on PostgreSQL with several worker processes (issue 5, item 5).

    .venv/bin/python bench/scale.py                    # everything, 3 repeats (≈ 6–8 min)
    .venv/bin/python bench/scale.py --quick            # small sizes, 1 repeat (≈ 1 min)
    .venv/bin/python bench/scale.py --skip-backlog     # only the 1/2/4-worker scaling

Two measurements, both against one receiver process (``receiver.py``) on 127.0.0.1 and a
PostgreSQL server on loopback (``--postgres``, default ``SCANHOOK_TEST_POSTGRES_URL`` or
``postgresql://postgres@127.0.0.1:5432/test``; each measurement makes its own database and
drops it afterwards):

* **scaling**: ``--events`` events published (untimed) to ``--endpoints`` endpoints (one
  receiver listener each, ``max_in_flight=64``), then 1, 2 and 4 ``scanhook worker`` processes
  deliver them. Timed from the first to the last arrival at the receiver; then every delivery
  must be recorded ``succeeded`` and the receiver must hold every ``webhook-id``, or the run
  fails. The naive baseline (``requests.post`` per event, no Session) runs in the same repeat.
* **backlog**: ``--backlog`` due deliveries (default 1,000,000, each with its own event)
  bulk-inserted with ``INSERT … SELECT generate_series`` (not through publish), analysed; then
  the store's claim (batches of 100, each recorded as delivered before the next) is timed
  against that backlog and against one of ``--small-backlog`` (10,000); then one real
  ``scanhook worker`` delivers from each backlog for ``--rss-seconds`` while its RSS is
  sampled from ``/proc``.

Prints a Markdown table of medians (with min–max over the repeats) on stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from baselines import naive
from receiver import Receiver
from scanhook import Hub
from scanhook.notifications import encode
from scanhook.store import open_store
from scanhook.store.secretbox import generate_key
from scenarios import succeeded
from workload import make_workload

WORKER_COUNTS = (1, 2, 4)
MAX_IN_FLIGHT = 64
PUBLISH_BATCH = 500
SCANHOOK = str(Path(sys.executable).with_name("scanhook"))


# -- databases ---------------------------------------------------------------------------------
def _loopback_only(url: str) -> None:
    host = make_url(url).host or "localhost"
    if host != "localhost" and not ipaddress.ip_address(host).is_loopback:
        sys.exit(f"--postgres must be on loopback (127.0.0.1, ::1 or localhost), not {host}")


def _engine(url: str, **options: Any) -> Any:
    return create_engine(
        make_url(url).set(drivername="postgresql+psycopg"), poolclass=NullPool, **options
    )


def new_database(server: str) -> str:
    name = f"scanhook_bench_{uuid.uuid4().hex[:10]}"
    admin = _engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(server).set(database=name).render_as_string(hide_password=False)


def drop_database(server: str, url: str) -> None:
    admin = _engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    admin.dispose()


# -- worker processes --------------------------------------------------------------------------
def start_workers(count: int, url: str, logs: Path) -> list[subprocess.Popen[bytes]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCANHOOK_")}
    env |= {
        "SCANHOOK_DATABASE_URL": url,
        "SCANHOOK_SECRET_KEY": os.environ["SCANHOOK_SECRET_KEY"],
        "SCANHOOK_ALLOW_PRIVATE_NETWORKS": "true",
        "SCANHOOK_LOG_LEVEL": "warning",
        "NO_COLOR": "1",
    }
    processes = []
    for n in range(count):
        with (logs / f"worker-{n}.log").open("ab") as log:
            processes.append(
                subprocess.Popen([SCANHOOK, "worker"], env=env, stdout=log, stderr=log)
            )
    return processes


def stop_workers(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def rss_mib(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


# -- scaling -----------------------------------------------------------------------------------
async def _publish(url: str, receiver: Receiver, endpoints: int, work: Any) -> None:
    async with Hub.open(url, allow_private_networks=True) as hub:
        for listener in range(endpoints):
            await hub.add_endpoint(receiver.url(listener), max_in_flight=MAX_IN_FLIGHT)
        for start in range(0, len(work), PUBLISH_BATCH):
            await hub.publish_batch(work.notifications[start : start + PUBLISH_BATCH])


async def _succeeded(url: str) -> int:
    store = open_store(url)
    try:
        stats = await store.stats(time.time())
    finally:
        await store.close()
    deliveries = stats["deliveries"]
    assert isinstance(deliveries, dict)
    return int(deliveries["succeeded"])


def scaling_run(
    server: str, receiver: Receiver, work: Any, endpoints: int, workers: int, logs: Path
) -> dict[str, float]:
    url = new_database(server)
    processes: list[subprocess.Popen[bytes]] = []
    try:
        asyncio.run(_publish(url, receiver, endpoints, work))
        receiver.reset()
        total = len(work) * endpoints
        processes = start_workers(workers, url, logs)
        peak_rss = 0.0
        deadline = time.monotonic() + 300
        while True:
            listeners = receiver.stats()[:endpoints]
            if sum(s["unique"] for s in listeners) >= total:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"{workers} workers: not done after 300 s")
            if any(p.poll() is not None for p in processes):
                raise RuntimeError(f"{workers} workers: a worker exited; see {logs}")
            peak_rss = max([peak_rss, *(rss_mib(p.pid) or 0.0 for p in processes)])
            time.sleep(0.2)
        first = min(s["first"] for s in listeners)
        last = max(s["last"] for s in listeners)
        while asyncio.run(_succeeded(url)) < total:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{workers} workers: not all recorded after 300 s")
            time.sleep(0.2)
        duplicates = sum(s["duplicates"] for s in listeners)
        return {
            f"w{workers}_rate": total / (last - first),
            f"w{workers}_rss": peak_rss,
            f"w{workers}_dups": float(duplicates),
        }
    finally:
        stop_workers(processes)
        drop_database(server, url)


# -- backlog -----------------------------------------------------------------------------------
def fill_backlog(url: str, endpoint_id: str, count: int, body: bytes) -> float:
    """``count`` events with one due delivery each, in two ``INSERT … SELECT``; seconds taken."""
    started = time.perf_counter()
    now = time.time()
    with _engine(url).begin() as c:
        c.execute(
            text(
                "INSERT INTO events (id, type, body, created_at) "
                "SELECT 'evt_bench' || lpad(i::text, 9, '0'), 'ticket.opened', :body, :now "
                "FROM generate_series(1, :n) AS i"
            ),
            {"body": body, "now": now, "n": count},
        )
        c.execute(
            text(
                "INSERT INTO deliveries (id, event_id, endpoint_id, event_type, status, attempts,"
                " next_attempt_at, created_at, updated_at, publish_seq) "
                "SELECT 'dlv_bench' || lpad(i::text, 9, '0'), 'evt_bench' || lpad(i::text, 9, '0'),"
                " :ep, 'ticket.opened', 'pending', 0, :now - 1, :now, :now, i "
                "FROM generate_series(1, :n) AS i"
            ),
            {"ep": endpoint_id, "now": now, "n": count},
        )
        c.execute(text("UPDATE sequences SET value = :n WHERE name = 'publish_seq'"), {"n": count})
    with _engine(url, isolation_level="AUTOCOMMIT").connect() as c:
        c.execute(text("VACUUM ANALYZE events"))
        c.execute(text("VACUUM ANALYZE deliveries"))
    return time.perf_counter() - started


async def _endpoint(url: str, receiver_url: str) -> str:
    async with Hub.open(url, allow_private_networks=True) as hub:
        endpoint = await hub.add_endpoint(receiver_url, max_in_flight=1000)
        return endpoint.id


async def claim_latencies(url: str, claims: int) -> list[float]:
    """Milliseconds of ``claims`` claims of 100, each batch recorded delivered before the next."""
    store = open_store(url)
    timings: list[float] = []
    try:
        for _ in range(claims):
            started = time.perf_counter()
            claimed = await store.claim("bench", time.time(), 60.0, 100)
            timings.append((time.perf_counter() - started) * 1000)
            if len(claimed) != 100:
                raise RuntimeError(f"claim returned {len(claimed)} deliveries, not 100")
            now = time.time()
            await store.record([succeeded(d, now) for d in claimed])
    finally:
        await store.close()
    return timings


def worker_rss(url: str, receiver: Receiver, seconds: float, logs: Path) -> dict[str, float]:
    """One worker on the backlog for ``seconds``: RSS after 2 s, at most, at the end; rate."""
    receiver.reset()
    (process,) = start_workers(1, url, logs)
    samples: list[tuple[float, float]] = []
    started = time.monotonic()
    try:
        while (elapsed := time.monotonic() - started) < seconds:
            if process.poll() is not None:
                raise RuntimeError(f"the worker exited; see {logs}")
            rss = rss_mib(process.pid)
            if rss is not None:
                samples.append((elapsed, rss))
            time.sleep(0.25)
        delivered = receiver.stats()[0]["unique"]
    finally:
        stop_workers([process])
    after_2s = next((rss for at, rss in samples if at >= 2.0), samples[-1][1])
    return {
        "rss_2s": after_2s,
        "rss_max": max(rss for _, rss in samples),
        "rss_end": samples[-1][1],
        "rate": delivered / seconds,
    }


def backlog_run(
    server: str, receiver: Receiver, size: int, claims: int, seconds: float, logs: Path
) -> dict[str, float]:
    url = new_database(server)
    body = encode(make_workload(1).notifications[0])
    try:
        endpoint_id = asyncio.run(_endpoint(url, receiver.url(0)))
        filled = fill_backlog(url, endpoint_id, size, body)
        timings = asyncio.run(claim_latencies(url, claims))
        rss = worker_rss(url, receiver, seconds, logs)
        return {
            "fill_s": filled,
            "claim_median": statistics.median(timings),
            "claim_p95": statistics.quantiles(timings, n=20)[-1],
            **{f"worker_{k}": v for k, v in rss.items()},
        }
    finally:
        drop_database(server, url)


# -- report ------------------------------------------------------------------------------------
def _cell(values: list[float], fmt: str) -> tuple[str, str]:
    if not values:
        return "–", "–"
    median = format(statistics.median(values), fmt)
    spread = f"{format(min(values), fmt)}–{format(max(values), fmt)}"
    return median, spread


def report(runs: list[dict[str, float]], args: argparse.Namespace) -> str:
    def values(key: str) -> list[float]:
        return [run[key] for run in runs if key in run]

    total = args.events * args.endpoints
    lines = [
        f"| measure | median | range of {len(runs)} | notes |",
        "|---|---|---|---|",
    ]
    naive_rate, naive_spread = _cell(values("naive_rate"), ",.0f")
    lines.append(
        f"| naive: `requests.post` per event, no Session ({args.naive_events} events) "
        f"| {naive_rate} /s | {naive_spread} | 1.0× naive |"
    )
    base = statistics.median(values("naive_rate")) if values("naive_rate") else None
    one = statistics.median(values("w1_rate")) if values("w1_rate") else None
    for workers in args.workers:
        rate, spread = _cell(values(f"w{workers}_rate"), ",.0f")
        rss, _ = _cell(values(f"w{workers}_rss"), ".0f")
        ratios = []
        if base and values(f"w{workers}_rate"):
            ratios.append(f"{statistics.median(values(f'w{workers}_rate')) / base:.1f}× naive")
        if one and values(f"w{workers}_rate"):
            ratios.append(f"{statistics.median(values(f'w{workers}_rate')) / one:.2f}× 1 worker")
        lines.append(
            f"| {workers} worker process{'es' if workers > 1 else ''}, {total:,} deliveries "
            f"({args.endpoints} endpoints), deliveries/s | {rate} /s | {spread} "
            f"| {', '.join(ratios)}; peak RSS per worker {rss} MiB |"
        )
    for key in ("s", "l"):
        size = args.small_backlog if key == "s" else args.backlog
        if not values(f"{key}_claim_median"):
            continue
        claim, claim_spread = _cell(values(f"{key}_claim_median"), ".1f")
        p95, _ = _cell(values(f"{key}_claim_p95"), ".1f")
        lines.append(
            f"| backlog {size:,} due: claim of 100, ms (median; p95 {p95}) "
            f"| {claim} ms | {claim_spread} | |"
        )
        for name, unit in (
            ("rss_2s", "worker RSS after 2 s, MiB"),
            ("rss_max", f"worker RSS, most in {args.rss_seconds:g} s, MiB"),
            ("rss_end", f"worker RSS after {args.rss_seconds:g} s, MiB"),
            ("rate", f"worker deliveries/s over its first {args.rss_seconds:g} s (with start-up)"),
        ):
            if name == "rate" and key == "s":
                continue  # the small backlog runs dry within the window: no rate to compare
            median, spread = _cell(values(f"{key}_worker_{name}"), ",.0f")
            lines.append(f"| backlog {size:,}: {unit} | {median} | {spread} | |")
        median, spread = _cell(values(f"{key}_fill_s"), ".1f")
        lines.append(f"| backlog {size:,}: bulk insert + analyse, s | {median} s | {spread} | |")
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    default_pg = os.environ.get(
        "SCANHOOK_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
    )
    parser.add_argument("--postgres", default=default_pg, help="a server on loopback")
    parser.add_argument("--events", type=int, default=2500, help="events per scaling run")
    parser.add_argument("--endpoints", type=int, default=4, help="endpoints per scaling run")
    parser.add_argument("--naive-events", type=int, default=1000)
    parser.add_argument(
        "--workers", type=lambda s: [int(x) for x in s.split(",")], default=list(WORKER_COUNTS)
    )
    parser.add_argument("--backlog", type=int, default=1_000_000)
    parser.add_argument("--small-backlog", type=int, default=10_000)
    parser.add_argument("--claims", type=int, default=50, help="claims timed per backlog")
    parser.add_argument("--rss-seconds", type=float, default=15.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-backlog", action="store_true")
    parser.add_argument("--quick", action="store_true", help="small sizes, one repeat")
    args = parser.parse_args(argv)
    if args.quick:
        args.events, args.naive_events, args.repeat = 500, 300, 1
        args.backlog, args.small_backlog, args.claims, args.rss_seconds = 50_000, 10_000, 20, 5.0
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    _loopback_only(args.postgres)
    # PostgreSQL needs the key that seals endpoint secrets; the bench's processes share one.
    os.environ.setdefault("SCANHOOK_SECRET_KEY", generate_key())
    work = make_workload(max(args.events, args.naive_events))
    scaling_work = make_workload(args.events)
    load = os.getloadavg()[0]
    print(
        f"machine: {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"{platform.platform()}, load {load:.2f}",
        file=sys.stderr,
    )
    runs: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory() as tmp, Receiver(["healthy"] * args.endpoints) as receiver:
        logs = Path(tmp)
        for index in range(args.repeat):
            run: dict[str, float] = {"load_1m": os.getloadavg()[0]}
            print(f"run {index + 1} of {args.repeat}: naive", file=sys.stderr)
            result = naive(receiver, work, args.naive_events)
            run["naive_rate"] = result.rate
            for workers in args.workers:
                print(f"run {index + 1}: {workers} worker(s)", file=sys.stderr)
                run |= scaling_run(
                    args.postgres, receiver, scaling_work, args.endpoints, workers, logs
                )
            if not args.skip_backlog:
                for key, size in (("s", args.small_backlog), ("l", args.backlog)):
                    print(f"run {index + 1}: backlog of {size:,}", file=sys.stderr)
                    figures = backlog_run(
                        args.postgres, receiver, size, args.claims, args.rss_seconds, logs
                    )
                    run |= {f"{key}_{k}": v for k, v in figures.items()}
            print(f"run {index + 1}: {run}", file=sys.stderr)
            runs.append(run)
    print(report(runs, args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
