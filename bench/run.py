"""scanhook's benchmark: run the baselines and scanhook's scenarios against one loopback receiver
process, several times, and print the medians with their ratios and the issue's targets.

    .venv/bin/python bench/run.py                 # everything, 3 repeats
    .venv/bin/python bench/run.py --quick         # smaller, 1 repeat: a smoke run
    .venv/bin/python bench/run.py --scenario a    # only the baselines and scenario (a)

See bench/README.md for what each number means and the latest table.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from baselines import ceiling, naive
from receiver import Receiver
from scanhook.eventloop import LOOP_CHOICES, loop_name
from scanhook.eventloop import run as run_on_loop
from scanhook.gc_tuning import THRESHOLDS, tune_gc
from scenarios import PUBLISH_BATCH, isolation, latency, store_alone, throughput
from workload import make_workload

SCENARIOS = ("naive", "ceiling", "a", "b", "c", "d")
FANOUT_ENDPOINTS = 20
#: Listener layout of the one receiver process: 0…19 healthy (0 is the main one), 20 hangs.
TIMEOUT_LISTENER = FANOUT_ENDPOINTS
#: (b)'s store alone: the worker's default max_concurrency in flight, 100 recorded per call.
FANOUT_IN_FLIGHT = 1000
FANOUT_STORE_BATCH = 100


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=10_000, help="events for (a) [10000]")
    parser.add_argument(
        "--fanout-events", type=int, default=1_000, help="events for (b), to 20 endpoints [1000]"
    )
    parser.add_argument(
        "--naive-events",
        type=int,
        default=3_000,
        help="requests for the naive baseline (one TCP connection each) [3000]",
    )
    parser.add_argument("--isolation-events", type=int, default=5_000, help="events for (d) [5000]")
    parser.add_argument("--rate", type=float, default=500.0, help="publish rate for (c) [500]")
    parser.add_argument("--seconds", type=float, default=10.0, help="duration of (c) [10]")
    parser.add_argument(
        "--concurrency",
        type=int,
        default=64,
        help="ceiling client's requests in flight = every endpoint's max_in_flight [64]",
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs of everything [3]")
    parser.add_argument("--quick", action="store_true", help="small sizes, 1 repeat")
    parser.add_argument(
        "--scenario",
        action="append",
        choices=[*SCENARIOS, "all"],
        help="run only these (repeatable); the baselines always run with a or b",
    )
    parser.add_argument(
        "--no-baselines",
        action="store_true",
        help="skip naive and ceiling (for profiling one scanhook scenario)",
    )
    parser.add_argument(
        "--loop",
        choices=LOOP_CHOICES,
        default=os.environ.get("SCANHOOK_EVENT_LOOP", "auto"),
        help="event loop of the ceiling AND scanhook (as the service: SCANHOOK_EVENT_LOOP, auto)",
    )
    parser.add_argument(
        "--gc",
        choices=("scanhook", "default"),
        default="scanhook",
        help="the garbage collector of this process, for every scenario and both baselines: "
        "scanhook's long-running processes' tuning (scanhook.gc_tuning), or CPython's default",
    )
    parser.add_argument("--json", type=Path, help="also write every run's numbers here")
    args = parser.parse_args(argv)
    if args.quick:
        args.events = min(args.events, 2_000)
        args.fanout_events = min(args.fanout_events, 200)
        args.naive_events = min(args.naive_events, 500)
        args.isolation_events = min(args.isolation_events, 1_000)
        args.seconds = min(args.seconds, 2.0)
        args.repeat = 1
    chosen = set(args.scenario or ["all"])
    if "all" in chosen:
        chosen = set(SCENARIOS)
    if chosen & {"a", "b"} and not args.no_baselines:
        chosen |= {"naive", "ceiling"}
    if "b" in chosen and not args.no_baselines:
        chosen.add("a")  # (b)'s target is relative to (a)
    args.chosen = [s for s in SCENARIOS if s in chosen]
    for name in ("events", "fanout_events", "naive_events", "isolation_events", "repeat"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    return args


def one_run(args: argparse.Namespace, receiver: Receiver, work: Any) -> dict[str, float]:
    """Every chosen scenario once; a flat dict of numbers."""
    out: dict[str, float] = {"load_1m": os.getloadavg()[0]}
    c = args.concurrency

    def step(name: str, fn: Callable[[], None]) -> None:
        if name in args.chosen:
            gc.collect()
            started = time.perf_counter()
            fn()
            print(f"  {name}: done in {time.perf_counter() - started:.1f} s", file=sys.stderr)

    def run_naive() -> None:
        out["naive_rate"] = naive(receiver, work, args.naive_events).rate

    def run_ceiling() -> None:
        r = ceiling(receiver, work, args.events, c, loop=args.loop)
        out["ceiling_rate"], out["ceiling_cpu_us"] = r.rate, r.cpu_per_request_us

    def run_a() -> None:
        r = run_on_loop(
            throughput(receiver, work, endpoints=1, events=args.events, concurrency=c), args.loop
        )
        out["a_rate"], out["a_publish"] = r.rate, r.publish_rate
        out["a_cpu_us"] = r.cpu_per_delivery_us
        out["a_store_cpu_us"] = run_on_loop(store_alone(work, events=args.events), args.loop)

    def run_b() -> None:
        r = run_on_loop(
            throughput(
                receiver,
                work,
                endpoints=FANOUT_ENDPOINTS,
                events=args.fanout_events,
                concurrency=c,
            ),
            args.loop,
        )
        out["b_rate"], out["b_publish"] = r.rate, r.publish_rate
        out["b_cpu_us"] = r.cpu_per_delivery_us
        out["b_store_cpu_us"] = run_on_loop(
            store_alone(
                work,
                events=args.fanout_events,
                endpoints=FANOUT_ENDPOINTS,
                batch=FANOUT_STORE_BATCH,
                in_flight=FANOUT_IN_FLIGHT,
                concurrency=c,
            ),
            args.loop,
        )

    def run_c() -> None:
        r = run_on_loop(
            latency(receiver, work, rate=args.rate, seconds=args.seconds, concurrency=c), args.loop
        )
        out["c_p50"], out["c_p99"], out["c_max"] = r.p50_ms, r.p99_ms, r.max_ms
        out["c_rate"] = r.achieved_rate
        out["c_publish_p50"], out["c_publish_p99"] = r.publish_p50_ms, r.publish_p99_ms

    def run_d() -> None:
        r = run_on_loop(
            isolation(
                receiver,
                work,
                events=args.isolation_events,
                concurrency=c,
                timeout_listener=TIMEOUT_LISTENER,
            ),
            args.loop,
        )
        out["d_alone"], out["d_beside"], out["d_ratio"] = r.alone_rate, r.beside_bad_rate, r.ratio
        out["d_bad_attempts"] = r.bad_attempts

    for name, fn in (
        ("naive", run_naive),
        ("ceiling", run_ceiling),
        ("a", run_a),
        ("b", run_b),
        ("c", run_c),
        ("d", run_d),
    ):
        step(name, fn)
    return out


def _median(runs: list[dict[str, float]], key: str) -> float | None:
    values = [run[key] for run in runs if key in run]
    return statistics.median(values) if values else None


def _spread(runs: list[dict[str, float]], key: str, fmt: str) -> str:
    values = [run[key] for run in runs if key in run]
    if len(values) < 2:
        return ""
    return f"{format(min(values), fmt)}–{format(max(values), fmt)}"


def _ratio(runs: list[dict[str, float]], top: str, bottom: str) -> float:
    """The median over runs of top/bottom, each pair measured in the same run (same load)."""
    return statistics.median(run[top] / run[bottom] for run in runs if top in run and bottom in run)


def table(runs: list[dict[str, float]], args: argparse.Namespace) -> str:
    """The Markdown table: medians over runs; ratios are medians of the per-run ratios, since
    the baselines and scanhook of one run share the machine's load of that moment."""
    m = {key: _median(runs, key) for key in {k for run in runs for k in run}}
    naive_rate, ceiling_rate = m.get("naive_rate"), m.get("ceiling_rate")
    rows: list[tuple[str, str, str, str, str]] = []

    def verdict(ok: bool) -> str:
        return "**met**" if ok else "**missed**"

    if naive_rate is not None:
        rows.append(
            (
                f"naive: `requests.post` per event, no Session ({args.naive_events} events)",
                f"{naive_rate:,.0f} /s",
                _spread(runs, "naive_rate", ",.0f"),
                "1.00× naive",
                "",
            )
        )
    if ceiling_rate is not None and naive_rate is not None:
        rows.append(
            (
                f"ceiling: aiohttp, 1 session, {args.concurrency} in flight, no storage",
                f"{ceiling_rate:,.0f} /s",
                _spread(runs, "ceiling_rate", ",.0f"),
                f"{_ratio(runs, 'ceiling_rate', 'naive_rate'):.2f}× naive",
                "",
            )
        )
    a = m.get("a_rate")
    if a is not None:
        if naive_rate is not None and ceiling_rate is not None:
            x_naive = _ratio(runs, "a_rate", "naive_rate")
            of_ceiling = _ratio(runs, "a_rate", "ceiling_rate")
            ok = x_naive >= 4 and of_ceiling >= 0.5
            ratio = f"{x_naive:.2f}× naive, {of_ceiling:.0%} of ceiling"
            target = f"≥ 4× naive and ≥ 50% of ceiling: {verdict(ok)}"
        else:
            ratio = target = ""
        rows.append(
            (
                f"(a) scanhook, {args.events:,} events → 1 endpoint, deliveries/s",
                f"{a:,.0f} /s",
                _spread(runs, "a_rate", ",.0f"),
                ratio,
                target,
            )
        )
        rows.append(
            (
                "(a) scanhook's CPU per delivery (process time of every thread / deliveries)",
                f"{m['a_cpu_us']:,.0f} µs",
                _spread(runs, "a_cpu_us", ",.0f"),
                f"one core ÷ this = {1e6 / m['a_cpu_us']:,.0f} /s",
                "",
            )
        )
        rows.append(
            (
                "(a) of which the store alone: `record_and_claim` cycles of 32, no HTTP, "
                "CPU per delivery",
                f"{m['a_store_cpu_us']:,.0f} µs",
                _spread(runs, "a_store_cpu_us", ",.0f"),
                f"{_ratio(runs, 'a_store_cpu_us', 'a_cpu_us'):.0%} of (a)'s CPU",
                "",
            )
        )
        if m.get("ceiling_cpu_us") is not None:
            rows.append(
                (
                    "ceiling's CPU per request (its process time / requests)",
                    f"{m['ceiling_cpu_us']:,.0f} µs",
                    _spread(runs, "ceiling_cpu_us", ",.0f"),
                    f"(a)'s CPU per delivery is "
                    f"{_ratio(runs, 'a_cpu_us', 'ceiling_cpu_us'):.1f}× this",
                    "50% of the ceiling needs ≤ 2×",
                )
            )
        rows.append(
            (
                f"(a) publish: `publish_batch` of {PUBLISH_BATCH}, events/s",
                f"{m['a_publish']:,.0f} /s",
                _spread(runs, "a_publish", ",.0f"),
                "",
                "",
            )
        )
    b = m.get("b_rate")
    if b is not None:
        rows.append(
            (
                f"(b) fan-out, {FANOUT_ENDPOINTS} endpoints × {args.fanout_events:,} events, "
                "deliveries/s",
                f"{b:,.0f} /s",
                _spread(runs, "b_rate", ",.0f"),
                f"{_ratio(runs, 'b_rate', 'a_rate'):.0%} of (a)" if a is not None else "",
                f"≥ 90% of (a): {verdict(_ratio(runs, 'b_rate', 'a_rate') >= 0.9)}"
                if a is not None
                else "",
            )
        )
        rows.append(
            (
                "(b) scanhook's CPU per delivery (process time of every thread / deliveries)",
                f"{m['b_cpu_us']:,.0f} µs",
                _spread(runs, "b_cpu_us", ",.0f"),
                f"{_ratio(runs, 'b_cpu_us', 'a_cpu_us'):.2f}× (a)'s" if a is not None else "",
                "",
            )
        )
        rows.append(
            (
                f"(b) of which the store alone: {FANOUT_IN_FLIGHT:,} in flight, "
                f"{FANOUT_STORE_BATCH} recorded per cycle, no HTTP, CPU per delivery",
                f"{m['b_store_cpu_us']:,.0f} µs",
                _spread(runs, "b_store_cpu_us", ",.0f"),
                f"{_ratio(runs, 'b_store_cpu_us', 'b_cpu_us'):.0%} of (b)'s CPU",
                "",
            )
        )
        rows.append(
            (
                f"(b) publish: events/s (× {FANOUT_ENDPOINTS} deliveries each)",
                f"{m['b_publish']:,.0f} /s",
                _spread(runs, "b_publish", ",.0f"),
                "",
                "",
            )
        )
    if m.get("c_p99") is not None:
        p99 = m["c_p99"]
        assert p99 is not None
        rows.append(
            (
                f"(c) publish→arrival at {args.rate:.0f}/s for {args.seconds:.0f} s: p50",
                f"{m['c_p50']:.1f} ms",
                _spread(runs, "c_p50", ".1f"),
                f"offered {m['c_rate']:.0f} events/s",
                "",
            )
        )
        rows.append(
            (
                "(c) the `publish` call itself (durable commit): p50 / p99",
                f"{m['c_publish_p50']:.1f} / {m['c_publish_p99']:.1f} ms",
                _spread(runs, "c_publish_p99", ".1f"),
                "",
                "",
            )
        )
        rows.append(
            (
                "(c) publish→arrival: p99 (max in brackets)",
                f"{p99:.1f} ms ({m['c_max']:.0f})",
                _spread(runs, "c_p99", ".1f"),
                "",
                f"p99 < 100 ms: {verdict(p99 < 100)}",
            )
        )
    if m.get("d_ratio") is not None:
        ratio = m["d_ratio"]
        assert ratio is not None
        rows.append(
            (
                f"(d) healthy endpoint beside a hanging (2 s) and a refusing one, "
                f"{args.isolation_events:,} events",
                f"{ratio:.2f}",
                _spread(runs, "d_ratio", ".2f"),
                f"{m['d_beside']:,.0f} /s beside vs {m['d_alone']:,.0f} /s alone; "
                f"{m['d_bad_attempts']:,.0f} failed attempts of the bad ones meanwhile",
                f"≥ 0.8: {verdict(ratio >= 0.8)}",
            )
        )
    if m.get("load_1m") is not None:
        rows.append(
            (
                "load average (1 min) when each run started",
                f"{m['load_1m']:.2f}",
                _spread(runs, "load_1m", ".2f"),
                "",
                "",
            )
        )
    header = ("measure", "median", f"range of {len(runs)}", "ratio", "target")
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def machine() -> str:
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    return (
        f"{os.cpu_count()} CPUs (nproc {len(os.sched_getaffinity(0))}), "
        f"Python {platform.python_version()}, {platform.platform()}, "
        f"load average at start {load[0]:.2f}"
    )


def gc_name(choice: str) -> str:
    if choice == "scanhook":
        return f"scanhook's tuning (thresholds {THRESHOLDS}, start-up frozen)"
    return f"CPython's default (thresholds {gc.get_threshold()})"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    print(f"machine: {machine()}", file=sys.stderr)
    print(f"scenarios: {', '.join(args.chosen)}; repeats: {args.repeat}", file=sys.stderr)
    print(f"event loop (ceiling and scanhook): {loop_name(args.loop)}", file=sys.stderr)
    needed = max(args.events, args.fanout_events, args.naive_events, args.isolation_events)
    needed = max(needed, int(args.rate * args.seconds))
    work = make_workload(needed)
    if args.gc == "scanhook":
        tune_gc()  # as `scanhook worker` and `serve` do at start-up
    print(f"garbage collector: {gc_name(args.gc)}", file=sys.stderr)
    runs: list[dict[str, float]] = []
    with Receiver(["healthy"] * FANOUT_ENDPOINTS + ["timeout"]) as receiver:
        for index in range(args.repeat):
            print(f"run {index + 1} of {args.repeat}", file=sys.stderr)
            runs.append(one_run(args, receiver, work))
    if args.json is not None:
        args.json.write_text(
            json.dumps(
                {"args": vars(args) | {"json": str(args.json)}, "runs": runs}, indent=2, default=str
            )
        )
    print()
    print(f"machine: {machine()}")
    print(f"event loop (ceiling and scanhook): {loop_name(args.loop)}")
    print(f"garbage collector (ceiling and scanhook): {gc_name(args.gc)}")
    print(table(runs, args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
