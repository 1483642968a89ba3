"""scanhook's command line: a thin shell over the packages that do the work.

Each group of commands lives in its own module with a ``register(app)`` function; this module
puts them on the root :data:`app`. ``main`` is the ``scanhook`` console script.
"""

from __future__ import annotations

import gc
import threading

from scanhook.cli import (
    admin,
    demo,
    emit,
    endpoints,
    listen,
    notifications,
    operating,
    run,
    schedules,
    secrets,
    serve,
)
from scanhook.cli.app import app

__all__ = ["STARTUP_GC_PAUSE", "app", "main", "pause_collector"]

#: Seconds without cyclic garbage collection at the start of a command (see :func:`main`).
STARTUP_GC_PAUSE = 1.0

notifications.register(app)
endpoints.register(app)
schedules.register(app)
emit.register(app)
operating.register(app)
admin.register(app)
secrets.register(app)
listen.register(app)
run.register(app)
serve.register(app)
demo.register(app)


def pause_collector(seconds: float) -> threading.Timer:
    """Turn the cyclic garbage collector off now and back on after ``seconds``."""
    gc.disable()
    timer = threading.Timer(seconds, gc.enable)
    timer.daemon = True
    timer.start()
    return timer


def main() -> None:
    """Run the ``scanhook`` command.

    A command's first fraction of a second is mostly imports, which make many objects and few
    cycles: the collector would walk them all several times for nothing (about a tenth of a
    management command's start). It is off for :data:`STARTUP_GC_PAUSE` s, then on again as
    usual (``serve``, ``api`` and ``worker`` then tune it: :mod:`scanhook.gc_tuning`).
    """
    pause_collector(STARTUP_GC_PAUSE)
    app()
