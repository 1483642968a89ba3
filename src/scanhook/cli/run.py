"""``scanhook worker``, ``scanhook db upgrade`` and ``db copy`` (in :mod:`scanhook.cli.db`)."""

from __future__ import annotations

import asyncio
import os
import signal
from typing import TYPE_CHECKING

import typer

from scanhook.cli.common import DatabaseOption, settings_or_exit
from scanhook.cli.db import db_copy
from scanhook.cli.output import err, out

if TYPE_CHECKING:
    from scanhook.config import Settings
from scanhook.errors import ScanhookError
from scanhook.eventloop import run
from scanhook.gc_tuning import tune_gc
from scanhook.redaction import mask_url

__all__ = ["register"]


async def _run_worker(settings: Settings) -> None:
    import structlog

    log = structlog.get_logger("scanhook.cli")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    from scanhook.hub import Hub

    async with Hub(settings) as hub:
        await hub.store.reserve_workers()
        log.info("worker started", database=mask_url(settings.database_url), pid=os.getpid())
        await hub.run(stop)
        log.info("worker stopped")


def worker(database_url: DatabaseOption = None) -> None:
    """Run delivery workers (and the background jobs) until SIGTERM or Ctrl-C.

    On SIGTERM the worker stops claiming, lets attempts in flight finish within
    SCANHOOK_SHUTDOWN_GRACE, gives the rest back to the database and exits 0.
    """
    from scanhook.logs import configure_logging

    settings = settings_or_exit(database_url=database_url)
    configure_logging(settings.log_level, settings.log_format)
    # Imported before tune_gc freezes start-up (the Hub loads the worker's parts on first use).
    from scanhook.delivery.worker import Worker  # noqa: F401
    from scanhook.hub import Hub  # noqa: F401

    tune_gc()
    try:
        run(_run_worker(settings), settings.event_loop)
    except ScanhookError as exc:
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(1) from None


db_app = typer.Typer(
    help="The database: migrations, and copying SQLite into PostgreSQL.", no_args_is_help=True
)


@db_app.command("upgrade")
def db_upgrade(database_url: DatabaseOption = None) -> None:
    """Bring the database to the current schema (safe to run while others start)."""
    settings = settings_or_exit(database_url=database_url)

    from scanhook.hub import Hub

    async def upgrade() -> None:
        async with Hub(settings):
            pass

    try:
        asyncio.run(upgrade())
    except ScanhookError as exc:
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(1) from None
    out.print(f"database is at the current schema: {mask_url(settings.database_url)}")


def register(app: typer.Typer) -> None:
    app.command("worker")(worker)
    db_app.command("copy")(db_copy)
    app.add_typer(db_app, name="db")
