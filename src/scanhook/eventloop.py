"""Which event loop scanhook runs on where it owns the loop (``scanhook worker``, ``serve``,
``api``, ``demo`` and the other CLI commands): ``SCANHOOK_EVENT_LOOP`` = ``auto`` (uvloop when
it can be imported, else asyncio's), ``asyncio`` or ``uvloop``.

An application that embeds :class:`scanhook.hub.Hub` runs it on its own loop; nothing here
changes a loop scanhook does not create.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Coroutine
from typing import Any, Literal, TypeVar

from scanhook.errors import ConfigurationError

__all__ = ["LOOP_CHOICES", "EventLoopChoice", "loop_factory", "loop_name", "run"]

T = TypeVar("T")
EventLoopChoice = Literal["auto", "asyncio", "uvloop"]
LOOP_CHOICES: tuple[EventLoopChoice, ...] = ("auto", "asyncio", "uvloop")
LoopFactory = Callable[[], asyncio.AbstractEventLoop]


def _uvloop_factory() -> LoopFactory | None:
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def loop_factory(choice: str) -> LoopFactory | None:
    """The factory of the chosen loop; None means asyncio's default loop.

    ``uvloop`` when it cannot be imported is a :class:`ConfigurationError` naming the setting.
    """
    if choice == "asyncio":
        return None
    if choice == "auto":
        return _uvloop_factory()
    if choice == "uvloop":
        factory = _uvloop_factory()
        if factory is None:
            raise ConfigurationError(
                "SCANHOOK_EVENT_LOOP: 'uvloop' is chosen but the uvloop package cannot be imported"
            )
        return factory
    raise ConfigurationError(
        f"SCANHOOK_EVENT_LOOP: {choice!r} is not one of {', '.join(LOOP_CHOICES)}"
    )


def loop_name(choice: str) -> str:
    """``"uvloop"`` or ``"asyncio"``: what ``choice`` runs on here."""
    return "asyncio" if loop_factory(choice) is None else "uvloop"


def run(coro: Coroutine[Any, Any, T], choice: str | None = None) -> T:
    """``asyncio.run(coro)`` on the chosen loop (default: ``SCANHOOK_EVENT_LOOP``, else auto)."""
    if choice is None:
        choice = os.environ.get("SCANHOOK_EVENT_LOOP", "auto").strip().lower() or "auto"
    with asyncio.Runner(loop_factory=loop_factory(choice)) as runner:
        return runner.run(coro)
