"""SIGTERM while clients flood ``serve`` with publishes: it stops taking requests, drains what is
in flight and exits 0; every publish that was answered 202 is delivered after the restart
(a 202 means the event is on disk), and nothing is delivered twice."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from pathlib import Path

import aiohttp
import pytest

from faults.support import (
    Database,
    Receiver,
    Service,
    record,
    serve_on,
    until,
)

pytestmark = [pytest.mark.faults, pytest.mark.slow]

PUBLISHERS = 8
#: SCANHOOK_SHUTDOWN_GRACE of the case: the stop must come well within it.
GRACE = 10.0
RESUME_WITHIN = 5.0


@pytest.mark.timeout(120)
async def test_sigterm_during_a_flood_of_publishes_delivers_every_202_after_the_restart(
    tmp_path: Path, database: Database, session: aiohttp.ClientSession, services: list[Service]
) -> None:
    receiver = await Receiver(delay=0.05).start()
    serve, api = serve_on(
        tmp_path,
        database.url,
        services,
        session,
        retry_schedule="1s,2s,5s",
        shutdown_grace=f"{GRACE:g}s",
    )
    accepted: list[int] = []
    #: Publishes whose answer never came (the connection closed): they may or may not be stored.
    unanswered: set[int] = set()
    refused: Counter[str] = Counter()
    flooding = asyncio.Event()
    flooding.set()

    async def publisher(first: int) -> None:
        number = first
        while flooding.is_set():
            try:
                status, _ = await api.publish(number)
            except aiohttp.ClientError as exc:
                refused[type(exc).__name__] += 1
                unanswered.add(number)
                await asyncio.sleep(0.05)
            else:
                if status == 202:
                    accepted.append(number)
                else:
                    refused[str(status)] += 1
            number += PUBLISHERS

    try:
        await serve.start().ready()
        await api.add_endpoint(receiver.url)
        flood = [asyncio.create_task(publisher(n)) for n in range(PUBLISHERS)]
        try:
            await until(lambda: len(accepted) >= 400, 30, "publishes to be accepted", [serve])
            serve.terminate()
            terminated = time.time()
            code = await serve.exited(GRACE + 10)
            stopped = time.time()
            # The flood goes on against the closed port for a moment: nothing is accepted.
            await asyncio.sleep(0.5)
        finally:
            flooding.clear()
            await asyncio.gather(*flood)
        delivered_before = len(receiver.delivered() & set(accepted))

        restarted = serve.start().started_at
        await serve.ready()
        if delivered_before < len(accepted):
            await until(
                lambda: receiver.first_success_after(restarted) is not None,
                60,
                "a delivery after the restart",
                [serve],
            )
            resumed: float | None = (receiver.first_success_after(restarted) or 0) - restarted
        else:
            resumed = None
        await receiver.every_delivery(accepted, [serve])
        counts = await api.settled([serve])
        log = serve.log(0)
    finally:
        serve.stop_all()
        await receiver.stop()

    figures = record(
        receiver.figures(
            "SIGTERM during a publish flood",
            database.backend,
            accepted,
            resumed,
            stop_s=round(stopped - terminated, 2),
            not_accepted=sum(refused.values()),
            pending_at_stop=len(accepted) - delivered_before,
        )
    )
    assert code == 0, log[-3000:]
    assert figures.lost == 0
    assert figures.duplicated == 0
    assert counts == {"pending": 0, "sending": 0, "succeeded": len(accepted), "failed": 0}
    # The receiver got nothing that was refused (503 or another answer that is not 202).
    assert {hit.number for hit in receiver.hits} <= set(accepted) | unanswered
    assert resumed is None or resumed <= RESUME_WITHIN
