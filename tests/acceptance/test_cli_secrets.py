"""``scanhook secrets`` and the key on the command line: generate-key, rotate-key with the key
file of a SQLite database and with ``SCANHOOK_SECRET_KEY`` (new key first, old after it),
PostgreSQL refusing to start without a key, and ``rotate-secret --expire-previous``."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import pytest

from acceptance.cli_support import clean_env, run
from scanhook.store import Endpoint, open_store
from scanhook.store.secretbox import SecretKeyError

SIGNING = "whsec_" + "Y2xpLXJvdGF0aW9uLXNpZ25pbmcta2V5LTI0Yg=="
HEADER_VALUE = "cli-header-credential-77"


def _endpoint(url: str, key: str, endpoint_id: str) -> Endpoint:
    async def read() -> Endpoint:
        store = open_store(url, secret_key=key)
        try:
            return await store.get_endpoint(endpoint_id)
        finally:
            await store.close()

    return asyncio.run(read())


def _add(env: dict[str, str]) -> str:
    added = run(
        "endpoint", "add", "https://r.example/hook", "--secret", SIGNING,
        "-H", f"X-Api-Key: {HEADER_VALUE}", "--secret-header", "X-Api-Key", "--json", env=env,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    shown = json.loads(added.stdout)
    assert shown["headers"] == {"X-Api-Key": "********"}
    return str(shown["id"])


def test_generate_key_prints_a_new_key_each_time() -> None:
    first = run("secrets", "generate-key", env=clean_env()).stdout.strip()
    second = run("secrets", "generate-key", env=clean_env()).stdout.strip()
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", first)
    assert first != second


def test_rotate_key_with_the_key_file_of_a_sqlite_database(tmp_path: Path) -> None:
    database = tmp_path / "cli.db"
    url = f"sqlite:///{database}"
    env = clean_env(SCANHOOK_DATABASE_URL=url)
    endpoint_id = _add(env)
    key_file = tmp_path / "cli.db.key"
    old = key_file.read_text().strip()
    assert (key_file.stat().st_mode & 0o777, database.stat().st_mode & 0o777) == (0o600, 0o600)

    rotated = run("secrets", "rotate-key", env=env)
    assert rotated.returncode == 0, rotated.stderr
    assert "2 secret(s) of 1 endpoint(s) encrypted again" in rotated.stdout
    new = key_file.read_text().strip()
    assert new != old
    assert "," not in new
    assert key_file.stat().st_mode & 0o777 == 0o600
    for output in (rotated.stdout, rotated.stderr):
        assert new not in output
        assert old not in output

    got = _endpoint(url, new, endpoint_id)
    assert (got.secrets[0].value, got.headers) == (SIGNING, {"X-Api-Key": HEADER_VALUE})
    with pytest.raises(SecretKeyError):
        _endpoint(url, old, endpoint_id)
    shown = run("endpoint", "show", endpoint_id, "--json", env=env)
    assert shown.returncode == 0, shown.stderr


def test_rotate_key_with_the_setting_new_key_first(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    old = run("secrets", "generate-key", env=clean_env()).stdout.strip()
    new = run("secrets", "generate-key", env=clean_env()).stdout.strip()
    endpoint_id = _add(clean_env(SCANHOOK_DATABASE_URL=url, SCANHOOK_SECRET_KEY=old))
    assert not (tmp_path / "cli.db.key").exists()

    # During the rotation every process holds both keys; new values are sealed with the first.
    both = clean_env(SCANHOOK_DATABASE_URL=url, SCANHOOK_SECRET_KEY=f"{new},{old}")
    rotated = run("secrets", "rotate-key", env=both)
    assert rotated.returncode == 0, rotated.stderr
    assert "2 secret(s) of 1 endpoint(s) encrypted again" in rotated.stdout
    assert "remove the old key(s) from SCANHOOK_SECRET_KEY" in rotated.stderr
    again = run("secrets", "rotate-key", env=both)
    assert "0 secret(s) of 1 endpoint(s) encrypted again" in again.stdout

    only_new = clean_env(SCANHOOK_DATABASE_URL=url, SCANHOOK_SECRET_KEY=new)
    assert run("endpoint", "show", endpoint_id, env=only_new).returncode == 0
    only_old = clean_env(SCANHOOK_DATABASE_URL=url, SCANHOOK_SECRET_KEY=old)
    refused = run("endpoint", "show", endpoint_id, env=only_old)
    assert refused.returncode == 1
    assert "which SCANHOOK_SECRET_KEY does not hold" in refused.stderr
    assert old not in refused.stderr
    assert _endpoint(url, new, endpoint_id).secrets[0].value == SIGNING


@pytest.mark.parametrize("command", [["worker"], ["db", "upgrade"], ["endpoint", "list"]])
def test_postgresql_without_a_key_refuses_to_start_naming_the_setting(command: list[str]) -> None:
    env = clean_env(SCANHOOK_DATABASE_URL="postgresql://scanhook:pw@127.0.0.1:9/scanhook")
    result = run(*command, env=env)
    assert result.returncode == 1
    assert "SCANHOOK_SECRET_KEY is required with PostgreSQL" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_malformed_key_is_a_configuration_error_that_does_not_echo_it(tmp_path: Path) -> None:
    env = clean_env(
        SCANHOOK_DATABASE_URL=f"sqlite:///{tmp_path / 'cli.db'}",
        SCANHOOK_SECRET_KEY="hunter2-is-not-a-key",
    )
    result = run("endpoint", "list", env=env)
    assert result.returncode == 2
    assert "SCANHOOK_SECRET_KEY: each key must be 32 bytes in URL-safe base64" in result.stderr
    assert "hunter2" not in result.stderr


def test_rotate_secret_expire_previous(tmp_path: Path) -> None:
    env = clean_env(SCANHOOK_DATABASE_URL=f"sqlite:///{tmp_path / 'cli.db'}")
    endpoint_id = _add(env)
    for _ in range(4):
        assert run("endpoint", "rotate-secret", endpoint_id, env=env).returncode == 0
    url = env["SCANHOOK_DATABASE_URL"]
    key = (tmp_path / "cli.db.key").read_text().strip()
    assert len(_endpoint(url, key, endpoint_id).secrets) == 3
    expired = run("endpoint", "rotate-secret", endpoint_id, "--expire-previous", env=env)
    assert expired.returncode == 0, expired.stderr
    assert "The previous secrets no longer sign" in expired.stdout
    assert len(_endpoint(url, key, endpoint_id).secrets) == 1
