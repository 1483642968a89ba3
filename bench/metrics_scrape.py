"""What a ``/metrics`` scrape costs the database at 1 M and 10 M deliveries.

    .venv/bin/python bench/metrics_scrape.py --rows 1000000 --backend sqlite
    .venv/bin/python bench/metrics_scrape.py --rows 10000000 --backend postgres

Fills a fresh database (a SQLite file in a temp dir, or a new PostgreSQL database on loopback,
``--postgres``, dropped afterwards) with ``--rows`` deliveries of one endpoint, bulk-inserted with
one ``INSERT … SELECT`` (not through publish) in a realistic mix for a pruned queue: 97 % succeeded,
2 % failed, the rest pending (due) and a few sending; then analysed. Then times, ``--repeat``
times each (the first one cold):

* ``stats``: :meth:`Store.stats`, the whole-table ``GROUP BY status`` (plus the oldest due
  delivery and the endpoint counts) that every scrape ran before the counts were cached, and
  that ``GET /v1/stats`` still runs; ``/metrics`` now runs it once every ``FINISHED_EVERY``
  readings;
* ``stats of the queue``: ``Store.stats(now, ("pending", "sending"))``, what ``/metrics`` reads
  in the background at most every ``SCANHOOK_METRICS_REFRESH``;
* ``scrape``: a real scrape through the API application's ``/metrics`` route (in process, over
  ASGI), the first of a process (which waits for a full reading) and the next ones (which answer
  from the counts read): what a Prometheus server's scrape costs.

``--keep`` keeps the filled database (and prints its URL), ``--url`` measures such a database
again without filling it (to compare two versions of the code on the same rows).

Prints one JSON line per measure (milliseconds: median, min, max).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from scanhook import Hub
from scanhook.api import create_app
from scanhook.metrics import ACTIVE
from scanhook.store import open_store

#: status by i % 100: 97 succeeded, 2 failed, 1 pending (and 1 in 10,000 sending)
_STATUS_SQL = (
    "CASE WHEN i % 10000 = 0 THEN 'sending' WHEN i % 100 < 97 THEN 'succeeded' "
    "WHEN i % 100 < 99 THEN 'failed' ELSE 'pending' END"
)


def _pg_engine(url: str, **options: Any) -> Any:
    return create_engine(
        make_url(url).set(drivername="postgresql+psycopg"), poolclass=NullPool, **options
    )


async def _endpoint(url: str) -> str:
    async with Hub.open(url, allow_private_networks=True) as hub:
        endpoint = await hub.add_endpoint("http://127.0.0.1:9/", max_in_flight=10)
        return endpoint.id


def fill(url: str, endpoint_id: str, rows: int, postgres: bool) -> float:
    """``rows`` deliveries of one event in one statement, analysed; seconds taken."""
    started = time.perf_counter()
    now = time.time()
    series = (
        "generate_series(1, :n) AS g(i)"
        if postgres
        else "(WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < :n) "
        "SELECT i FROM c)"
    )
    pad = "lpad(i::text, 9, '0')" if postgres else "printf('%09d', i)"
    engine = _pg_engine(url) if postgres else create_engine(url, poolclass=NullPool)
    with engine.begin() as c:
        c.execute(
            text(
                "INSERT INTO events (id, type, body, created_at) "
                "VALUES ('evt_bench', 'ticket.opened', :body, :now)"
            ),
            {"body": b'{"ticket": {}}', "now": now},
        )
        c.execute(
            text(
                "INSERT INTO deliveries (id, event_id, endpoint_id, event_type, status, attempts,"
                " next_attempt_at, created_at, updated_at, publish_seq) "
                f"SELECT 'dlv_bench' || {pad}, 'evt_bench', :ep, 'ticket.opened', "
                f"{_STATUS_SQL}, 1, :now - 1, :now - i, :now, i FROM {series}"
            ),
            {"ep": endpoint_id, "now": now, "n": rows},
        )
    if postgres:
        with _pg_engine(url, isolation_level="AUTOCOMMIT").connect() as c:
            c.execute(text("VACUUM ANALYZE deliveries"))
    else:
        with engine.begin() as c:
            c.execute(text("ANALYZE"))
    engine.dispose()
    return time.perf_counter() - started


def _summary(name: str, timings: list[float], **extra: Any) -> dict[str, Any]:
    return {
        "measure": name,
        "median_ms": round(statistics.median(timings), 2),
        "min_ms": round(min(timings), 2),
        "max_ms": round(max(timings), 2),
        "first_ms": round(timings[0], 2),
        **extra,
    }


async def measure(url: str, repeat: int) -> list[dict[str, Any]]:
    store = open_store(url)
    results: list[dict[str, Any]] = []
    try:
        timings = []
        counts: Any = None
        for _ in range(repeat):
            started = time.perf_counter()
            counts = (await store.stats(time.time()))["deliveries"]
            timings.append((time.perf_counter() - started) * 1000)
        results.append(_summary("stats (GROUP BY over deliveries)", timings, counts=counts))
        timings = []
        for _ in range(repeat):
            started = time.perf_counter()
            counts = (await store.stats(time.time(), ACTIVE))["deliveries"]
            timings.append((time.perf_counter() - started) * 1000)
        results.append(_summary("stats of the queue (pending, sending)", timings, counts=counts))
    finally:
        await store.close()

    token = "metrics-bench-token-0123456789abcdef"
    async with Hub.open(url, api_token=token, allow_private_networks=True) as hub:
        app = create_app(hub)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
            timings = []
            for _ in range(repeat + 1):
                started = time.perf_counter()
                response = await client.get("/metrics")
                timings.append((time.perf_counter() - started) * 1000)
                response.raise_for_status()
            # the first scrape of a process fills the cache; the others read it
            results.append(_summary("scrape /metrics (counts cached)", timings[1:]))
            results.append(_summary("first scrape of a process (fills the cache)", timings[:1]))
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    default_pg = os.environ.get(
        "SCANHOOK_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
    )
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--postgres", default=default_pg, help="a server on loopback")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--url", help="measure this already filled database (no fill, no drop)")
    parser.add_argument("--keep", action="store_true", help="keep the filled database; print it")
    args = parser.parse_args(argv)
    if args.url:
        for result in asyncio.run(measure(args.url, args.repeat)):
            print(json.dumps({"url": args.url, **result}), flush=True)
        return 0

    postgres = args.backend == "postgres"
    tmp = Path(tempfile.mkdtemp(prefix="scanhook-metrics-"))
    if postgres:
        name = f"scanhook_bench_{uuid.uuid4().hex[:10]}"
        with _pg_engine(args.postgres, isolation_level="AUTOCOMMIT").connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(args.postgres).set(database=name).render_as_string(hide_password=False)
    else:
        url = f"sqlite:///{tmp / 'bench.db'}"
    try:
        endpoint_id = asyncio.run(_endpoint(url))
        seconds = fill(url, endpoint_id, args.rows, postgres)
        print(
            json.dumps(
                {"backend": args.backend, "rows": args.rows, "fill_s": round(seconds)}
                | ({"url": url} if args.keep else {})
            ),
            flush=True,
        )
        for result in asyncio.run(measure(url, args.repeat)):
            print(json.dumps({"backend": args.backend, "rows": args.rows, **result}), flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
            if postgres:
                with _pg_engine(args.postgres, isolation_level="AUTOCOMMIT").connect() as c:
                    c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    return 0


if __name__ == "__main__":
    sys.exit(main())
