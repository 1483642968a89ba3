"""scanhook's long-running processes tune the garbage collector (scanhook.gc_tuning)."""

from __future__ import annotations

import gc
import subprocess
import sys
from collections.abc import Iterator

import pytest

from scanhook.gc_tuning import THRESHOLDS, tune_gc


@pytest.fixture
def restored_gc() -> Iterator[None]:
    before = gc.get_threshold()
    try:
        yield
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()


@pytest.mark.usefixtures("restored_gc")
def test_tune_gc_raises_the_thresholds_and_freezes_what_is_alive() -> None:
    alive: list[int] = [1]  # a container: the collector tracks it
    assert any(o is alive for o in gc.get_objects())
    tune_gc()
    assert gc.get_threshold() == THRESHOLDS
    assert gc.get_freeze_count() > 0
    assert not any(o is alive for o in gc.get_objects())  # frozen: no collection walks it
    tune_gc()  # again: harmless
    assert gc.get_threshold() == THRESHOLDS


@pytest.mark.usefixtures("restored_gc")
def test_cycles_are_still_collected_after_tuning() -> None:
    tune_gc()
    collected: list[str] = []

    class Node:
        def __init__(self) -> None:
            self.me = self

        def __del__(self) -> None:
            collected.append("node")

    Node()  # a cycle, unreachable at once
    gc.collect()
    assert collected == ["node"]


def test_the_worker_command_tunes_its_process() -> None:
    """`scanhook worker` calls tune_gc before it runs (checked without starting one)."""
    code = (
        "import gc, scanhook.cli.run as r\n"
        "seen = []\n"
        "r.tune_gc = lambda: seen.append(1)\n"
        "r.run = lambda coro, loop: (coro.close(), print(len(seen), gc.get_threshold()))\n"
        "r.worker(database_url='sqlite:///unused.db')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.split()[0] == "1"
