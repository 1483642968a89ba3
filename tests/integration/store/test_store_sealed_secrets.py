"""Endpoint secrets at rest: a database file or dump alone reveals none of them (the raw bytes of
the SQLite file and its -wal, a ``pg_dump`` of PostgreSQL), the store reads them back whole, a
wrong key is a clear error, ``reseal_secrets`` moves everything to the first key of the ring,
and a claim decrypts an endpoint once per configuration, not once per delivery."""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
from storekit import T0, new_event, ticket

from scanhook.errors import ConfigurationError
from scanhook.store import Endpoint, EndpointSecret, Store, open_store
from scanhook.store.ids import new_id
from scanhook.store.postgres import PostgresStore
from scanhook.store.secretbox import KeyRing, SecretKeyError, generate_key

SIGNING = "whsec_" + base64.b64encode(b"signing-secret-that-must-stay-hidden").decode()
PASSWORD = "basic-password-8Qm2"
TOKEN = "bearer-token-Zr7x"
HEADER_VALUE = "api-key-header-Lp4w"
CLIENT_SECRET = "oauth-client-secret-Vn3k"
KEY_PEM = "-----BEGIN PRIVATE KEY-----\nmtls-private-key-Hd9s\n-----END PRIVATE KEY-----"
SECRET_HEADER_VALUE = "secret-header-value-Tq6e"
EVERY_SECRET = [SIGNING, PASSWORD, TOKEN, HEADER_VALUE, CLIENT_SECRET, "mtls-private-key-Hd9s"]
EVERY_SECRET.append(SECRET_HEADER_VALUE)

AUTHS = [
    {"type": "basic", "username": "hook", "password": PASSWORD},
    {"type": "bearer", "token": TOKEN},
    {"type": "header", "name": "X-Api-Key", "value": HEADER_VALUE},
    {
        "type": "oauth2",
        "token_url": "https://login.example.com/token",
        "client_id": "scanhook",
        "client_secret": CLIENT_SECRET,
    },
    {"type": "bearer", "token": TOKEN + "-2", "mtls": {"cert_pem": "c", "key_pem": KEY_PEM}},
]


def endpoint(auth: dict[str, object] | None, **fields: object) -> Endpoint:
    return Endpoint(
        id=new_id("ep_"),
        url="https://receiver.example/hook",
        secrets=(EndpointSecret(SIGNING, None), EndpointSecret(SIGNING[:-4] + "AAA=", T0)),
        auth=auth,
        headers={"X-Tenant": "acme", "X-Secret": SECRET_HEADER_VALUE},
        secret_headers=("x-secret",),
        **fields,  # type: ignore[arg-type]
    )


def raw_database(store: Store, db_url: str) -> bytes:
    """Everything the database holds, as an attacker with the file or a dump would see it."""
    if db_url.startswith("sqlite"):
        path = Path(db_url.removeprefix("sqlite:///"))
        files = [p for p in path.parent.iterdir() if p.name.startswith(path.name)]
        files = [p for p in files if not p.name.endswith(".key")]
        assert path in files
        return b"".join(p.read_bytes() for p in files)
    if shutil.which("pg_dump") is None:
        pytest.skip("pg_dump is not installed")
    dump = subprocess.run(
        ["pg_dump", "--data-only", db_url], capture_output=True, check=True, timeout=60
    )
    return dump.stdout


async def test_a_database_file_or_dump_reveals_no_secret(store: Store, db_url: str) -> None:
    created = [await store.create_endpoint(endpoint(auth)) for auth in AUTHS]
    created.append(await store.create_endpoint(endpoint(None)))
    await store.publish([new_event(ticket())])
    # Read back whole, through every path that opens them.
    for made, auth in zip(created, [*AUTHS, None], strict=True):
        got = await store.get_endpoint(made.id)
        assert got.auth == (None if auth is None else auth)
        assert [s.value for s in got.secrets] == [SIGNING, SIGNING[:-4] + "AAA="]
        assert got.headers == {"X-Tenant": "acme", "X-Secret": SECRET_HEADER_VALUE}
        assert got.secret_headers == ("x-secret",)
    claimed = await store.claim("w", T0 + 1e9, 60.0, 100)
    assert {c.endpoint.auth["type"] for c in claimed if c.endpoint.auth} == {
        "basic",
        "bearer",
        "header",
        "oauth2",
    }
    assert all(c.endpoint.headers["X-Secret"] == SECRET_HEADER_VALUE for c in claimed)

    data = raw_database(store, db_url)
    assert b"X-Tenant" in data
    assert b"acme" in data
    for secret in EVERY_SECRET:
        assert secret.encode() not in data, secret
        assert base64.b64encode(secret.encode()) not in data, secret


async def test_rotated_and_updated_secrets_stay_sealed(store: Store, db_url: str) -> None:
    made = await store.create_endpoint(endpoint(None))
    rotated = EndpointSecret("whsec_" + base64.b64encode(b"rotated-secret-Ys5u!!").decode())
    await store.set_endpoint_secrets(made.id, [rotated])
    await store.update_endpoint(replace(await store.get_endpoint(made.id), auth=AUTHS[1]))
    got = await store.get_endpoint(made.id)
    assert [s.value for s in got.secrets] == [rotated.value]
    assert got.auth == AUTHS[1]
    data = raw_database(store, db_url)
    for secret in (rotated.value, TOKEN, SECRET_HEADER_VALUE):
        assert secret.encode() not in data, secret


async def test_another_key_is_a_clear_error_and_reseal_moves_to_the_new_key(
    store: Store, db_url: str
) -> None:
    made = await store.create_endpoint(endpoint(AUTHS[0]))
    old = os.environ["SCANHOOK_SECRET_KEY"]
    new = generate_key()
    stranger = open_store(db_url, secret_key=new)
    try:
        with pytest.raises(SecretKeyError, match=rf"endpoint {made.id} secrets: sealed with key"):
            await stranger.get_endpoint(made.id)
    finally:
        await stranger.close()

    rotating = open_store(db_url, secret_key=f"{new},{old}")
    try:
        first = await rotating.reseal_secrets()
        assert (first.endpoints, first.values) == (1, 4)  # two secrets, auth, one header
        again = await rotating.reseal_secrets()
        assert again.values == 0
    finally:
        await rotating.close()
    only_new = open_store(db_url, secret_key=new)
    try:
        got = await only_new.get_endpoint(made.id)
        assert got.auth == AUTHS[0]
        assert got.headers["X-Secret"] == SECRET_HEADER_VALUE
    finally:
        await only_new.close()
    with pytest.raises(SecretKeyError):
        await store.get_endpoint(made.id)  # the old key alone no longer opens them


async def test_a_claim_decrypts_an_endpoint_once_per_configuration(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = await store.create_endpoint(endpoint(AUTHS[1], max_in_flight=1000))
    opened: list[str] = []
    original = KeyRing.open

    def counting(self: KeyRing, sealed: str, where: str) -> str:
        opened.append(where)
        return original(self, sealed, where)

    monkeypatch.setattr(KeyRing, "open", counting)
    await store.publish([new_event(ticket(n)) for n in range(50)])
    assert opened == []  # publishing routes without opening anything
    claimed = []
    for _ in range(5):
        claimed += await store.claim("w", T0 + 1e9, 60.0, 10)
    assert len(claimed) == 50
    assert len(opened) == 4  # two signing secrets, auth, one header: once, for 50 deliveries
    await store.update_endpoint(replace(made, url="https://other.example/h"))
    opened.clear()
    await store.publish([new_event(ticket(99))])
    (late,) = await store.claim("w", T0 + 1e9, 60.0, 10)
    assert late.endpoint.url == "https://other.example/h"
    assert len(opened) == 4  # the new version, once


def test_postgresql_needs_a_key_and_says_which_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SCANHOOK_SECRET_KEY")
    with pytest.raises(ConfigurationError, match="SCANHOOK_SECRET_KEY is required with PostgreSQL"):
        open_store("postgresql://scanhook@127.0.0.1/scanhook")
    assert isinstance(
        open_store("postgresql://scanhook@127.0.0.1/scanhook", secret_key=generate_key()),
        PostgresStore,
    )
    with pytest.raises(ConfigurationError, match="32 bytes in URL-safe base64") as caught:
        open_store("postgresql://scanhook@127.0.0.1/scanhook", secret_key="not-a-key-hunter2")
    assert "hunter2" not in str(caught.value)
