"""Starting the service where it cannot run: a second serve or worker on one SQLite file is
refused, naming the lock file and the process that holds it; a busy port is one error line."""

from __future__ import annotations

import socket
from pathlib import Path

from acceptance.cli_support import Proc, clean_env, run

URL = r"(http://127\.0\.0\.1:\d+)"


def _env(tmp_path: Path) -> dict[str, str]:
    return clean_env(SCANHOOK_DATABASE_URL=f"sqlite:///{tmp_path / 'one.db'}")


def test_a_second_serve_or_worker_on_one_sqlite_file_is_refused(tmp_path: Path) -> None:
    env = _env(tmp_path)
    lock = f"{tmp_path / 'one.db'}-workers.lock"
    with Proc("serve", "--port", "0", env=env) as first:
        first.expect(r"scanhook is serving " + URL)
        pid = first.popen.pid
        for argv in (("serve", "--port", "0"), ("worker",)):
            second = run(*argv, env=env, timeout=60)
            assert second.returncode == 1, second.stderr
            message = " ".join(second.stderr.split())
            assert message.startswith("error: another scanhook process runs delivery workers")
            assert lock in message
            assert f"process {pid}" in message
            assert "Traceback" not in second.stderr
            assert "scanhook is serving" not in second.stdout
        # An API without workers beside it is fine.
        with Proc("api", "--port", "0", env=env) as api:
            api.expect(r"scanhook is serving " + URL)
            assert api.terminate() == 0
        assert first.terminate() == 0
    # Once the first has stopped, the file is free again.
    with Proc("worker", env=env) as worker:
        worker.expect("worker started")
        assert worker.terminate() == 0


def test_a_busy_port_is_one_clear_error_and_exit_1(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        result = run("serve", "--port", str(port), env=_env(tmp_path), timeout=60)
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines == [f"error: cannot listen on 127.0.0.1:{port}: Address already in use"]
