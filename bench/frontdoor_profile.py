"""Summarise py-spy profiles of the service's processes taken by ``frontdoor.py --profile``.

    .venv/bin/python bench/frontdoor.py --profile /tmp/prof --no-baselines --rates ""
    .venv/bin/python bench/frontdoor_profile.py /tmp/prof/single-serve.txt --events 10000

Each file is py-spy's ``--format raw`` (collapsed stacks, CPU-active samples only, every
thread). Prints the share of samples in named parts of the service (inclusive: a sample counts
for every part whose marker is in its stack, so the parts overlap), the functions with the most
samples of their own, and, with ``--events`` and ``--cpu-us`` (the process's CPU per event from
the bench's table), each part's share converted to µs per event.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

from flame_summary import load, short

#: Parts of a ``serve``/``api``/``worker`` process, by a marker in the stack ("function (file"
#: prefixes or file names). Indented ones are inside the one above them.
PARTS = {
    "API: uvicorn + h11 (HTTP/1.1 parsing, the request cycle)": "uvicorn/protocols/http/",
    "  h11 itself (pure-Python HTTP parser and writer)": "h11/",
    "  Starlette/FastAPI app (middleware, routing, the endpoint)": "starlette/",
    "    FastAPI: dependencies, body and response handling": "fastapi/",
    "    auth: require_token (token lookup in the store)": "require_token (",
    "    POST /v1/events handler (publish)": "publish (scanhook/api/routes/events.py",
    "    POST /v1/events/batch handler": "publish_batch (scanhook/api/routes/events.py",
    "      Hub.to_notification (validation)": "to_notification (",
    "      pydantic validation (anywhere)": "validate_python (",
    "      Hub._new_event (routing, ids, encoding)": "_new_event (",
    "      store publish (transaction)": "publishing.py",
    "    FastAPI response serialisation": "serialize_response (",
    "  scanhook API middleware (limits, metrics, errors)": "scanhook/api/",
    "worker: Worker._attempt (one attempt, all of it)": "Worker._attempt (",
    "  aiohttp client request": "ClientSession._request (",
    "  signing + headers: build_headers": "build_headers (",
    "worker: claim/record cycle (Worker._claim_loop)": "Worker._claim_loop (",
    "worker: flusher (Worker._flush_loop)": "Worker._flush_loop (",
    "store: SQLAlchemy execute": "Connection.execute (sqlalchemy",
    "store: commit (fsync)": "do_commit (",
    "store: claim (claiming.py)": "claiming.py",
    "store: record (recording.py)": "recording.py",
    "store: PostgreSQL driver (psycopg)": "psycopg/",
    "store: lane threads (lane.py)": "lane.py",
    "asyncio/uvloop: select, epoll wait": "select (",
    "logging (structlog)": "structlog/",
    "metrics (prometheus_client)": "prometheus_client/",
    "garbage collection": "<gc>",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("profile", type=Path, nargs="+")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--cpu-us", type=float, help="the process's CPU per event (µs)")
    args = parser.parse_args(argv)
    for path in args.profile:
        samples = load(path)
        total = sum(count for _, _, count in samples)
        print(f"# {path.name}: {total} samples")
        if not total:
            continue
        threads: Counter[str] = Counter()
        for thread, _, count in samples:
            threads[thread.split(" ")[0] if "(" not in thread else thread] += count
        print("\n## by thread")
        for name, count in threads.most_common(8):
            print(f"{count / total:6.1%}  {name}")

        def line(label: str, share: float) -> str:
            cost = f"  ≈ {share * args.cpu_us:,.0f} µs/event" if args.cpu_us else ""
            return f"{share:6.1%}{cost}  {label}"

        print("\n## parts (inclusive)")
        for label, marker in PARTS.items():
            hits = sum(count for _, frames, count in samples if any(marker in f for f in frames))
            if hits:
                print(line(label, hits / total))
        own: Counter[str] = Counter()
        inclusive: Counter[str] = Counter()
        for _, frames, count in samples:
            own[short(frames[-1])] += count
            for name in {short(f) for f in frames}:
                inclusive[name] += count
        print(f"\n## top {args.top} functions by own samples")
        for name, count in own.most_common(args.top):
            print(line(name, count / total))
        print(f"\n## top {args.top} functions inclusive (after the 8 outermost)")
        for name, count in inclusive.most_common(args.top + 8)[8:]:
            print(line(name, count / total))
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
