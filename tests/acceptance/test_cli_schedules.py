"""``scanhook schedule …`` as operators run it, on the database and through ``--api-url``, and a
real ``scanhook worker`` with a schedule due every three seconds, killed with SIGKILL and started
again: every notice is published exactly once and delivered to a loopback receiver."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from aiohttp import web
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from acceptance.cli_support import SCANHOOK, Proc, clean_env, run
from scanhook import Hub
from scanhook.schedules import Plan, parse_schedule

URL = r"(http://127\.0\.0\.1:\d+)"
TOKEN = "shk_schedule-acceptance-token-0123456789"


def _json(result: subprocess.CompletedProcess[str]) -> object:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_schedule_commands_on_the_database(tmp_path: Path) -> None:
    env = clean_env(SCANHOOK_DATABASE_URL=f"sqlite:///{tmp_path / 'cli.db'}")
    added = _json(
        run(
            "schedule", "add", "Nightly scan", "--type", "network",
            "--link", "https://sc.example.com/scans/schedules/view/42",
            "--recurrence", "DTSTART:20260301T023000\\nRRULE:FREQ=DAILY",
            "--timezone", "Europe/Stockholm", "--lead", "24h", "--lead", "0s", "--json",
            env=env,
        )
    )  # fmt: skip
    assert isinstance(added, dict)
    sid = added["id"]
    assert added["recurrence"] == "DTSTART:20260301T023000\nRRULE:FREQ=DAILY"
    assert added["leads"] == ["24h", "0s"]

    listed = run("schedule", "list", env=env)
    assert listed.returncode == 0
    assert sid in listed.stdout
    assert "Nightly scan" in listed.stdout

    upcoming = _json(run("schedule", "next", sid, "-n", "4", "--json", env=env))
    assert isinstance(upcoming, dict)
    notices = upcoming["notices"]
    assert sorted(n["lead"] for n in notices) == ["0s", "0s", "24h", "24h"]
    assert [n["send_at"] for n in notices] == sorted(n["send_at"] for n in notices)
    assert all(n["starts_at"].endswith(":30") for n in notices)

    bad = run("schedule", "update", sid, "--lead", "soon", env=env)
    assert bad.returncode == 1
    assert "leads.0: duration 'soon'" in bad.stderr
    assert "Traceback" not in bad.stderr
    disabled = _json(run("schedule", "update", sid, "--disable", "--json", env=env))
    assert isinstance(disabled, dict)
    assert disabled["enabled"] is False
    table = run("schedule", "next", sid, env=env)
    assert table.returncode == 0
    assert "SEND AT" in table.stdout
    assert "24h" not in table.stdout  # disabled: nothing to come

    deleted = run("schedule", "delete", sid, env=env)
    assert deleted.returncode == 0
    assert f"schedule {sid} deleted" in deleted.stdout
    gone = run("schedule", "show", sid, env=env)
    assert gone.returncode == 1
    assert "no such schedule" in gone.stderr
    log = _json(run("schedule", "notices", sid, "--json", env=env))
    assert log == []  # nothing was due; the log of a deleted schedule stays readable


def test_schedule_commands_through_the_api(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'serve.db'}"
    env = clean_env(SCANHOOK_DATABASE_URL=database, SCANHOOK_API_TOKEN=TOKEN)
    with Proc("serve", "--port", "0", env=env) as service:
        api = service.expect(r"scanhook is serving " + URL).group(1)
        remote = {**clean_env(), "SCANHOOK_API_URL": api, "SCANHOOK_API_TOKEN": TOKEN}
        added = _json(
            run(
                "schedule", "add", "Weekly web scan", "-t", "web application",
                "--link", "https://sc.example.com/s/7", "-r", "0 22 * * 6", "--json",
                env=remote,
            )
        )  # fmt: skip
        assert isinstance(added, dict)
        sid = added["id"]
        assert added["leads"] == ["24h", "1h"]
        # The service and the database agree.
        assert _json(run("schedule", "list", "--json", env=env)) == [added]
        via_api = _json(run("schedule", "next", sid, "-n", "3", "--json", env=remote))
        direct = requests.get(
            f"{api}/v1/schedules/{sid}/next",
            params={"count": 3},
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=10,
        ).json()
        assert via_api == direct
        changed = _json(run("schedule", "update", sid, "--name", "Renamed", "--json", env=remote))
        assert isinstance(changed, dict)
        assert changed["name"] == "Renamed"
        invalid = run("schedule", "update", sid, "-z", "Mars/Olympus", env=remote)
        assert invalid.returncode == 1
        assert "timezone: " in invalid.stderr
        assert "Mars/Olympus" in invalid.stderr
        assert run("schedule", "delete", sid, env=remote).returncode == 0
        assert _json(run("schedule", "list", "--json", env=remote)) == []
        assert service.terminate() == 0


# -- a real worker, SIGKILL and a restart ------------------------------------------------------
#: A notice every three seconds: a run every minute, announced 0, 3, 6, … 57 seconds ahead.
LEADS = [f"{s}s" for s in range(0, 60, 3)]


@dataclass
class Receiver:
    """Loopback receiver that records each delivery's webhook-id and body."""

    seen: list[tuple[str, bytes]] = field(default_factory=list)
    port: int = 0

    async def hook(self, request: web.Request) -> web.Response:
        self.seen.append((request.headers["webhook-id"], await request.read()))
        return web.Response(text="ok")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"


def _worker(tmp_path: Path, database: str, n: int) -> subprocess.Popen[bytes]:
    env = clean_env(
        SCANHOOK_DATABASE_URL=database,
        # The key the test's own Hub seals endpoint secrets with (tests/conftest.py).
        SCANHOOK_SECRET_KEY=os.environ["SCANHOOK_SECRET_KEY"],
        SCANHOOK_ALLOW_PRIVATE_NETWORKS="true",
        SCANHOOK_POLL_INTERVAL="0.2s",
        SCANHOOK_LEASE="3s",
        SCANHOOK_RETRY_SCHEDULE="0.2s,0.4s",
        SCANHOOK_LOG_LEVEL="warning",
    )
    log = (tmp_path / f"worker-{n}.log").open("wb")
    try:
        return subprocess.Popen([SCANHOOK, "worker"], env=env, stdout=log, stderr=log)
    finally:
        log.close()


def _logs(tmp_path: Path) -> str:
    return "\n".join(p.read_text() for p in sorted(tmp_path.glob("worker-*.log")))


async def _until(condition: object, within: float, what: str, tmp_path: Path) -> None:
    assert callable(condition)
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            logs = _logs(tmp_path)
            raise AssertionError(f"timed out after {within} s waiting for {what}\n{logs[-3000:]}")
        await asyncio.sleep(0.05)


def _count(path: Path, sql: str) -> int:
    engine = create_engine(f"sqlite:///{path}", poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return int(connection.execute(text(sql)).scalar_one())
    finally:
        engine.dispose()


@pytest.mark.slow
async def test_a_killed_worker_publishes_each_notice_exactly_once(tmp_path: Path) -> None:
    path = tmp_path / "scanhook.db"
    database = f"sqlite:///{path}"
    receiver = Receiver()
    app = web.Application()
    app.router.add_post("/hook", receiver.hook)
    runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=0)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    receiver.port = int(runner.addresses[0][1])
    processes: list[subprocess.Popen[bytes]] = []
    try:
        async with Hub.open(database, allow_private_networks=True) as hub:
            await hub.add_endpoint(receiver.url, event_types=["scheduled_scan"])
            start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=1)
            body = {
                "name": "Every minute",
                "type": "network",
                "link": "https://sc.example.com/s/1",
                "recurrence": f"DTSTART:{start:%Y%m%dT%H%M%S}Z\nRRULE:FREQ=MINUTELY",
                "leads": LEADS,
            }
            schedule = await hub.add_schedule(body)

            processes.append(_worker(tmp_path, database, 0))
            await _until(lambda: len(receiver.seen) >= 3, 20, "3 deliveries", tmp_path)
            processes[0].kill()  # SIGKILL: no chance to clean up
            processes[0].wait(10)
            killed_at = time.time()
            await asyncio.sleep(3)  # notices fall due while no worker runs

            before = len(receiver.seen)
            processes.append(_worker(tmp_path, database, 1))
            await _until(
                lambda: len(receiver.seen) >= before + 3, 30, "deliveries after restart", tmp_path
            )
            processes[1].terminate()
            assert processes[1].wait(20) == 0

            log = []
            after: str | None = None
            while page := await hub.schedule_notices(schedule.id, after=after, limit=100):
                log.extend(page)
                after = page[-1].key
            record = await hub.store.get_schedule(schedule.id)
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait(10)
        await runner.cleanup()

    # Every notice between the schedule's creation and the last pass was decided once, sent
    # (the downtime was within the grace window), including those that fell due while killed.
    plan = Plan.from_spec(schedule.id, parse_schedule(body))
    expected = [
        n.key
        for n in plan.notices(
            datetime.fromtimestamp(schedule.created_at, UTC),
            datetime.fromtimestamp(record.notices_through, UTC),
        )
    ]
    assert sorted(n.key for n in log) == sorted(expected)
    assert {n.status for n in log} == {"sent"}
    assert any(killed_at < n.send_at < killed_at + 3 for n in log)
    # One event per notice, never a second one: the notice and its event are one transaction.
    assert _count(path, "SELECT count(*) FROM events") == len(log)
    assert _count(path, "SELECT count(DISTINCT event_id) FROM schedule_notices") == len(log)
    # One delivery each; what arrived is what succeeded (an attempt repeated after the kill
    # keeps its webhook-id); the last ones may still be pending when the worker stopped.
    assert _count(path, "SELECT count(*) FROM deliveries") == len(log)
    delivered = {webhook_id for webhook_id, _ in receiver.seen}
    assert len(delivered) == _count(
        path, "SELECT count(*) FROM deliveries WHERE status = 'succeeded'"
    )
    for _, raw in receiver.seen:
        payload = json.loads(raw)["scheduled_scan"]
        assert payload["name"] == "Every minute"
