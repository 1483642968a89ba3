"""What rendering a ``template`` endpoint's body costs per delivery: in the scanhook process (the
sandbox alone, as before the render pool) versus in a render process of the pool, as the engine
does it now (on a render thread, ``render_pool.off_loop``), one at a time and 16 at a time.

    .venv/bin/python bench/render.py                # 5 repeats of 2,000 renders each
    .venv/bin/python bench/render.py --repeat 3 --renders 500

Prints the median of the repeats per way, in microseconds per render, each way's ratio to the
in-process render, and the event loop's longest stall. Numbers: bench/README.md ("Template
renders").
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import UTC
from typing import Any

from scanhook.formats.render_pool import RenderPool, off_loop
from scanhook.formats.template import _SAMPLES, _variables
from scanhook.formats.template_sandbox import render_template
from scanhook.notifications import parse

#: The golden-file template of tests/unit/formats/test_format_golden.py: JSON of a few fields.
TEMPLATE = (
    '{"kind": {{ event_type | tojson }}, "id": {{ event_id | tojson }}, '
    '"at": {{ event_time | tojson }}, '
    '"what": {{ (ticket.vulnerability_name if ticket else notification.name) | tojson }}, '
    '"fields": {{ notification | dictsort | map("first") | list | tojson }}}'
)
MAX_BYTES = 65_536
CONCURRENCY = 16


def variables() -> dict[str, Any]:
    notification = parse(_SAMPLES["ticket.opened"])
    return _variables(
        notification, "ticket.opened", "evt_01JNQ8Z3S2C9M6V1T0K4R7B5XC", "2026-03-02T11:05:00Z", UTC
    )


async def sequential(render: Callable[[], Awaitable[bytes]], renders: int) -> float:
    started = time.perf_counter()
    for _ in range(renders):
        await render()
    return (time.perf_counter() - started) / renders


async def concurrent(render: Callable[[], Awaitable[bytes]], renders: int) -> tuple[float, float]:
    """Seconds per render, and the event loop's longest stall meanwhile (how late a 1 ms timer
    fired: what every other delivery, /healthz and the API waited)."""
    started = time.perf_counter()
    remaining = renders
    stalls: list[float] = [0.0]
    done = asyncio.Event()

    async def lane() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            await render()

    async def watch() -> None:
        while not done.is_set():
            before = time.perf_counter()
            await asyncio.sleep(0.001)
            stalls.append(time.perf_counter() - before - 0.001)

    watcher = asyncio.create_task(watch())
    await asyncio.sleep(0)
    await asyncio.gather(*(lane() for _ in range(CONCURRENCY)))
    elapsed = time.perf_counter() - started
    done.set()
    await watcher
    return elapsed / renders, max(stalls)


async def measure(renders: int, pool: RenderPool) -> dict[str, float]:
    values = variables()

    async def in_process() -> bytes:
        return render_template(TEMPLATE, values, MAX_BYTES)

    async def pooled() -> bytes:
        return await off_loop(pool.render, TEMPLATE, values, MAX_BYTES)

    await pooled()  # the render processes have started and compiled the template
    results = {
        "in-process, one at a time": await sequential(in_process, renders),
        "pool, one at a time": await sequential(pooled, renders),
    }
    for way, render in (("in-process", in_process), ("pool", pooled)):
        per_render, stall = await concurrent(render, renders)
        results[f"{way}, {CONCURRENCY} at a time"] = per_render
        results[f"{way}, longest stall"] = stall
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--renders", type=int, default=2000)
    options = parser.parse_args()
    pool = RenderPool()
    runs: list[dict[str, float]] = []
    try:
        for _ in range(options.repeat):
            runs.append(asyncio.run(measure(options.renders, pool)))
    finally:
        pool.close()
    medians = {name: statistics.median(run[name] for run in runs) for name in runs[0]}
    print(f"{options.repeat} repeats × {options.renders} renders; median µs per render")
    for one in ("one at a time", f"{CONCURRENCY} at a time"):
        base = medians[f"in-process, {one}"]
        for way in ("in-process", "pool"):
            value = medians[f"{way}, {one}"]
            print(f"  {way + ', ' + one:<28} {value * 1e6:9.1f} µs   × {value / base:5.2f}")
    print(f"event loop's longest stall while {CONCURRENCY} at a time render (median of repeats)")
    for way in ("in-process", "pool"):
        print(f"  {way:<28} {medians[f'{way}, longest stall'] * 1e3:9.1f} ms")


if __name__ == "__main__":
    main()
