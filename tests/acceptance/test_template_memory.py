"""``scanhook serve`` refusing a template that would build N² bytes: its own peak memory barely
moves (the render is bounded before it allocates, and runs in a render process)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import requests

from acceptance.cli_support import Proc, clean_env

URL = r"(http://127\.0\.0\.1:\d+)"
N = 12_000  # ("a"*N).replace("a", "b"*N) is 144 MB


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident memory (VmHWM), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")  # pragma: no cover


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_refused_template_does_not_raise_the_api_memory(tmp_path: Path) -> None:
    env = clean_env(
        SCANHOOK_DATABASE_URL=f"sqlite:///{tmp_path / 'serve.db'}",
        SCANHOOK_ALLOWED_NETWORKS="127.0.0.1/32",
    )
    with Proc("serve", "--port", "0", env=env) as service:
        token = service.expect(r"API token: (shk_\S+)").group(1)
        api = service.expect(r"scanhook is serving " + URL).group(1)
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {token}"

        def save(template: str) -> requests.Response:
            return session.post(
                api + "/v1/endpoints",
                json={
                    "url": "http://127.0.0.1:9/hook",
                    "format": "template",
                    "format_options": {"template": template},
                },
                timeout=30,
            )

        assert save("{{ ticket.number if ticket else 0 }}").status_code == 201  # warm up
        assert save("{{ undefined() }}").status_code == 422
        before = peak_rss_mb(service.popen.pid)
        refusals = [
            save(template)
            for template in (
                f'{{{{ ("a"*{N}).replace("a", "b"*{N}) }}}}',
                f'{{{{ range({N})|join("x"*{N}) }}}}',
                f'{{{{ ("a\\n"*{N})|indent({N}) }}}}',
            )
        ]
        after = peak_rss_mb(service.popen.pid)
        assert after - before < 20, f"peak memory rose from {before:.0f} MB to {after:.0f} MB"
        for refused in refusals:
            assert refused.status_code == 422, refused.text
            assert "would build more than the output budget" in refused.text
        assert service.terminate() == 0
