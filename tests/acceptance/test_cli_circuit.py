"""The CLI shows an endpoint's circuit (list, show) and says when it will delay a retry or a
replay. The circuit is opened by the engine's own store calls on the SQLite file (claim, then
record five failures), so that it stays open while the commands look at it."""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path

import pytest

from acceptance.cli_support import clean_env, run
from scanhook.hub import Hub
from scanhook.store import AttemptOutcome

TICKET = {
    "ticket": {
        "number": 7,
        "status": "Open",
        "severity": "High",
        "vulnerability_name": "OpenSSH outdated",
        "asset_name": "web-1",
        "asset_link": "https://sc.example.com/assets/1",
        "due_date": "2026-12-01",
        "owner": "ops@example.com",
    }
}


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    # The key the test's own Hub seals the endpoint's secret with.
    return clean_env(
        SCANHOOK_DATABASE_URL=f"sqlite:///{tmp_path / 'cli.db'}",
        SCANHOOK_SECRET_KEY=os.environ["SCANHOOK_SECRET_KEY"],
    )


def open_circuit(url: str) -> tuple[str, list[str]]:
    """An endpoint whose circuit five failures opened just now, for 30 s (the first step of
    the schedule 30s,60s); two of those deliveries failed for good. Returns their ids."""

    async def go() -> tuple[str, list[str]]:
        async with Hub.open(url, retry_schedule="30s,60s", allow_private_networks=True) as hub:
            endpoint = await hub.add_endpoint("http://127.0.0.1:9/hook")
            await hub.publish_batch([TICKET] * 6)
            now = time.time()
            claimed = await hub.store.claim("w", now, 30.0, 5)
            await hub.store.record(
                [
                    AttemptOutcome(
                        delivery_id=c.id,
                        endpoint_id=endpoint.id,
                        number=1,
                        started_at=now,
                        duration_ms=10.0,
                        succeeded=False,
                        status_code=500,
                        error_kind="http",
                        error="HTTP 500",
                        next_attempt_at=now + 30 if i < 3 else None,
                    )
                    for i, c in enumerate(claimed)
                ]
            )
            return endpoint.id, [c.id for c in claimed[3:]]

    return asyncio.run(go())


def test_the_cli_shows_the_circuit_and_says_when_it_delays_a_retry_or_replay(
    env: dict[str, str],
) -> None:
    endpoint_id, failed = open_circuit(env["SCANHOOK_DATABASE_URL"])
    why = "(5 consecutive failures; last: HTTP 500)"

    listed = run("endpoint", "list", env=env)
    assert listed.returncode == 0, listed.stderr
    assert "circuit open until 20" in listed.stdout
    assert why in listed.stdout
    shown = run("endpoint", "show", endpoint_id, env=env)
    assert shown.returncode == 0, shown.stderr
    lines = [" ".join(line.split()) for line in shown.stdout.splitlines()]
    assert "circuit open" in lines
    assert "circuit reason 5 consecutive failures; last: HTTP 500" in lines
    assert "failed probes 0" in lines
    assert any(line.startswith("circuit paused until 20") for line in lines)

    retried = run("retry", failed[0], env=env)
    assert retried.returncode == 0, retried.stderr
    assert f"retrying {failed[0]} of {endpoint_id}: due now" in retried.stdout
    assert "note: the endpoint's circuit is open until 20" in retried.stdout
    assert f"{why}: it waits until then" in retried.stdout

    replayed = run("replay", endpoint_id, env=env)
    assert replayed.returncode == 0, replayed.stderr
    assert f"requeued 1 delivery of {endpoint_id}" in replayed.stdout
    assert f"{why}: it waits until then" in replayed.stdout  # one delivery
    # Enabling closes the circuit: no note any more.
    assert run("endpoint", "enable", endpoint_id, env=env).returncode == 0
    again = json.loads(run("retry", failed[1], "--json", env=env).stdout)
    assert again["status"] == "pending"
    assert again["circuit_delay"] is None
    assert "circuit" not in run("endpoint", "list", env=env).stdout


def test_retry_of_an_unknown_delivery_is_a_clear_error(env: dict[str, str]) -> None:
    result = run("retry", "dlv_nope", env=env)
    assert result.returncode == 1
    assert "dlv_nope" in result.stderr
    assert "Traceback" not in result.stderr
