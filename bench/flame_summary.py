"""Summarise a py-spy ``--format raw`` profile (collapsed stacks) of ``bench/run.py``.

    uv tool run py-spy record --threads --rate 250 --format raw -o /tmp/a.txt -- \\
        .venv/bin/python bench/run.py --scenario a --no-baselines --repeat 1
    .venv/bin/python bench/flame_summary.py /tmp/a.txt

Prints where the samples went: by thread and phase, the share of the delivery phase spent in
named parts of the engine (inclusive), and the functions with the most samples of their own.
py-spy samples running threads only (no ``--idle``), so shares are of CPU-active samples.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from pathlib import Path

#: Inclusive buckets of the delivery phase: a sample counts for every bucket whose marker is
#: in its stack (so they overlap); the markers are "function (file" prefixes.
BUCKETS = {
    "worker: Worker._attempt (one attempt, all of it)": "Worker._attempt (",
    "  http: HttpClient.send": "HttpClient.send (",
    "  aiohttp ClientSession._request": "ClientSession._request (",
    "  signing + headers: build_headers": "build_headers (",
    "  Worker._decide": "Worker._decide (",
    "worker: claim loop (Worker._claim_loop)": "Worker._claim_loop (",
    "worker: flusher (Worker._flush_loop)": "Worker._flush_loop (",
    "asyncio loop: select/epoll": "EpollSelector.select (",
    "asyncio: inside callbacks and tasks (Handle._run)": "Handle._run (",
    "store thread: claim transaction": "claiming.py",
    "store thread: record transaction": "recording.py",
    "store thread: publish transaction": "publishing.py",
    "store thread: SQLAlchemy execute": "Connection.execute (sqlalchemy",
    "store thread: sqlite3 (driver calls)": "do_execute (sqlalchemy",
    "store thread: commit": "do_commit (",
    "store thread: row decoding (codec)": "codec.py",
}

_FRAME = re.compile(r"^(?P<func>.+?) \((?P<where>[^()]*)\)$")


def load(path: Path) -> list[tuple[str, list[str], int]]:
    samples = []
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue  # py-spy --nonblocking can leave a torn line
        thread, _, frames = stack.partition(";")
        samples.append((thread, frames.split(";"), int(count)))
    return samples


#: Not the delivery phase: start-up, imports, opening the store, publishing, the checks after.
_NOT_DELIVERY = (
    "_find_and_load",
    "make_workload",
    "fresh_hub",
    "Hub.open",
    "upgrade",
    "_publish_all",
    "publishing.py",
    "_check_all_succeeded",
    "_check_receiver",
    "operating.py",
    "Receiver.",
)
#: Store-thread frames that belong to the delivery phase.
_DELIVERY_STORE = ("claiming.py", "recording.py", "next_due_at", "lane.py")


def phase(thread: str, frames: list[str]) -> str:
    """Which part of the run a sample belongs to."""
    text = ";".join(frames)
    if frames[-1].startswith("_worker (concurrent/futures/thread.py:81"):
        return "store threads waiting for work (not CPU)"
    if any(marker in text for marker in _NOT_DELIVERY):
        return "setup, publish, checks"
    if "sqlite-writer" in thread or "sqlite-reader" in thread:
        if any(marker in text for marker in _DELIVERY_STORE):
            return "delivery: store threads"
        return "store threads, other"
    # uvloop's run_forever is C, so its tasks sit right under asyncio's Runner.run.
    event_loop = ("throughput", "run_forever", "Runner.run")
    if "MainThread" in thread and any(marker in text for marker in event_loop):
        return "delivery: main thread (event loop)"
    return "other"


def short(frame: str) -> str:
    match = _FRAME.match(frame)
    if match is None:
        return frame
    where = match["where"]
    where = where.split("site-packages/")[-1].split("python3.11/")[-1]
    return f"{match['func']} ({where})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("profile", type=Path)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args(argv)
    samples = load(args.profile)
    total = sum(count for _, _, count in samples)
    if not total:
        print("no samples", file=sys.stderr)
        return 1

    phases: Counter[str] = Counter()
    for thread, frames, count in samples:
        phases[phase(thread, frames)] += count
    print(f"{total} samples in all")
    print("\n## by thread and phase")
    for name, count in phases.most_common():
        print(f"{count / total:6.1%}  {name}")

    # The delivery phase: everything but setup and the publishing before the workers start.
    delivery = [
        (thread, frames, count)
        for thread, frames, count in samples
        if phase(thread, frames).startswith("delivery")
    ]
    delivery_total = sum(count for _, _, count in delivery)
    print(f"\n## delivery phase ({delivery_total} samples, main thread and store threads)")
    for label, marker in BUCKETS.items():
        hits = sum(count for _, frames, count in delivery if any(marker in f for f in frames))
        print(f"{hits / delivery_total:6.1%}  {label}")

    own: Counter[str] = Counter()
    for _, frames, count in delivery:
        own[short(frames[-1])] += count
    print(f"\n## delivery phase, top {args.top} functions by own samples")
    for name, count in own.most_common(args.top):
        print(f"{count / delivery_total:6.1%}  {name}")

    inclusive: Counter[str] = Counter()
    for _, frames, count in delivery:
        for name in {short(f) for f in frames}:
            inclusive[name] += count
    print(f"\n## delivery phase, top {args.top} functions inclusive")
    for name, count in inclusive.most_common(args.top + 10)[10:]:
        print(f"{count / delivery_total:6.1%}  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
