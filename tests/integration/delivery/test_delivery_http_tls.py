"""TLS: a certificate the client does not trust is a "tls" failure; a trusted one works."""

from __future__ import annotations

import re
import shutil
import ssl
import subprocess
from pathlib import Path

import pytest
from aiohttp import web
from delivery_support import serve

from scanhook.delivery import USER_AGENT, HttpClient, NetworkPolicy

LOOPBACK_OK = NetworkPolicy(allow_private=True)


@pytest.fixture(scope="module")
def self_signed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key, made with the openssl command
    (neither ``cryptography`` nor ``trustme`` is in the lock)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def _app() -> web.Application:
    async def hook(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(text="secure thanks")

    app = web.Application()
    app.router.add_post("/hook", hook)
    return app


async def test_self_signed_certificate_is_a_tls_failure(self_signed: tuple[Path, Path]) -> None:
    cert, key = self_signed
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)
    async with (
        serve(_app(), ssl_context=server_context) as port,
        HttpClient(LOOPBACK_OK, user_agent=USER_AGENT) as http,
    ):
        result = await http.send(f"https://127.0.0.1:{port}/hook", {}, b"{}", timeout=5)
    assert not result.succeeded
    assert result.status_code is None
    assert result.error_kind == "tls"
    assert result.error is not None
    # OpenSSL 1.1 says "self signed", 3.x "self-signed".
    assert re.fullmatch(
        rf"TLS certificate of 127\.0\.0\.1:{port} not trusted: self[- ]signed certificate",
        result.error,
    ), result.error


async def test_a_trusted_certificate_succeeds(self_signed: tuple[Path, Path]) -> None:
    cert, key = self_signed
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)
    trusting = ssl.create_default_context(cafile=str(cert))
    async with (
        serve(_app(), ssl_context=server_context) as port,
        HttpClient(LOOPBACK_OK, user_agent=USER_AGENT, ssl_context=trusting) as http,
    ):
        result = await http.send(f"https://127.0.0.1:{port}/hook", {}, b"{}", timeout=5)
    assert result.succeeded, result.error
    assert result.body == b"secure thanks"
