"""``scanhook serve`` killed with SIGKILL under load on a SQLite file and started again at once on
the same file: delivery resumes within 5 s of the restart, whatever the killed process left
``sending`` (its leases, 60 s by default, are not waited for), and nothing is lost.

One endpoint with the default ``max_in_flight`` (10) and 5,000 deliveries: every slot of the
endpoint is held by the killed process at the kill. The receiver is an aiohttp server on
127.0.0.1 in the test process; events are published by a Hub in the test on the same file.
Every wait is bounded; the processes are always killed.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import pytest

from acceptance.cli_support import Proc, clean_env
from acceptance.test_worker_process import Arrival, Recorder, _final, _ticket, receiving
from scanhook import Hub

pytestmark = pytest.mark.slow

EVENTS = 5000
#: The default max_in_flight of an endpoint: what the killed process held at most.
SLOTS = 10
#: Contract: a restarted ``serve`` resumes every endpoint's deliveries within 5 s of starting.
RESUME_WITHIN = 5.0
#: From the restart's spawn: the start itself plus RESUME_WITHIN, with room for a loaded machine.
STARTED_WITHIN = 15.0


def _serve(database: str) -> Proc:
    env = clean_env(
        SCANHOOK_DATABASE_URL=database,
        SCANHOOK_ALLOW_PRIVATE_NETWORKS="true",
        SCANHOOK_LOG_LEVEL="warning",
        # The key the test's own Hub sealed the endpoint's secret with.
        SCANHOOK_SECRET_KEY=os.environ["SCANHOOK_SECRET_KEY"],
    )
    return Proc("serve", "--port", "0", env=env)


def _serving_at(proc: Proc) -> float:
    """When ``proc`` said it serves (it has started: the API, workers and jobs follow)."""
    proc.expect("scanhook is serving", timeout=STARTED_WITHIN)
    return time.time()


async def _wait(condition: object, within: float, what: str, proc: Proc) -> float:
    """Wait for ``condition`` while ``proc`` runs; the time it took."""
    assert callable(condition)
    started = time.monotonic()
    while True:
        value = condition()
        if hasattr(value, "__await__"):
            value = await value
        if value:
            return time.monotonic() - started
        if proc.popen.poll() is not None:
            raise AssertionError(
                f"scanhook serve exited ({proc.popen.returncode}) while waiting for {what}\n"
                f"{proc.output()[-3000:]}"
            )
        if time.monotonic() - started > within:
            raise AssertionError(f"timed out after {within} s: {what}\n{proc.output()[-3000:]}")
        await asyncio.sleep(0.02)


async def test_serve_killed_under_load_resumes_within_5_s_of_restart_and_loses_nothing(
    tmp_path: Path,
) -> None:
    database = f"sqlite:///{tmp_path}/scanhook.db"
    recorder = Recorder(delay=0.02)  # slow enough that every slot is in flight at any moment
    async with receiving(recorder), Hub.open(database, allow_private_networks=True) as hub:
        await hub.add_endpoint(recorder.url)  # the default max_in_flight
        for start in range(0, EVENTS, 500):
            await hub.publish_batch([_ticket(n) for n in range(start, start + 500)])

        with _serve(database) as first:
            await _wait(
                lambda: len(recorder.arrivals) >= EVENTS // 5 and len(recorder.active) == SLOTS,
                60,
                "a fifth of the deliveries to arrive, with every slot in flight",
                first,
            )
            first.popen.send_signal(signal.SIGKILL)
            assert first.popen.wait(10) == -signal.SIGKILL
        held = await hub.store.list_deliveries(status="sending", limit=100)
        assert held, "the killed process left nothing sending: the kill was not under load"
        before_restart = len(recorder.arrivals)
        assert before_restart < EVENTS

        restarted_at = time.time()
        with _serve(database) as second:
            serving = asyncio.create_task(asyncio.to_thread(_serving_at, second))
            # More arrivals than the killed process could have had in flight: new attempts.
            resumed_after = await _wait(
                lambda: len(recorder.arrivals) >= before_restart + 2 * SLOTS,
                STARTED_WITHIN,
                f"delivery to resume within {STARTED_WITHIN} s of the restart's spawn",
                second,
            )
            serving_after = await serving - restarted_at
            # Within 5 s of starting, counted from the moment the restarted serve is up: a
            # loaded machine has taken 5 s to import and start alone.
            assert resumed_after - serving_after <= RESUME_WITHIN, (
                f"resumed {resumed_after:.2f} s after the restart, {serving_after:.2f} s after"
                " it was serving"
            )
            await _wait(lambda: _final(hub, EVENTS), 90, "every delivery to succeed", second)
            stats = await hub.store.stats(time.time())
            retaken = [await hub.store.get_delivery(d.id) for d in held]
            assert second.terminate() == 0

    print(
        f"resumed {resumed_after:.2f} s after the restart (serving after {serving_after:.2f} s);"
        f" {len(held)} were left sending"
    )
    assert stats["deliveries"] == {"pending": 0, "sending": 0, "succeeded": EVENTS, "failed": 0}
    by_id: dict[str, list[Arrival]] = {}
    for arrival in recorder.arrivals:
        by_id.setdefault(arrival.webhook_id, []).append(arrival)
    # None lost: every delivery arrived, each under one webhook-id with one body.
    assert len(by_id) == EVENTS
    assert all(len({a.body for a in hits}) == 1 for hits in by_id.values())
    # What the killed process held was sent again under its webhook-id, as the same attempt
    # (its outcome died with the process), never more often than that.
    duplicated = {webhook_id for webhook_id, hits in by_id.items() if len(hits) > 1}
    assert duplicated <= {d.id for d in held}
    assert all(len(hits) <= 2 for hits in by_id.values())
    for delivery in retaken:
        assert delivery.status == "succeeded"
        hits = by_id[delivery.id]
        assert hits[-1].at > restarted_at
        assert [a.attempt for a in hits] == [1] * len(hits)
