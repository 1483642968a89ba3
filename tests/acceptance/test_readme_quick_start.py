"""The README's quick start, run as written by bash with real ``scanhook`` processes, and what
an operator sees when they skip the private-network allowance.

The block runs in an empty directory holding ``.venv/bin/scanhook`` (a link to the installed
command); only the two ports change (``serve`` and ``listen`` get free ones), so that the test
can run beside others.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

from acceptance.cli_support import SCANHOOK, clean_env, run

README = Path(__file__).resolve().parents[2] / "README.md"
MARKER = "<!-- quick-start:"


def quick_start_block() -> str:
    text = README.read_text(encoding="utf-8")
    after = text[text.index(MARKER) :]
    match = re.search(r"```sh\n(.*?)```", after, re.S)
    assert match is not None, "the README's quick-start block is missing"
    return match.group(1)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_the_readme_quick_start_delivers_a_verified_notification(tmp_path: Path) -> None:
    block = quick_start_block()
    assert "SCANHOOK_ALLOW_PRIVATE_NETWORKS=true" in block
    listen_port, api_port = free_port(), free_port()
    script = (
        block.replace("--port 9000", f"--port {listen_port}")
        .replace("127.0.0.1:9000/", f"127.0.0.1:{listen_port}/")
        .replace("scanhook serve &", f"scanhook serve --port {api_port} &")
    )
    assert script.count(str(listen_port)) == 2
    assert str(api_port) in script
    bin_dir = tmp_path / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "scanhook").symlink_to(SCANHOOK)
    log = tmp_path / "output.log"
    with log.open("wb") as out:
        shell = subprocess.Popen(
            ["bash", "-c", "set -e\n" + script],
            cwd=tmp_path,
            env=clean_env(),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # the background commands share its process group
        )
    try:
        assert shell.wait(timeout=60) == 0, log.read_text()
        deadline = time.monotonic() + 30
        output = ""
        while time.monotonic() < deadline:
            output = log.read_text(encoding="utf-8", errors="replace")
            if re.search(r"✓ signed\s+→ 200", output):
                break
            time.sleep(0.2)
        assert re.search(r"✓ signed\s+→ 200", output), output
        assert "finished_scan" in output
        assert "Traceback" not in output
    finally:  # serve and listen run on in the shell's process group: stop exactly them
        with contextlib.suppress(ProcessLookupError):
            os.killpg(shell.pid, signal.SIGTERM)
            time.sleep(1)
            os.killpg(shell.pid, signal.SIGKILL)


def test_without_the_allowance_the_cli_refuses_a_loopback_endpoint_and_says_how(
    tmp_path: Path,
) -> None:
    env = clean_env(SCANHOOK_DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite'}")
    refused = run("endpoint", "add", "http://127.0.0.1:9000/", env=env)
    assert refused.returncode == 1, refused.stdout
    assert "network policy" in refused.stderr
    assert "SCANHOOK_ALLOW_PRIVATE_NETWORKS=true" in refused.stderr
    assert "Traceback" not in refused.stderr
    added = run("endpoint", "add", "https://hooks.example.com/x", "--json", env=env)
    assert added.returncode == 0, added.stderr
    endpoint_id = re.search(r'"id": "(ep_\w+)"', added.stdout)
    assert endpoint_id is not None
    moved = run("endpoint", "update", endpoint_id.group(1), "--url", "http://[::1]:9/", env=env)
    assert moved.returncode == 1, moved.stdout
    assert "SCANHOOK_ALLOW_PRIVATE_NETWORKS=true" in moved.stderr
