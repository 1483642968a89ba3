"""``scanhook serve`` (API + workers + background jobs in one process) and ``scanhook api``."""

from __future__ import annotations

import logging
from typing import Annotated

import typer
from rich.text import Text

from scanhook.cli.common import DatabaseOption, run_async, settings_or_exit
from scanhook.cli.output import err

__all__ = ["register"]

HostOption = Annotated[
    str, typer.Option("--host", help="The address the API listens on (0.0.0.0: every one).")
]
PortOption = Annotated[
    int, typer.Option("--port", min=0, max=65535, help="The API's port (0: any free one).")
]


def _start(host: str, port: int, database_url: str | None, workers: bool) -> None:
    from scanhook.gc_tuning import tune_gc
    from scanhook.logs import configure_logging

    settings = settings_or_exit(database_url=database_url)
    configure_logging(settings.log_level, settings.log_format)
    # uvicorn announces every start step at INFO; our own log line says where we serve.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).setLevel(logging.WARNING)
    from scanhook.cli.serving import run_service
    from scanhook.delivery.worker import Worker  # noqa: F401 - loaded before the freeze too

    tune_gc()  # after the imports: they are frozen with the rest of start-up
    run_async(run_service(settings, host, port, workers), settings.event_loop)
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
