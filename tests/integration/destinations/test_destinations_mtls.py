"""An endpoint's client certificate (``auth.mtls``) is presented to a loopback HTTPS receiver
that requires one; without it the same receiver refuses the handshake. Certificates are made
with the ``openssl`` command for each test (skipped when it is missing)."""

from __future__ import annotations

import shutil
import ssl
import subprocess
from pathlib import Path

import pytest
from aiohttp import web
from engine_support import all_final, deliveries, hub_on, ticket, wait_for, worker_with

from scanhook.delivery import HttpClient, NetworkPolicy

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def _certificates(folder: Path) -> None:
    """ca.pem; server.pem/server.key for 127.0.0.1; client.pem/client.key (CN scanhook-client)."""
    _openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=test-ca",
        cwd=folder,
    )
    (folder / "san.cnf").write_text("subjectAltName=IP:127.0.0.1\n")
    for name, extra in (("server", ["-extfile", "san.cnf"]), ("client", [])):
        _openssl(
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            f"{name}.key",
            "-out",
            f"{name}.csr",
            "-subj",
            f"/CN=scanhook-{name}",
            cwd=folder,
        )
        _openssl(
            "x509",
            "-req",
            "-in",
            f"{name}.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            f"{name}.pem",
            "-days",
            "2",
            *extra,
            cwd=folder,
        )


async def test_the_client_certificate_is_presented(tmp_path: Path) -> None:
    _certificates(tmp_path)
    seen: list[str] = []

    async def hook(request: web.Request) -> web.Response:
        peer = request.transport.get_extra_info("peercert") if request.transport else None
        subject = dict(item[0] for item in (peer or {}).get("subject", ()))
        seen.append(str(subject.get("commonName")))
        return web.Response(text="ok")

    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(tmp_path / "server.pem", tmp_path / "server.key")
    server_tls.load_verify_locations(tmp_path / "ca.pem")
    server_tls.verify_mode = ssl.CERT_REQUIRED
    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=0)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0, ssl_context=server_tls).start()
    url = f"https://127.0.0.1:{runner.addresses[0][1]}/hook"
    trust = ssl.create_default_context(cafile=str(tmp_path / "ca.pem"))
    mtls = {
        "cert_pem": (tmp_path / "client.pem").read_text(),
        "key_pem": (tmp_path / "client.key").read_text(),
    }
    try:
        async with (
            hub_on(tmp_path, retry_schedule="0.1s") as hub,
            HttpClient(
                NetworkPolicy(allow_private=True), user_agent="t", ssl_context=trust
            ) as client,
        ):
            with_cert = await hub.add_endpoint(url, auth={"type": "none", "mtls": mtls})
            without = await hub.add_endpoint(url)
            await hub.publish(ticket(1))
            async with worker_with(hub, client):
                for endpoint in (with_cert, without):
                    await wait_for(lambda e=endpoint: all_final(hub, e.id, 1), what="final")
            (sent,) = await deliveries(hub, with_cert.id)
            (refused,) = await deliveries(hub, without.id)
    finally:
        await runner.cleanup()

    assert sent.status == "succeeded"
    assert seen == ["scanhook-client"]
    assert refused.status == "failed"
    assert refused.attempt_log[0].error_kind in ("tls", "connect")
