"""Fixtures of the PostgreSQL-only tests: a migrated database per test module, emptied before
each test. Skipped, saying why, without ``SCANHOOK_TEST_POSTGRES_URL``."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# The shared helpers live beside the store tests (the test folders are not packages).
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "store"))

from pgkit import emptied, module_database


@pytest.fixture(scope="module")
def pg_module_url(request: pytest.FixtureRequest) -> Iterator[str]:
    yield from module_database(request.module.__name__)


@pytest.fixture
def pg_url(pg_module_url: str) -> str:
    emptied(pg_module_url)
    return pg_module_url
