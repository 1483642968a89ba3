"""A SQLite database without ``SCANHOOK_SECRET_KEY``: the key file beside it is made on first
start, owner-only, and used again on every later start; the database file, its -wal and -shm
and the lock file are owner-only too; a database whose key file is lost says so."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from scanhook.store import Endpoint, EndpointSecret, open_store
from scanhook.store.secretbox import SecretKeyError

SIGNING = "whsec_" + "S2VlcC10aGlzLXNlY3JldC1zZWFsZWQ="


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def no_umask() -> Iterator[None]:
    """Umask 0: nothing may rely on a umask to keep its files private."""
    before = os.umask(0)
    try:
        yield
    finally:
        os.umask(before)


async def test_the_key_file_is_made_owner_only_and_used_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_umask: None
) -> None:
    monkeypatch.delenv("SCANHOOK_SECRET_KEY")
    database = tmp_path / "data" / "scanhook.db"
    url = f"sqlite:///{database}"
    store = open_store(url)
    await store.upgrade()
    try:
        made = await store.create_endpoint(
            Endpoint(
                id="ep_1",
                url="https://r.example/h",
                secrets=(EndpointSecret(SIGNING),),
                auth={"type": "bearer", "token": "tok-123456"},
            )
        )
        files = {p.name: mode(p) for p in database.parent.iterdir()}
        assert files == {
            "scanhook.db": 0o600,
            "scanhook.db-wal": 0o600,
            "scanhook.db-shm": 0o600,
            "scanhook.db.lock": 0o600,
            "scanhook.db.key": 0o600,
        }
    finally:
        await store.close()
    key = (database.parent / "scanhook.db.key").read_text()
    assert len(key.strip()) == 43

    again = open_store(url)
    await again.upgrade()
    try:
        got = await again.get_endpoint(made.id)
        assert (got.secrets[0].value, got.auth) == (SIGNING, made.auth)
    finally:
        await again.close()
    assert (database.parent / "scanhook.db.key").read_text() == key

    (database.parent / "scanhook.db.key").unlink()  # lost: a new key cannot open the old secrets
    lost = open_store(url)
    await lost.upgrade()
    try:
        with pytest.raises(SecretKeyError, match=r"the key file .*scanhook\.db\.key does not hold"):
            await lost.get_endpoint(made.id)
    finally:
        await lost.close()
