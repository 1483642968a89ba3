"""``scanhook db copy``: move an embedded SQLite database into PostgreSQL, with a progress bar
per table, resumable, verified by row counts (see :mod:`scanhook.store.copy`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from scanhook.cli.common import fail
from scanhook.cli.output import err, out
from scanhook.errors import ScanhookError

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

__all__ = ["db_copy"]


class _Bars:
    """One Rich progress bar per table (the store's CopyProgress)."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._tasks: dict[str, TaskID] = {}

    def table_started(self, table: str, total: int, done: int) -> None:
        self._tasks[table] = self._progress.add_task(table, total=total, completed=done)

    def rows_copied(self, table: str, rows: int) -> None:
        self._progress.advance(self._tasks[table], rows)


def db_copy(
    sqlite_url: Annotated[str, typer.Argument(help="The embedded database, sqlite:///path.")],
    postgres_url: Annotated[
        str, typer.Argument(help="The target, postgresql://user:password@host:port/database.")
    ],
    resume: Annotated[
        bool,
        typer.Option("--resume", help="Continue an interrupted copy of this same SQLite database."),
    ] = False,
    batch_size: Annotated[
        int, typer.Option("--batch-size", min=1, help="Rows per batch (one transaction).")
    ] = 2000,
) -> None:
    """Copy every table of a SQLite database into PostgreSQL (the target is migrated first).

    Stop scanhook on the SQLite file first. The copy goes in batches, one transaction each; if
    it is interrupted, run it again with --resume to continue where it stopped. It refuses a
    target that already holds data (unless --resume) and checks every table's row count at the
    end.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
    from rich.table import Table

    from scanhook.store.copy import copy_database

    try:
        with Progress(
            TextColumn("{task.description:<18}"),
            BarColumn(),
            MofNCompleteColumn(),
            console=err,
            transient=False,
        ) as progress:
            report = copy_database(
                sqlite_url,
                postgres_url,
                resume=resume,
                batch_size=batch_size,
                progress=_Bars(progress),
            )
    except ScanhookError as exc:
        fail(exc.message)
    table = Table("table", "SQLite rows", "PostgreSQL rows", "copied now")
    for figures in report.tables:
        table.add_row(
            figures.table,
            str(figures.source_rows),
            str(figures.target_rows),
            str(figures.copied),
        )
    out.print(table)
    out.print(f"copied {report.copied} rows; every table's row count matches")
