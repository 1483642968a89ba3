"""Every destinations test runs twice: on a SQLite file in tmp_path and on a PostgreSQL database.

The pattern of ``tests/integration/engine/conftest.py``: PostgreSQL needs
``SCANHOOK_TEST_POSTGRES_URL`` (without it that half is skipped, saying why); each test module
gets its own migrated database and every test starts from empty tables. The engine's helpers
(``engine_support``: receivers, ``hub_on``, ``wait_for``) and the PostgreSQL ones (``pgkit``)
are imported by name from their folders.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

_HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(_HERE.parent / "store"))
sys.path.insert(0, str(_HERE.parent / "engine"))

import engine_support  # noqa: E402 - after the path is set
from pgkit import emptied, module_database  # noqa: E402


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
