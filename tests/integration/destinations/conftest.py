"""Every destinations test runs twice: on a SQLite file in tmp_path and on a PostgreSQL database.

The pattern of ``tests/integration/engine/conftest.py``: PostgreSQL needs
``SCANHOOK_TEST_POSTGRES_URL`` (without it that half is skipped, saying why); each test module
gets its own migrated database and every test starts from empty tables. The engine's helpers
(``engine_support``: receivers, ``hub_on``, ``wait_for``) and the PostgreSQL ones (``pgkit``)
are imported by name from their folders.
"""

from __future__ import annotations

import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(_HERE.parent / "store"))
sys.path.insert(0, str(_HERE.parent / "engine"))

import engine_support  # noqa: E402 - after the path is set
from pgkit import both_backends  # noqa: E402


def _use_url(url: str | None) -> None:
    engine_support.DATABASE_URL = url


postgres_module_url, database = both_backends(_use_url)
