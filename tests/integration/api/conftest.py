"""Fixtures of the API tests: a running API server on a SQLite file in tmp_path."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from apikit import ApiServer


@pytest.fixture
def api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ApiServer]:
    monkeypatch.delenv("SCANHOOK_API_TOKEN", raising=False)
    monkeypatch.delenv("SCANHOOK_CONFIG", raising=False)
    server = ApiServer(tmp_path / "api.db").start()
    try:
        yield server
    finally:
        server.close()
