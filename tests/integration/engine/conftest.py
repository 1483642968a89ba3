"""Every engine test runs twice: on a SQLite file in tmp_path and on a PostgreSQL database.

PostgreSQL needs ``SCANHOOK_TEST_POSTGRES_URL`` (``.ci/run`` sets it); without it the PostgreSQL
half is skipped with a message saying so. Each test module gets its own migrated database,
dropped afterwards, and every test starts from empty tables. ``hub_on`` reads the URL from
``engine_support.DATABASE_URL``, which the autouse ``database`` fixture sets.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# The PostgreSQL helpers live beside the store tests (the test folders are not packages).
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "store"))

import engine_support
from pgkit import emptied, module_database


@pytest.fixture(scope="module")
def postgres_module_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A migrated PostgreSQL database of this test module."""
    yield from module_database(request.module.__name__)


@pytest.fixture(params=["sqlite", "postgresql"], autouse=True)
def database(request: pytest.FixtureRequest) -> Iterator[str]:
    """The backend of this run of the test: ``sqlite``, or the PostgreSQL URL."""
    if request.param == "sqlite":
        yield "sqlite"
        return
    url = str(request.getfixturevalue("postgres_module_url"))
    emptied(url)
    engine_support.DATABASE_URL = url
    try:
        yield url
    finally:
        engine_support.DATABASE_URL = None
