"""``scanhook serve`` (API + workers + background jobs in one process) and ``scanhook api``."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from typing import Annotated

import structlog
import typer
from rich.text import Text

from scanhook.api import create_app
from scanhook.cli.common import DatabaseOption, fail, run_async, settings_or_exit
from scanhook.cli.output import err, out
from scanhook.cli.serving import bind, serve_app, url_of
from scanhook.config import Settings
from scanhook.hub import Hub
from scanhook.logs import configure_logging

__all__ = ["register"]

log = structlog.get_logger("scanhook.cli")

HostOption = Annotated[
    str, typer.Option("--host", help="The address the API listens on (0.0.0.0: every one).")
]
PortOption = Annotated[
    int, typer.Option("--port", min=0, max=65535, help="The API's port (0: any free one).")
]


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


async def _run(settings: Settings, host: str, port: int, workers: bool) -> None:
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
            log.info("serving", url=url, database=settings.database_url, pid=os.getpid())
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


def _start(host: str, port: int, database_url: str | None, workers: bool) -> None:
    settings = settings_or_exit(database_url=database_url)
    configure_logging(settings.log_level, settings.log_format)
    # uvicorn announces every start step at INFO; our own log line says where we serve.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).setLevel(logging.WARNING)
    run_async(_run(settings, host, port, workers))
    err.print(Text("scanhook stopped", style="dim"))


def serve(
    host: HostOption = "127.0.0.1",
    port: PortOption = 8080,
    database_url: DatabaseOption = None,
) -> None:
    """Run the service: the HTTP API, the delivery workers and the background jobs in one
    process, on the configured database (brought to the current schema first).

    The first start with no API token (and no SCANHOOK_API_TOKEN) makes one and prints it once.
    SIGTERM or Ctrl-C stops taking requests, lets attempts in flight finish within
    SCANHOOK_SHUTDOWN_GRACE, and exits 0.
    """
    _start(host, port, database_url, workers=True)


def api(
    host: HostOption = "127.0.0.1",
    port: PortOption = 8080,
    database_url: DatabaseOption = None,
) -> None:
    """Run the HTTP API only; run `scanhook worker` (elsewhere) to deliver."""
    _start(host, port, database_url, workers=False)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.command("api")(api)
