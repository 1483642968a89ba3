"""Templates render in a small pool of separate processes, each with a memory limit, killed when
a render overruns its deadline.

A template is user code: the sandbox bounds what each operation may build and checks a deadline
between operations (:mod:`scanhook.formats.template_sandbox`), but one C-level operation can
still run for long, and the sandbox runs in the interpreter it protects. So renders do not run
in the scanhook process: each goes to a render process (:mod:`scanhook.formats.render_worker`)
whose address space is limited (``RLIMIT_AS``) and which is killed when the answer does not come
within the render's deadline plus :data:`GRACE`; the next render starts a fresh one. A render
process gets no environment (no database URL, no key) and talks JSON over its pipes only.

:meth:`RenderPool.render` blocks the calling thread until the answer (or the kill): call it from
a worker thread, never on the event loop — :func:`off_loop` runs a function that renders on the
render threads, which wait for the render processes so that the event loop's default executor
(DNS lookups, routing) never does. It is thread-safe.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import functools
import json
import os
import select
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ParamSpec, TypeVar

from scanhook.formats.base import RenderError
from scanhook.formats.template_sandbox import RENDER_SECONDS

__all__ = ["GRACE", "MEMORY_LIMIT", "POOL_SIZE", "RenderPool", "default_pool", "off_loop"]

P = ParamSpec("P")
T = TypeVar("T")

#: Render processes at most (each renders one template at a time).
POOL_SIZE = 2
#: Memory a render may use beyond the render process's own (``RLIMIT_AS``), in bytes.
MEMORY_LIMIT = 128 * 1024 * 1024
#: A render process is killed this long after the render's own deadline has passed.
GRACE = 0.25
#: How long a new render process may take to start (import the sandbox), in seconds.
START_SECONDS = 30.0
#: The largest answer read from a render process: a body of at most 1 MiB, JSON-escaped.
MAX_ANSWER = 8 * 1024 * 1024

_HEADER = struct.Struct(">I")
WORKER_MODULE = "scanhook.formats.render_worker"


class _Stopped(Exception):
    """The render process ended, or had to be killed; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _environment() -> dict[str, str]:
    """What a render process may see: where Python finds scanhook, nothing else."""
    return {
        "PYTHONPATH": os.pathsep.join(path for path in sys.path if path),
        "PYTHONDONTWRITEBYTECODE": "1",
        "LC_ALL": "C.UTF-8",
    }


class _Process:
    """One render process and its two pipes."""

    def __init__(self, memory_limit: int) -> None:
        self.memory_limit = memory_limit
        self.popen = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [
                sys.executable,
                "-X",
                "utf8",
                "-m",
                "scanhook.formats.render_worker",
                str(memory_limit),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=_environment(),
            close_fds=True,
        )
        assert self.popen.stdin is not None
        assert self.popen.stdout is not None
        self._in = self.popen.stdin
        self._out = self.popen.stdout.fileno()
        try:
            ready = self._receive(time.monotonic() + START_SECONDS, "start")
        except _Stopped as stopped:
            self.kill()
            raise RenderError(f"the render process could not start: {stopped.reason}") from None
        if ready != {"ready": True}:  # pragma: no cover - only a broken installation
            self.kill()
            raise RenderError("the render process could not start")

    def ask(self, request: Mapping[str, Any], deadline: float) -> dict[str, Any]:
        payload = json.dumps(request, ensure_ascii=False).encode("utf-8")
        try:
            self._in.write(_HEADER.pack(len(payload)) + payload)
            self._in.flush()
        except OSError:
            raise _Stopped(self._ended()) from None
        return self._receive(deadline, "render")

    def _receive(self, deadline: float, what: str) -> dict[str, Any]:
        buffer = bytearray()
        needed = _HEADER.size
        header_read = False
        while len(buffer) < needed:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise _Stopped("timeout")
            readable, _, _ = select.select([self._out], [], [], remaining)
            if not readable:
                continue
            chunk = os.read(self._out, min(needed - len(buffer), 1 << 20))
            if not chunk:
                raise _Stopped(self._ended())
            buffer += chunk
            if not header_read and len(buffer) >= _HEADER.size:
                (length,) = _HEADER.unpack(buffer[: _HEADER.size])
                if length > MAX_ANSWER:
                    raise _Stopped(f"its {what} answer is too large ({length} bytes)")
                needed = _HEADER.size + length
                header_read = True
        try:
            answer = json.loads(bytes(buffer[_HEADER.size :]))
        except ValueError:
            raise _Stopped(f"its {what} answer is not JSON") from None
        if not isinstance(answer, dict):
            raise _Stopped(f"its {what} answer is not an object")
        return answer

    def _ended(self) -> str:
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(1.0)
        return f"it ended (exit status {self.popen.returncode})"

    def alive(self) -> bool:
        return self.popen.poll() is None

    def kill(self) -> None:
        with contextlib.suppress(OSError):
            self.popen.kill()
        with contextlib.suppress(OSError):
            self._in.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(5.0)
        if self.popen.stdout is not None:
            with contextlib.suppress(OSError):
                self.popen.stdout.close()


class RenderPool:
    """At most ``size`` render processes, started when first needed and replaced after a kill."""

    def __init__(self, size: int = POOL_SIZE, memory_limit: int = MEMORY_LIMIT) -> None:
        self.size = size
        self.memory_limit = memory_limit
        self._idle: list[_Process] = []
        self._running = 0
        self._closed = False
        self._changed = threading.Condition()

    def render(
        self,
        source: str,
        variables: Mapping[str, Any],
        max_bytes: int,
        seconds: float = RENDER_SECONDS,
    ) -> bytes:
        """The body ``source`` renders to (UTF-8); RenderError with the reason otherwise (the
        template's own error, its size budget, the deadline, the memory limit)."""
        process = self._acquire()
        request = {
            "source": source,
            "variables": dict(variables),
            "max_bytes": max_bytes,
            "seconds": seconds,
        }
        try:
            answer = process.ask(request, time.monotonic() + seconds + GRACE)
        except _Stopped as stopped:
            process.kill()
            self._release(None)
            raise RenderError(self._reason(stopped.reason, seconds)) from None
        except BaseException:
            process.kill()
            self._release(None)
            raise
        if answer.get("error") == "memory":
            process.kill()
            self._release(None)
            raise RenderError(self._reason("memory", seconds))
        self._release(process)
        if "error" in answer:
            raise RenderError(str(answer["error"]))
        body = answer.get("body")
        if not isinstance(body, str):
            raise RenderError("the render process gave no body")
        data = body.encode("utf-8")
        if len(data) > max_bytes:
            raise RenderError(f"template output is larger than max_bytes ({max_bytes})")
        return data

    def _reason(self, stopped: str, seconds: float) -> str:
        if stopped == "timeout":
            return f"template took longer than its {seconds:g} s budget (the render was stopped)"
        if stopped == "memory":
            return (
                f"template needs more than its memory limit of "
                f"{self.memory_limit // (1024 * 1024)} MiB"
            )
        return f"the render process stopped: {stopped}"

    def _acquire(self) -> _Process:
        with self._changed:
            while True:
                if self._closed:
                    raise RenderError("templates cannot be rendered: the render pool is closed")
                while self._idle:
                    process = self._idle.pop()
                    if process.alive():
                        return process
                    process.kill()
                    self._running -= 1
                if self._running < self.size:
                    self._running += 1
                    break
                self._changed.wait()
        try:
            return _Process(self.memory_limit)
        except BaseException:
            self._release(None)
            raise

    def _release(self, process: _Process | None) -> None:
        with self._changed:
            if process is None:
                self._running -= 1
            elif self._closed:
                self._running -= 1
                process.kill()
            else:
                self._idle.append(process)
            self._changed.notify()

    def close(self) -> None:
        """Stop the idle render processes; renders running now stop theirs when they end."""
        with self._changed:
            self._closed = True
            idle, self._idle = self._idle, []
            self._running -= len(idle)
            self._changed.notify_all()
        for process in idle:
            process.kill()


#: Threads that wait for render processes: a few per process (the rest queue for a thread).
RENDER_THREADS = 4 * POOL_SIZE

_default: RenderPool | None = None
_executor: ThreadPoolExecutor | None = None
_default_lock = threading.Lock()


def default_pool() -> RenderPool:
    """The process's render pool (started on first use, stopped at exit)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = RenderPool()
            atexit.register(_default.close)
        return _default


def _render_threads() -> ThreadPoolExecutor:
    global _executor
    with _default_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(RENDER_THREADS, thread_name_prefix="scanhook-render")
        return _executor


async def off_loop(function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """``function(*args, **kwargs)`` (something that renders templates) on a render thread."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(
        _render_threads(), functools.partial(function, *args, **kwargs)
    )
