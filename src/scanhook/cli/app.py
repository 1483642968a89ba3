"""The root ``scanhook`` command: its help and ``--version``; the subcommands register on it."""

from __future__ import annotations

from typing import Annotated

import typer

__all__ = ["app"]

app = typer.Typer(
    name="scanhook",
    help=(
        "scanhook delivers the Security Center's notifications (scheduled scans, finished "
        "scans, opened and closed tickets) to your systems as signed webhooks."
    ),
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="markdown",
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _print_version(value: bool) -> None:
    if value:
        from scanhook._version import __version__

        typer.echo(f"scanhook {__version__}")
        raise typer.Exit


@app.callback()
def root(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            "-V",
            help="Print scanhook's version and exit.",
            callback=_print_version,
            is_eager=True,
        ),
    ] = False,
) -> None:
    """scanhook delivers the Security Center's notifications (scheduled scans, finished scans,
    opened and closed tickets) to your systems as signed webhooks."""
