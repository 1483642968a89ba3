"""Running the HTTP API on uvicorn inside our own event loop, beside the workers.

uvicorn's own signal handling is switched off: the command owns SIGTERM/SIGINT, so that one
signal stops the API and drains the workers together, and the process exits 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
from collections.abc import Iterator

import structlog
import uvicorn
from fastapi import FastAPI
from rich.text import Text

from scanhook.api import create_app
from scanhook.cli.common import fail
from scanhook.cli.output import out
from scanhook.config import Settings
from scanhook.hub import Hub
from scanhook.redaction import mask_url

__all__ = ["bind", "run_service", "serve_app", "url_of"]

log = structlog.get_logger("scanhook.cli")


class _Server(uvicorn.Server):
    """A uvicorn server that leaves signals to its caller."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host``:``port`` (0: a free port); OSError when taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(1024)
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


async def serve_app(app: FastAPI, sock: socket.socket, stop: asyncio.Event) -> None:
    """Serve ``app`` on ``sock`` until ``stop`` is set; requests in progress may finish."""
    config = uvicorn.Config(
        app,
        log_config=None,
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=5,
        server_header=False,
    )
    server = _Server(config)
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    stopping = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({serving, stopping}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        server.should_exit = True
        stopping.cancel()
        await serving


def _announce_token(token: str) -> None:
    out.print(
        Text(
            "No API token existed, so scanhook made one; it is shown only this once:",
            style="bold yellow",
        )
    )
    out.print(Text.assemble("API token: ", (token, "bold")))
    out.print(
        Text(
            "Store it now; clients send 'Authorization: Bearer <token>'. More tokens: "
            "scanhook token create NAME; revoke one: scanhook token revoke ID.",
            style="dim",
        )
    )


async def run_service(settings: Settings, host: str, port: int, workers: bool) -> None:
    """``serve`` (workers=True) or ``api``: until SIGTERM/SIGINT, then drain and return."""
    try:
        sock = bind(host, port)
    except OSError as exc:
        fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        async with Hub(settings) as hub:
            if workers:
                await hub.store.reserve_workers()
            token = await hub.ensure_initial_token()
            if token is not None:
                _announce_token(token)
            app = create_app(hub)
            url = url_of(sock)
            what = "API, delivery workers and background jobs" if workers else "API only"
            out.print(
                Text.assemble(
                    ("scanhook is serving ", "bold"),
                    (url, "bold cyan"),
                    f" ({what}; docs at {url}/docs, health at {url}/healthz)",
                )
            )
            log.info("serving", url=url, database=mask_url(settings.database_url), pid=os.getpid())
            tasks = [asyncio.create_task(serve_app(app, sock, stop))]
            if workers:
                tasks.append(asyncio.create_task(hub.run(stop)))
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            stop.set()
            results = await asyncio.gather(*tasks, return_exceptions=True)
            for result in results:
                if isinstance(result, BaseException):
                    raise result
            log.info("stopped")
    finally:
        sock.close()
