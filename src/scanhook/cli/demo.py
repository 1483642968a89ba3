"""``scanhook demo``: scanhook end to end in a few seconds (the work is in ``demo_run``)."""

from __future__ import annotations

from typing import Annotated

import typer

from scanhook.cli.common import run_async

__all__ = ["register"]


def demo(
    timeout: Annotated[
        float,
        typer.Option("--timeout", min=1, max=600, help="Give up after this many seconds."),
    ] = 30.0,
    seed: Annotated[
        int | None,
        typer.Option("--seed", help="Same seed, same sample notifications.", show_default=False),
    ] = None,
) -> None:
    """See scanhook work end to end in a few seconds, touching nothing on this machine.

    On a temporary SQLite file it starts the service and a `scanhook listen` receiver on free
    loopback ports, registers the receiver through the API, publishes the seed's finished_scan
    example and a short day of scans and tickets, and shows them arriving with verified
    signatures.
    """
    from scanhook.cli.demo_run import run_demo

    if not run_async(run_demo(timeout, seed)):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
