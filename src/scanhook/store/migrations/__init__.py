"""Alembic migrations of the scanhook schema (``script_location`` = ``scanhook.store:migrations``).

One history for SQLite and PostgreSQL; run them with :mod:`scanhook.store.migrate`.
"""
