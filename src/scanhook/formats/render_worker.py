"""The render process of :mod:`scanhook.formats.render_pool`: ``python -m
scanhook.formats.render_worker <memory limit in bytes>``.

It imports the sandbox, limits its own address space (``RLIMIT_AS``) to what it has then plus the
limit, says it is ready, and answers render requests one at a time. Each message, either way, is
a 4-byte big-endian length and that many bytes of JSON: a request ``{"source", "variables",
"max_bytes", "seconds"}``, an answer ``{"body"}`` or ``{"error"}``. It ends when its input does,
and after running out of memory (so that the next render starts in a fresh process).
"""

from __future__ import annotations

import json
import os
import resource
import struct
import sys
from typing import Any

from scanhook.formats.base import RenderError
from scanhook.formats.template_sandbox import render_template

__all__ = ["main", "read_message", "write_message"]

_HEADER = struct.Struct(">I")


def read_message(fd: int) -> dict[str, Any] | None:
    """The next message on ``fd``, or None at its end."""
    header = _read_exactly(fd, _HEADER.size)
    if header is None:
        return None
    (length,) = _HEADER.unpack(header)
    payload = _read_exactly(fd, length)
    if payload is None:
        return None
    message: dict[str, Any] = json.loads(payload)
    return message


def _read_exactly(fd: int, size: int) -> bytes | None:
    chunks: list[bytes] = []
    while size:
        chunk = os.read(fd, min(size, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def write_message(fd: int, message: dict[str, Any]) -> None:
    payload = json.dumps(message, ensure_ascii=False).encode("utf-8")
    data = memoryview(_HEADER.pack(len(payload)) + payload)
    while data:
        data = data[os.write(fd, data) :]


def _limit_memory(extra: int) -> None:
    """Limit the address space to what the process uses now (interpreter, sandbox) plus
    ``extra``; no core dumps."""
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    try:
        with open("/proc/self/statm") as statm:
            used = int(statm.read().split()[0]) * resource.getpagesize()
    except OSError:  # not Linux: RLIMIT_AS is the whole address space
        used = 0
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = used + extra
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def _answer(request: dict[str, Any]) -> dict[str, Any]:
    try:
        body = render_template(
            str(request["source"]),
            dict(request["variables"]),
            int(request["max_bytes"]),
            float(request["seconds"]),
        )
    except RenderError as exc:
        return {"error": str(exc)}
    return {"body": body.decode("utf-8")}


def main() -> None:
    extra = int(sys.argv[1])
    answers = os.dup(1)
    os.dup2(2, 1)  # whatever else writes to stdout cannot corrupt the answers
    _limit_memory(extra)
    write_message(answers, {"ready": True})
    while True:
        request = read_message(0)
        if request is None:
            return
        try:
            answer = _answer(request)
        except MemoryError:
            write_message(answers, {"error": "memory"})
            return
        write_message(answers, answer)


if __name__ == "__main__":
    main()
