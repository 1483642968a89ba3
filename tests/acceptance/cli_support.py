"""Running the installed ``scanhook`` command in tests: one-shot runs and long-running processes
whose output is read line by line, always stopped at the end."""

from __future__ import annotations

import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

__all__ = ["SCANHOOK", "Proc", "clean_env", "run"]


def _scanhook_path() -> str:
    beside_python = Path(sys.executable).parent / "scanhook"
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which("scanhook")
    if found is None:
        pytest.fail("the scanhook command is not installed (run: bash scripts/bootstrap.sh)")
    return found


SCANHOOK = _scanhook_path()


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without any SCANHOOK_* setting of the developer's, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCANHOOK_")}
    env.update({"NO_COLOR": "1", "TERM": "dumb", "COLUMNS": "200"})
    env.update(extra)
    return env


def run(
    *args: str, env: dict[str, str], stdin: bytes | None = None, timeout: float = 30
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [SCANHOOK, *args],
        input=stdin,
        capture_output=True,
        env=env,
        timeout=timeout,
        check=False,
    )
    return subprocess.CompletedProcess(
        result.args,
        result.returncode,
        result.stdout.decode("utf-8", "replace"),
        result.stderr.decode("utf-8", "replace"),
    )


class Proc:
    """A ``scanhook`` process whose stdout and stderr (merged) are read line by line; use it as
    ``with Proc(...) as proc:`` so that it is killed whatever the test does."""

    def __init__(self, *args: str, env: dict[str, str]) -> None:
        self.popen = subprocess.Popen(
            [SCANHOOK, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
        )
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.popen.stdout is not None
        for raw in self.popen.stdout:
            self._queue.put(raw.decode("utf-8", "replace").rstrip("\n"))
        self._queue.put(None)

    def expect(self, pattern: str, timeout: float = 20) -> re.Match[str]:
        """The first new line matching ``pattern``; fails with the output so far if none."""
        compiled = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                line = self._queue.get(timeout=remaining)
            except queue.Empty:
                break
            if line is None:
                break
            self.lines.append(line)
            match = compiled.search(line)
            if match:
                return match
        output = "\n".join(self.lines)
        pytest.fail(f"no line matching {pattern!r} within {timeout} s; output:\n{output}")

    def output(self) -> str:
        """Everything printed so far (drains what has arrived)."""
        while True:
            try:
                line = self._queue.get_nowait()
            except queue.Empty:
                break
            if line is None:
                break
            self.lines.append(line)
        return "\n".join(self.lines)

    def terminate(self, timeout: float = 20) -> int:
        """SIGTERM, then the exit status (SIGKILL and a failure if it does not stop)."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
        try:
            code = self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()
            pytest.fail(f"the process did not stop on SIGTERM; output:\n{self.output()}")
        self._reader.join(5)
        self.output()
        return code

    def __enter__(self) -> Proc:
        return self

    def __exit__(self, *exc: object) -> None:
        self.kill()

    def kill(self) -> None:
        if self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait()
        if self.popen.stdout is not None:
            self.popen.stdout.close()
