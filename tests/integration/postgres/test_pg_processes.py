"""Three worker processes claiming from one database: every delivery is held by one process
at a time (here: exactly once, as every attempt succeeds), and max_in_flight and order hold
across the processes together."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import pytest
from storekit import new_event

from scanhook.store import Endpoint, open_store

pytestmark = pytest.mark.postgres

CLAIMER = Path(__file__).with_name("claimer.py")


def max_overlap(intervals: list[tuple[float, float]]) -> int:
    points = sorted([(a, 1) for a, _ in intervals] + [(b, -1) for _, b in intervals])
    peak = now = 0
    for _, step in points:
        now += step
        peak = max(peak, now)
    return peak


async def test_three_processes_share_the_work_without_overlap(pg_url: str, tmp_path: Path) -> None:
    store = open_store(pg_url)
    try:
        await store.create_endpoint(
            Endpoint(id="ep_narrow", url="https://r.example/a", max_in_flight=2)
        )
        await store.create_endpoint(
            Endpoint(id="ep_ordered", url="https://r.example/b", ordered=True)
        )
        await store.create_endpoint(Endpoint(id="ep_wide", url="https://r.example/c"))
        events = [new_event(at=time.time()) for _ in range(30)]
        await store.publish(events)
    finally:
        await store.close()

    logs = [tmp_path / f"w{i}.log" for i in range(3)]
    for log in logs:
        log.touch()
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable, str(CLAIMER), pg_url, f"w{i}", str(log), stderr=subprocess.PIPE
        )
        for i, log in enumerate(logs)
    ]
    async with asyncio.timeout(180):
        errors = [(await p.communicate())[1].decode() for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], errors

    held: dict[str, list[tuple[str, float, float]]] = defaultdict(list)
    by_endpoint: dict[str, list[tuple[float, float]]] = defaultdict(list)
    ordered: list[tuple[float, str]] = []
    per_process = []
    for i, log in enumerate(logs):
        lines = log.read_text().splitlines()
        per_process.append(len(lines))
        for line in lines:
            delivery, endpoint, event, start, end = line.split()
            held[delivery].append((f"w{i}", float(start), float(end)))
            by_endpoint[endpoint].append((float(start), float(end)))
            if endpoint == "ep_ordered":
                ordered.append((float(start), event))
    assert len(held) == 3 * len(events)
    assert {d: h for d, h in held.items() if len(h) > 1} == {}
    assert max_overlap(by_endpoint["ep_narrow"]) <= 2
    assert max_overlap(by_endpoint["ep_ordered"]) == 1
    assert [event for _, event in sorted(ordered)] == [e.id for e in events]
    # The work was shared: more than one process delivered.
    assert sum(1 for n in per_process if n > 0) >= 2, per_process
