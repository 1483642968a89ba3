"""A real ``scanhook worker`` tells its operator, in its log, when a circuit opens, when a
delivery fails for good, when an endpoint is disabled and when it recovers: once per change of
state, not once per attempt."""

from __future__ import annotations

import asyncio
import json
import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from acceptance.cli_support import Proc, clean_env
from scanhook.hub import Hub
from scanhook.notifications import samples


class Receiver:
    """A loopback receiver whose answer (an HTTP status per path) the test changes."""

    def __init__(self) -> None:
        self.status = {"/flaky": 500, "/gone": 410}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                self.send_response(receiver.status.get(self.path, 404))
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def _events(lines: list[str], message: str) -> list[dict[str, Any]]:
    found = []
    for line in lines:
        if line.startswith("{"):
            entry = json.loads(line)
            if entry.get("event", "").startswith(message):
                found.append(entry)
    return found


def test_the_worker_logs_each_change_of_state_once(tmp_path: Path, receiver: Receiver) -> None:
    database = f"sqlite:///{tmp_path / 'alerts.db'}"

    async def setup() -> tuple[str, str, Hub]:
        hub = Hub.open(database, allow_private_networks=True)
        flaky = await hub.add_endpoint(f"{receiver.url}/flaky")
        gone = await hub.add_endpoint(f"{receiver.url}/gone")
        return flaky.id, gone.id, hub

    async def publish(hub: Hub, count: int) -> None:
        await hub.publish_batch(samples("ticket.opened", count))

    loop = asyncio.new_event_loop()
    flaky, gone, hub = loop.run_until_complete(setup())
    env = clean_env(
        SCANHOOK_DATABASE_URL=database,
        SCANHOOK_SECRET_KEY=os.environ["SCANHOOK_SECRET_KEY"],
        SCANHOOK_ALLOW_PRIVATE_NETWORKS="true",
        SCANHOOK_RETRY_SCHEDULE="0.3s",  # two attempts per delivery; circuit pauses of 0.3 s
        SCANHOOK_CIRCUIT_THRESHOLD="3",
        SCANHOOK_POLL_INTERVAL="0.1s",
        SCANHOOK_LOG_FORMAT="json",
    )
    try:
        with Proc("worker", env=env) as worker:
            worker.expect("worker started")
            loop.run_until_complete(publish(hub, 4))
            # /flaky: 4 deliveries x 2 attempts fail; /gone: its 410s disable it (its deliveries
            # wait for it to be enabled again: not failed).
            for _ in range(4):
                worker.expect("delivery failed for good", timeout=30)
            receiver.status["/flaky"] = 200
            loop.run_until_complete(publish(hub, 1))
            worker.expect("endpoint recovered", timeout=30)
            assert worker.terminate() == 0
            lines = worker.lines
    finally:
        loop.run_until_complete(hub.close())
        loop.close()

    opened = _events(lines, "circuit opened")
    assert [e["endpoint"] for e in opened] == [flaky]
    assert opened[0]["level"] == "warning"
    assert "3 consecutive failures; last: HTTP 500" in opened[0]["reason"]
    disabled = _events(lines, "endpoint disabled")
    assert [e["endpoint"] for e in disabled] == [gone]
    assert "410" in disabled[0]["reason"]
    recovered = _events(lines, "endpoint recovered")
    assert [(e["endpoint"], e["level"]) for e in recovered] == [(flaky, "info")]
    exhausted = _events(lines, "delivery failed for good")
    # Each of /flaky's 4 deliveries once, after its second attempt.
    assert [e["endpoint"] for e in exhausted] == [flaky] * 4
    assert len({e["delivery"] for e in exhausted}) == 4
    assert {(e["attempts"], e["last"], e["level"]) for e in exhausted} == {
        (2, "HTTP 500", "warning")
    }
