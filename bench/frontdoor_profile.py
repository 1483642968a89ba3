"""Summarise py-spy profiles of the service's processes taken by ``frontdoor.py --profile``.

    .venv/bin/python bench/frontdoor.py --profile /tmp/prof --no-baselines --rates ""
    .venv/bin/python bench/frontdoor_profile.py /tmp/prof/single-serve.txt --cpu-us 1500

Each file is py-spy's ``--format raw`` (collapsed stacks, every thread; with ``--gil`` only the
GIL holder's). Prints the share of samples by thread, by part of the service (each sample in the
first part whose marker is in its stack, so the parts add up to 100 %), the functions with the
most samples of their own and inclusive; with ``--cpu-us`` (the process's CPU per event from the
bench's table) each share is also shown as µs per event (a rough split: samples are not CPU).
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

from flame_summary import load, short

#: Parts of a ``serve``/``api``/``worker`` process. Each sample goes to the FIRST part whose
#: marker ("function (file" prefix or a path piece) is anywhere in its stack, so the parts do
#: not overlap and add up to 100 %.
PARTS = (
    ("store: publish transaction (events, deliveries; lane thread)", "publishing.py"),
    ("store: publish, the rest of the lane's group commit", "TransactionalStore.publish"),
    ("store: API token lookup (reader lane)", "tokens.py"),
    ("store: worker's claim/record cycle", "claiming.py"),
    ("store: worker's claim/record cycle", "recording.py"),
    ("store: lane threads, other (commit, hand-off, waiting)", "lane.py"),
    ("worker: one attempt (HTTP client, signing, deadline)", "Worker._attempt ("),
    ("worker: claim loop, flusher, other", "scanhook/delivery/worker.py"),
    ("API: h11 HTTP/1.1 parser and writer (pure Python)", "h11/"),
    ("API handler: validation (Hub.to_notification, pydantic)", "to_notification ("),
    ("API handler: Hub._new_event (routing, ids, encoding)", "_new_event ("),
    ("API handler: json.loads of the body", "loads (json/"),
    ("API: auth dependency (besides the store lookup)", "require_token ("),
    ("API handler: the rest (awaiting the store, the response model)", "scanhook/api/routes/"),
    ("API: FastAPI request/response handling (dependencies, body, serialisation)", "fastapi/"),
    ("API: Starlette routing and middleware", "starlette/"),
    ("API: scanhook's middleware (limits, metrics, errors)", "scanhook/api/"),
    ("API: uvicorn protocol and request cycle", "uvicorn/"),
    ("aiohttp (client side, outside an attempt's frame)", "aiohttp/"),
    ("logging (structlog)", "structlog/"),
    ("asyncio machinery", "asyncio/"),
)


def part_of(frames: list[str]) -> str:
    for label, marker in PARTS:
        if any(marker in frame for frame in frames):
            return label
    return "other (event loop's C code, start-up, GC)"


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

        parts: Counter[str] = Counter()
        for _, frames, count in samples:
            parts[part_of(frames)] += count
        print("\n## parts (each sample in one part)")
        for label, count in parts.most_common():
            print(line(label, count / total))
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
