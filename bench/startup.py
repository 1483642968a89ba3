"""How long the ``scanhook`` command takes to start: ``--help``, and a management command on a
SQLite file, each in a new process, median of several runs.

Targets: ``scanhook --help`` under 0.3 s, ``scanhook endpoint list`` on SQLite under 0.6 s
(wall clock, from ``exec`` to exit). The database is made (and migrated) once, untimed, with
one endpoint on it; every timed run is a new interpreter (``.venv/bin/scanhook``, the console
script users run), so each one pays every import; the operating system's file cache stays warm,
as it does for someone who types commands one after another.

Run: ``.venv/bin/python bench/startup.py`` (``--runs 11``, ``--json FILE``). Exit status 1 when a
median misses its target.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGETS = {"help": 0.3, "endpoint list": 0.6}


def _scanhook() -> str:
    here = Path(sys.executable).parent / "scanhook"
    return str(here) if here.exists() else "scanhook"


def _timed(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall-clock seconds, and the child's CPU seconds (user + system: less sensitive than the
    wall clock to other processes on a shared machine)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, check=False)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr.decode()}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu


def measure(runs: int) -> dict[str, list[tuple[float, float]]]:
    exe = _scanhook()
    with tempfile.TemporaryDirectory(prefix="scanhook-startup-") as tmp:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": tmp,
            "SCANHOOK_DATABASE_URL": f"sqlite:///{tmp}/scanhook.db",
            "SCANHOOK_ALLOW_PRIVATE_NETWORKS": "true",
        }
        setup = [exe, "endpoint", "add", "http://127.0.0.1:9/hook", "--description", "bench"]
        subprocess.run(setup, env=env, capture_output=True, check=True)
        commands = {"help": [exe, "--help"], "endpoint list": [exe, "endpoint", "list"]}
        times: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
        for _ in range(runs):  # interleaved, so a busy moment of the machine hits both
            for name, argv in commands.items():
                times[name].append(_timed(argv, env))
        return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=9, help="processes per command (default 9)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    times = measure(args.runs)
    report = {}
    missed = False
    print(f"load average {os.getloadavg()[0]:.2f} over {os.cpu_count()} CPUs; {args.runs} runs")
    print(f"{'command':<24} {'median':>8} {'min':>8} {'max':>8} {'CPU':>8}  target")
    for name, runs in times.items():
        walls = [wall for wall, _ in runs]
        median, cpu = statistics.median(walls), statistics.median(c for _, c in runs)
        target = TARGETS[name]
        ok = median < target
        missed = missed or not ok
        report[name] = {
            "median": median,
            "min": min(walls),
            "max": max(walls),
            "cpu_median": cpu,
            "target": target,
        }
        print(
            f"scanhook {name:<15} {median:>7.3f}s {min(walls):>7.3f}s {max(walls):>7.3f}s"
            f" {cpu:>7.3f}s  <{target:.1f} s {'ok' if ok else 'MISSED'}"
        )
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    sys.exit(1 if missed else 0)


if __name__ == "__main__":
    main()
