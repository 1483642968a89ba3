"""A fast loopback webhook receiver that runs in its own process, and the harness's handle on it.

The receiver is a bare ``asyncio.Protocol`` HTTP/1.1 responder: keep-alive, pipelined and
partial reads, ``Content-Length`` bodies. Each listener (one port on 127.0.0.1) has a mode:

* ``healthy`` answers every request ``200`` with a two-byte body, at once;
* ``timeout`` reads requests and never answers (the client's deadline must cut it off);
* ``app`` is a small Python web app instead: an aiohttp ``web.Application`` whose handler reads
  the body, parses it as JSON and answers ``200 ok`` (what a platform's own receiver costs,
  for ``bench/frontdoor.py``).

A refusing endpoint needs no listener: :func:`refused_port` returns a port nobody listens on.

For every request a listener counts it and remembers its ``webhook-id`` with the arrival time
(``time.time()`` when the whole body has arrived; the first arrival of a duplicated id is kept).
The harness drives the receiver over its stdin/stdout with one JSON object per line
(:class:`Receiver`); end of stdin ends the receiver, so it never outlives the harness.

Run alone: ``python bench/receiver.py healthy timeout`` prints the ports and waits for commands.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["MODES", "Receiver", "ReceiverError", "refused_port"]

MODES = ("healthy", "timeout", "app")
HOST = "127.0.0.1"
MAX_HEAD = 64 * 1024
MAX_BODY = 16 * 1024 * 1024
RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok"
RESPONSE_CLOSE = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n"
    b"Connection: close\r\n\r\nok"
)
BAD_REQUEST = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


# -- the receiver process ----------------------------------------------------------------------
@dataclass
class Listener:
    """One port and what arrived on it."""

    mode: str
    requests: int = 0
    arrivals: dict[str, float] = field(default_factory=dict)
    duplicates: int = 0
    connections: int = 0
    first: float | None = None
    last: float | None = None
    transports: set[asyncio.Transport] = field(default_factory=set)

    def reset(self) -> None:
        self.requests = 0
        self.arrivals = {}
        self.duplicates = 0
        self.connections = 0
        self.first = None
        self.last = None

    def arrived(self, webhook_id: str | None, now: float) -> None:
        """Count one whole request; keep the first arrival of its ``webhook-id``."""
        self.requests += 1
        if self.first is None:
            self.first = now
        self.last = now
        if webhook_id is not None:
            if webhook_id in self.arrivals:
                self.duplicates += 1
            else:
                self.arrivals[webhook_id] = now

    def summary(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "requests": self.requests,
            "unique": len(self.arrivals),
            "duplicates": self.duplicates,
            "connections": self.connections,
            "first": self.first,
            "last": self.last,
        }


class HttpResponder(asyncio.Protocol):
    """HTTP/1.1 server side of one connection."""

    def __init__(self, listener: Listener) -> None:
        self.listener = listener
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None
        self.need: int | None = None  # body bytes still expected for the current request
        self.webhook_id: str | None = None
        self.close_after = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.listener.connections += 1
        self.listener.transports.add(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.transport is not None:
            self.listener.transports.discard(self.transport)
        self.transport = None

    def data_received(self, data: bytes) -> None:
        transport = self.transport
        if transport is None:
            return
        buffer = self.buffer
        buffer += data
        out: list[bytes] = []
        now = time.time()
        listener = self.listener
        while True:
            if self.need is None:
                end = buffer.find(b"\r\n\r\n")
                if end < 0:
                    if len(buffer) > MAX_HEAD:
                        self._fail(out)
                    break
                if not self._parse_head(bytes(buffer[:end])):
                    self._fail(out)
                    break
                del buffer[: end + 4]
            assert self.need is not None
            if len(buffer) < self.need:
                break
            del buffer[: self.need]
            self.need = None
            listener.arrived(self.webhook_id, now)
            if listener.mode == "healthy":
                out.append(RESPONSE_CLOSE if self.close_after else RESPONSE)
                if self.close_after:
                    break
        if out:
            transport.write(b"".join(out) if len(out) > 1 else out[0])
        if self.close_after and self.need is None and listener.mode == "healthy" and out:
            transport.close()

    def _parse_head(self, head: bytes) -> bool:
        lines = head.split(b"\r\n")
        request_line = lines[0].split(b" ")
        if len(request_line) != 3 or not request_line[2].startswith(b"HTTP/1."):
            return False
        length = 0
        webhook_id: str | None = None
        close = request_line[2] == b"HTTP/1.0"
        for line in lines[1:]:
            name, sep, value = line.partition(b":")
            if not sep:
                return False
            key = name.strip().lower()
            if key == b"content-length":
                try:
                    length = int(value.strip())
                except ValueError:
                    return False
                if not 0 <= length <= MAX_BODY:
                    return False
            elif key == b"webhook-id":
                webhook_id = value.strip().decode("ascii", "replace")
            elif key == b"connection":
                token = value.strip().lower()
                if token == b"close":
                    close = True
                elif token == b"keep-alive":
                    close = False
            elif key == b"transfer-encoding":
                return False  # bodies come with Content-Length here; anything else is a bug
        self.need = length
        self.webhook_id = webhook_id
        self.close_after = close
        return True

    def _fail(self, out: list[bytes]) -> None:
        assert self.transport is not None
        out.clear()
        self.transport.write(BAD_REQUEST)
        self.transport.close()
        self.buffer.clear()
        self.need = None


async def _app(listener: Listener) -> tuple[Any, int]:
    """An aiohttp web app on a free port that records each request in ``listener``: its runner
    (to clean up) and its port."""
    from aiohttp import web

    async def hook(request: web.Request) -> web.Response:
        data = await request.json()  # a receiver parses what it gets
        if not isinstance(data, dict):
            return web.Response(status=400, text="expected a JSON object")
        listener.arrived(request.headers.get("webhook-id"), time.time())
        return web.Response(text="ok")

    app = web.Application(client_max_size=MAX_BODY)
    app.router.add_post("/{tail:.*}", hook)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, HOST, 0, backlog=1024, reuse_address=True)
    await site.start()
    port: int = runner.addresses[0][1]
    return runner, port


async def _serve(modes: list[str]) -> None:
    loop = asyncio.get_running_loop()
    listeners = [Listener(mode) for mode in modes]
    servers = []
    runners = []
    ports = []
    for listener in listeners:
        if listener.mode == "app":
            runner, port = await _app(listener)
            runners.append(runner)
            ports.append(port)
            continue
        server = await loop.create_server(
            lambda listener=listener: HttpResponder(listener),  # type: ignore[misc]
            HOST,
            0,
            backlog=1024,
            reuse_address=True,
        )
        servers.append(server)
        ports.append(server.sockets[0].getsockname()[1])

    reader = asyncio.StreamReader(limit=1024 * 1024)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    out = sys.stdout

    def reply(message: dict[str, Any]) -> None:
        out.write(json.dumps(message) + "\n")
        out.flush()

    reply({"ports": ports, "pid": os.getpid()})
    try:
        while True:
            line = await reader.readline()
            if not line:
                break  # the harness is gone
            command = json.loads(line)
            name = command.get("cmd")
            if name == "stats":
                reply(
                    {
                        "listeners": [listener.summary() for listener in listeners],
                        "cpu": time.process_time(),
                    }
                )
            elif name == "arrivals":
                reply({"arrivals": listeners[int(command["listener"])].arrivals})
            elif name == "reset":
                for listener in listeners:
                    listener.reset()
                    for transport in list(listener.transports):
                        transport.close()  # no connection state carries over between runs
                reply({"ok": True})
            elif name == "quit":
                reply({"ok": True})
                break
            else:
                reply({"error": f"unknown command {name!r}"})
    finally:
        for server in servers:
            server.close()
        for runner in runners:
            await runner.cleanup()
        for listener in listeners:
            for transport in list(listener.transports):
                transport.abort()


def main(argv: list[str]) -> None:
    modes = argv or ["healthy"]
    for mode in modes:
        if mode not in MODES:
            raise SystemExit(f"receiver: unknown mode {mode!r}; expected one of {MODES}")
    asyncio.run(_serve(modes))


# -- the harness side --------------------------------------------------------------------------
class ReceiverError(RuntimeError):
    """The receiver process did not answer as expected."""


def refused_port() -> int:
    """A loopback port with nothing listening on it (bound to learn a free number, then closed)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
    return port


class Receiver:
    """Start ``receiver.py`` with one listener per mode; ask it for counts; stop it.

    Use as a context manager so the process is always ended (stdin closed, then terminate,
    then kill, each bounded in time).
    """

    def __init__(self, modes: list[str], *, cpu: int | None = None) -> None:
        self.modes = list(modes)
        self.cpu = cpu
        self.process: subprocess.Popen[str] | None = None
        self.ports: list[int] = []

    def __enter__(self) -> Receiver:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        script = Path(__file__).resolve()
        self.process = subprocess.Popen(
            [sys.executable, str(script), *self.modes],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        if self.cpu is not None and hasattr(os, "sched_setaffinity"):
            with contextlib.suppress(OSError):
                os.sched_setaffinity(self.process.pid, {self.cpu})
        hello = self._read()
        self.ports = list(hello["ports"])

    def url(self, listener: int = 0, path: str = "/hook") -> str:
        return f"http://{HOST}:{self.ports[listener]}{path}"

    def _read(self) -> dict[str, Any]:
        assert self.process is not None
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise ReceiverError(f"the receiver exited (code {self.process.poll()})")
        message: dict[str, Any] = json.loads(line)
        if "error" in message:
            raise ReceiverError(message["error"])
        return message

    def command(self, cmd: str, **args: Any) -> dict[str, Any]:
        assert self.process is not None
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps({"cmd": cmd, **args}) + "\n")
        self.process.stdin.flush()
        return self._read()

    def stats(self) -> list[dict[str, Any]]:
        listeners: list[dict[str, Any]] = self.command("stats")["listeners"]
        return listeners

    def cpu_seconds(self) -> float:
        """CPU time the receiver process has used so far (to show it is not the bottleneck)."""
        cpu: float = self.command("stats")["cpu"]
        return cpu

    def arrivals(self, listener: int = 0) -> dict[str, float]:
        arrivals: dict[str, float] = self.command("arrivals", listener=listener)["arrivals"]
        return arrivals

    def reset(self) -> None:
        self.command("reset")

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        with contextlib.suppress(OSError, ValueError):
            assert process.stdin is not None
            process.stdin.close()
        try:
            process.wait(timeout=3)
        except subprocess.TimeoutExpired:
            process.terminate()
            try:
                process.wait(timeout=3)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=3)
        if process.stdout is not None:
            process.stdout.close()


if __name__ == "__main__":
    main(sys.argv[1:])
