"""Every engine test runs twice: on a SQLite file in tmp_path and on a PostgreSQL database.

PostgreSQL needs ``SCANHOOK_TEST_POSTGRES_URL`` (``.ci/run`` sets it); without it the PostgreSQL
half is skipped with a message saying so. Each test module gets its own migrated database,
dropped afterwards, and every test starts from empty tables. ``hub_on`` reads the URL from
``engine_support.DATABASE_URL``, which the autouse ``database`` fixture sets.
"""

from __future__ import annotations

import sys
from pathlib import Path

# The PostgreSQL helpers live beside the store tests (the test folders are not packages).
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "store"))

import engine_support
from pgkit import both_backends


def _use_url(url: str | None) -> None:
    engine_support.DATABASE_URL = url


postgres_module_url, database = both_backends(_use_url)
