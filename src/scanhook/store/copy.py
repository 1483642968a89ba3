"""Moving an embedded database into PostgreSQL: what ``scanhook db copy`` runs.

Both databases are first brought to the newest migration, so they have the same tables; then
every table of :data:`scanhook.store.tables.metadata` is copied in dependency order (a table added
by a later migration is included without changes here), in batches read in primary-key order.

* **Resumable.** Each batch is one transaction on PostgreSQL, so an interrupted copy leaves every
  table a prefix (in key order) of its source. Copying again with ``resume=True`` starts each
  table after the largest key already there (compared byte-wise, as SQLite orders them), and
  inserts with ``ON CONFLICT DO NOTHING``, so nothing is copied twice.
* **Refuses to mix.** Without ``resume`` the target must hold no rows yet; with it, no table of
  the target may hold more rows than its source.
* **Verified.** At the end every table must have as many rows as its source; a counter of
  :data:`COUNTERS` (the publish sequence, which the migrations seed) takes the larger value.

Stop scanhook on the SQLite file first: rows changed during a copy are not copied again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import Column, Engine, String, Table, func, select, tuple_
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from scanhook.errors import ConflictError, DatabaseError
from scanhook.store.lane import describe_driver_error
from scanhook.store.migrate import upgrade_postgresql, upgrade_sqlite
from scanhook.store.postgres_engine import make_postgres_engine, postgres_label, postgres_url
from scanhook.store.sqlite_engine import make_sqlite_engine, sqlite_path
from scanhook.store.tables import metadata

__all__ = [
    "COUNTERS",
    "DEFAULT_BATCH",
    "CopyProgress",
    "CopyReport",
    "TableCopy",
    "copy_database",
]

#: Rows per batch (one read on SQLite, one transaction on PostgreSQL).
DEFAULT_BATCH = 2000
#: Tables of named counters that the migrations seed: the target keeps the larger value.
COUNTERS: Mapping[str, str] = {"sequences": "value"}


class CopyProgress(Protocol):
    """What the copy reports as it goes (the CLI draws a progress bar per table)."""

    def table_started(self, table: str, total: int, done: int) -> None:
        """``table`` has ``total`` rows in the source, ``done`` of them already in the target."""

    def rows_copied(self, table: str, rows: int) -> None:
        """One more batch of ``rows`` rows of ``table`` committed."""


@dataclass(frozen=True)
class TableCopy:
    """One table's copy: its rows in the source, in the target before and after."""

    table: str
    source_rows: int
    target_rows_before: int
    target_rows: int

    @property
    def copied(self) -> int:
        return self.target_rows - self.target_rows_before


@dataclass(frozen=True)
class CopyReport:
    """Every table's figures; ``complete`` is False when stopped by ``max_batches``."""

    tables: tuple[TableCopy, ...]
    complete: bool

    @property
    def copied(self) -> int:
        return sum(t.copied for t in self.tables)


class _Stopped(Exception):
    """Raised inside the copy when ``max_batches`` batches are done."""


@contextmanager
def _wrapped(label: str, op: str) -> Iterator[None]:
    try:
        yield
    except SQLAlchemyError as exc:
        raise DatabaseError(f"{label}: {op} failed: {describe_driver_error(exc).strip()}") from exc


def _count(connection: Connection, table: Table) -> int:
    return int(connection.execute(select(func.count()).select_from(table)).scalar_one())


def _order(column: Column[Any], *, postgres: bool) -> Any:
    """A key column as both databases order it the same way: byte-wise for text."""
    if postgres and isinstance(column.type, String):
        return column.collate("C")
    return column


def _last_key(connection: Connection, table: Table) -> tuple[Any, ...] | None:
    """The largest primary key in the target's ``table`` (None when it is empty)."""
    key = list(table.primary_key.columns)
    row = connection.execute(
        select(*key).order_by(*(_order(c, postgres=True).desc() for c in key)).limit(1)
    ).first()
    return None if row is None else tuple(row)


def _batches(
    engine: Engine, label: str, table: Table, after: tuple[Any, ...] | None, size: int
) -> Iterator[list[dict[str, Any]]]:
    """The source's rows of ``table`` after the key ``after``, in key order, ``size`` at a time."""
    key = list(table.primary_key.columns)
    while True:
        query = select(table).order_by(*key).limit(size)
        if after is not None:
            query = query.where(tuple_(*key) > tuple_(*after))
        with _wrapped(label, f"reading {table.name}"), engine.connect() as connection:
            rows = [dict(row) for row in connection.execute(query).mappings()]
        if not rows:
            return
        yield rows
        after = tuple(rows[-1][c.name] for c in key)


def _only_key(table: Table) -> str:
    (column,) = table.primary_key.columns
    return str(column.name)


def _insert(table: Table) -> Any:
    key = [c.name for c in table.primary_key.columns]
    statement = pg_insert(table)
    counter = COUNTERS.get(table.name)
    if counter is None:
        return statement.on_conflict_do_nothing(index_elements=key)
    return statement.on_conflict_do_update(
        index_elements=key,
        set_={counter: func.greatest(table.c[counter], statement.excluded[counter])},
    )


def _check_target(
    source_counts: Mapping[str, int], target_counts: Mapping[str, int], label: str, resume: bool
) -> None:
    if not resume:
        held = [
            f"{name}: {rows}"
            for name, rows in target_counts.items()
            if rows and name not in COUNTERS
        ]
        if held:
            raise ConflictError(
                f"{label} already holds data ({', '.join(held)} rows); copy into an empty "
                "database, or pass --resume to continue a copy of this same SQLite database"
            )
        return
    more = [
        f"{name}: {target_counts[name]} > {source_counts[name]}"
        for name in target_counts
        if target_counts[name] > source_counts[name]
    ]
    if more:
        raise ConflictError(
            f"{label} holds more rows than the SQLite database ({', '.join(more)}): it is not "
            "a partial copy of it; copy into an empty database"
        )


def _verify(
    source: Engine, source_label: str, target: Engine, target_label: str
) -> list[tuple[str, int, int]]:
    """Every table's (name, source rows, target rows); DatabaseError naming each mismatch."""
    figures: list[tuple[str, int, int]] = []
    problems: list[str] = []
    with (
        _wrapped(source_label, "counting rows"),
        source.connect() as s,
        _wrapped(target_label, "counting rows"),
        target.connect() as t,
    ):
        for table in metadata.sorted_tables:
            have, want = _count(t, table), _count(s, table)
            figures.append((table.name, want, have))
            if have != want:
                problems.append(f"{table.name} has {have} rows, the source {want}")
            counter = COUNTERS.get(table.name)
            if counter is not None:
                name_col, value_col = table.c[_only_key(table)], table.c[counter]
                ours: dict[str, int] = {
                    str(n): int(v) for n, v in t.execute(select(name_col, value_col))
                }
                for n, v in s.execute(select(name_col, value_col)):
                    if ours.get(str(n), -1) < int(v):
                        problems.append(f"{table.name} {n!r} is {ours.get(str(n))}, not {v}")
    if problems:
        raise DatabaseError(
            f"the copy into {target_label} does not match the SQLite database: "
            + "; ".join(problems)
            + " (copy again with --resume; if it still differs, scanhook was writing to the "
            "SQLite file during the copy: stop it and copy into a new database)"
        )
    return figures


def copy_database(
    source_url: str,
    target_url: str,
    *,
    resume: bool = False,
    batch_size: int = DEFAULT_BATCH,
    progress: CopyProgress | None = None,
    max_batches: int | None = None,
) -> CopyReport:
    """Copy the SQLite database ``source_url`` into the PostgreSQL database ``target_url``.

    Both are upgraded to the newest migration first. ``max_batches`` stops after that many
    batches in all (to interrupt a copy on purpose, as a test does); the report then says
    ``complete=False`` and nothing is verified. Raises ConflictError when the target already
    holds other data, DatabaseError on a driver error or when the counts differ at the end.
    """
    if batch_size < 1:
        raise ValueError("batch_size: give at least 1")
    path = sqlite_path(source_url)
    if not Path(path).is_file():
        raise DatabaseError(f"SQLite database {path}: no such file")
    source_label = f"SQLite database {path}"
    url = postgres_url(target_url)
    target_label = postgres_label(url)
    writer = make_sqlite_engine(path, writer=True)
    source = make_sqlite_engine(path, writer=False)
    target = make_postgres_engine(url, pool_size=1)
    try:
        with _wrapped(source_label, "upgrade"):
            upgrade_sqlite(writer, path)
        with _wrapped(target_label, "upgrade"):
            upgrade_postgresql(url.render_as_string(hide_password=False))
        return _copy(
            source,
            source_label,
            target,
            target_label,
            resume=resume,
            batch_size=batch_size,
            progress=progress,
            max_batches=max_batches,
        )
    finally:
        writer.dispose()
        source.dispose()
        target.dispose()


def _copy(
    source: Engine,
    source_label: str,
    target: Engine,
    target_label: str,
    *,
    resume: bool,
    batch_size: int,
    progress: CopyProgress | None,
    max_batches: int | None,
) -> CopyReport:
    tables = metadata.sorted_tables
    with _wrapped(source_label, "counting rows"), source.connect() as connection:
        source_counts = {t.name: _count(connection, t) for t in tables}
    with _wrapped(target_label, "counting rows"), target.connect() as connection:
        before = {t.name: _count(connection, t) for t in tables}
    _check_target(source_counts, before, target_label, resume)

    batches = 0
    done: dict[str, int] = dict(before)
    on_batch: Callable[[str, int], None] = progress.rows_copied if progress else lambda _t, _n: None
    try:
        for table in tables:
            if progress is not None:
                progress.table_started(
                    table.name,
                    source_counts[table.name],
                    0 if table.name in COUNTERS else before[table.name],
                )
            after = None
            if table.name not in COUNTERS:
                with _wrapped(target_label, f"reading {table.name}"), target.connect() as c:
                    after = _last_key(c, table)
            statement = _insert(table)
            for rows in _batches(source, source_label, table, after, batch_size):
                if max_batches is not None and batches >= max_batches:
                    raise _Stopped
                with _wrapped(target_label, f"writing {table.name}"), target.begin() as c:
                    c.execute(statement, rows)
                batches += 1
                done[table.name] = min(done[table.name] + len(rows), source_counts[table.name])
                on_batch(table.name, len(rows))
    except _Stopped:
        figures = tuple(
            TableCopy(t.name, source_counts[t.name], before[t.name], done[t.name]) for t in tables
        )
        return CopyReport(figures, complete=False)
    verified = _verify(source, source_label, target, target_label)
    return CopyReport(
        tuple(TableCopy(name, want, before[name], have) for name, want, have in verified),
        complete=True,
    )
