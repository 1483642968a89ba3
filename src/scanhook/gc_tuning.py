"""Garbage-collector settings for scanhook's long-running processes (``scanhook worker``,
``serve`` and ``api``).

Delivering a webhook allocates many short-lived container objects (a task, futures, headers,
the outcome, database rows), so with CPython's default thresholds (700, 10, 10) the cyclic
collector runs hundreds of times a second, and each older-generation pass walks every object
the process has, most of them the modules and start-up objects that live as long as the
process. :func:`tune_gc` raises the thresholds and freezes what is alive at start-up, so that
no collection walks it again. Measured on the benchmark's (a) (bench/README.md, Run L): about a
quarter less CPU per delivery, with the bare HTTP client's cost unchanged. The young threshold
is high because a worker keeps up to a thousand attempts in flight: a lower one promoted them
while alive and the middle collections then walked them (docs/decisions.md).

Reference cycles are still collected, only less often; objects that are not in a cycle are
freed as soon as they are unused, as always. An application that embeds :class:`scanhook.Hub`
keeps its own settings (scanhook does not change a process it does not own); it may call
:func:`tune_gc` itself.
"""

from __future__ import annotations

import gc

__all__ = ["THRESHOLDS", "tune_gc"]

#: Allocations before a young collection, and young (then middle) collections before the next
#: older one: (700, 10, 10) by default.
THRESHOLDS = (100_000, 50, 100)


def tune_gc() -> None:
    """Collect once, freeze what survives (imports and start-up objects: never walked again),
    and raise the thresholds to :data:`THRESHOLDS`. Safe to call more than once."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
