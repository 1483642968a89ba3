"""Hot statements run straight through the DB-API cursor's ``executemany``.

A statement stays defined once, by name, in :mod:`scanhook.store.queries`; here it is compiled
once per dialect to the driver's own SQL text (``?`` for sqlite3, ``%(name)s`` for psycopg) and
its parameter sets are handed to the driver as they are. That skips SQLAlchemy's per-row
parameter processing, which the benchmark's profile showed as the biggest item of recording.
Only for statements whose parameters need no conversion (strings, numbers, None), and in the
caller's transaction (the same DB-API connection). Driver errors are left to the store's lane,
which wraps ``sqlite3.Error``/``psycopg.Error`` in ``DatabaseError`` like SQLAlchemy's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ClauseElement

__all__ = ["DriverStatement", "executemany", "fetchall"]


@dataclass(frozen=True, slots=True)
class DriverStatement:
    """A statement compiled for one dialect: its SQL text, and its parameters' names in the
    order a positional driver wants them (``positional``) with the compiled-in values
    (literals of the statement, such as ``status == 'sending'``)."""

    sql: str
    names: tuple[str, ...]
    positional: bool
    fixed: Mapping[str, Any]

    def parameters(self, rows: Sequence[Mapping[str, Any]]) -> list[Any]:
        """The parameter sets for the driver: tuples in bind order, or dicts by name."""
        fixed, names = self.fixed, self.names
        if self.positional:
            if fixed:
                rows = [{**fixed, **row} for row in rows]
            if len(names) == 1:
                (name,) = names
                return [(row[name],) for row in rows]
            # itemgetter builds each row's tuple in C: a generator per row cost ≈ 5 % of the
            # fan-out benchmark's CPU.
            values = itemgetter(*names)
            return [values(row) for row in rows]
        if not fixed:
            return list(rows)
        return [{**fixed, **row} for row in rows]


_compiled: dict[tuple[int, str], tuple[ClauseElement, DriverStatement]] = {}


def compile_for(statement: ClauseElement, dialect: Dialect) -> DriverStatement:
    """``statement`` as the ``dialect``'s driver runs it (compiled once, then cached)."""
    key = (id(statement), dialect.name)
    hit = _compiled.get(key)
    if hit is not None and hit[0] is statement:
        return hit[1]
    compiled = statement.compile(dialect=dialect)
    if not isinstance(compiled, SQLCompiler):
        raise TypeError(f"{type(statement).__name__} does not compile to SQL")
    if compiled.positional:
        names = tuple(compiled.positiontup or ())
    else:
        names = tuple(compiled.bind_names.values())
    fixed = {
        name: bind.value
        for name, bind in compiled.binds.items()
        if not bind.required and name in names
    }
    driver = DriverStatement(compiled.string, names, bool(compiled.positional), fixed)
    _compiled[key] = (statement, driver)
    return driver


def executemany(
    connection: Connection, statement: ClauseElement, rows: Sequence[Mapping[str, Any]]
) -> None:
    """Run ``statement`` once per parameter set of ``rows`` (by bind name) in ``connection``'s
    transaction, through the DB-API cursor."""
    if not rows:
        return
    driver = compile_for(statement, connection.dialect)
    cursor = connection.connection.cursor()
    try:
        cursor.executemany(driver.sql, driver.parameters(rows))
    finally:
        cursor.close()


def fetchall(
    connection: Connection, statement: ClauseElement, params: Mapping[str, Any]
) -> list[tuple[Any, ...]]:
    """The rows of the query ``statement`` with ``params``, as the driver returns them (plain
    tuples: only for columns whose values need no conversion), in ``connection``'s
    transaction."""
    driver = compile_for(statement, connection.dialect)
    [parameters] = driver.parameters([params])
    cursor = connection.connection.cursor()
    try:
        cursor.execute(driver.sql, parameters)
        return list(cursor.fetchall())
    finally:
        cursor.close()
