"""Receivers that misbehave: one that fails the first two attempts of every event, and one that
is down for a minute and then back.

Every event is delivered, and the endpoint is never left waiting longer than the retry
schedule says: the flaky receiver is never without a request for longer than the schedule's
longest step, and the one that was down gets deliveries again within one step of its return.
The outage is a real minute; the SQLite and PostgreSQL services live through the same minute
side by side, so it costs the suite one minute, not two.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from pathlib import Path

import aiohttp
import pytest

from faults.support import (
    Database,
    Figures,
    Receiver,
    Service,
    postgres_database,
    record,
    serve_on,
    until,
)
from integration.store.pgkit import ENV as POSTGRES_ENV

pytestmark = [pytest.mark.faults, pytest.mark.slow]

#: Jitter of the retry schedule (± a fifth of each step), and room for the poll and a claim.
JITTER = 0.2
SLACK = 1.5

FLAKY_EVENTS = 500
FLAKY_SCHEDULE = (0.2, 0.4, 2.0)
#: "About the time the schedule implies": 500 events, three attempts each, ten at a time.
FLAKY_WITHIN = 60.0


def _schedule(steps: tuple[float, ...]) -> str:
    return ",".join(f"{step:g}s" for step in steps)


@pytest.mark.timeout(150)
async def test_a_receiver_failing_two_attempts_of_every_event_gets_every_event_on_schedule(
    tmp_path: Path, database: Database, session: aiohttp.ClientSession, services: list[Service]
) -> None:
    receiver = await Receiver(fail_first=2).start()
    serve, api = serve_on(
        tmp_path, database.url, services, session, retry_schedule=_schedule(FLAKY_SCHEDULE)
    )
    try:
        await serve.start().ready()
        await api.add_endpoint(receiver.url)
        started = time.time()
        accepted = await api.accept_batch(range(FLAKY_EVENTS))
        # Long enough to say how late it is when it is.
        done = await receiver.every_delivery(accepted, [serve], FLAKY_WITHIN + 30)
        counts = await api.settled([serve])
    finally:
        serve.stop_all()
        await receiver.stop()

    arrivals = sorted(hit.at for hit in receiver.hits)
    longest_gap = max(b - a for a, b in zip([started, *arrivals], arrivals, strict=False))
    figures = record(
        receiver.figures(
            "flaky receiver (500, 500, 200)",
            database.backend,
            accepted,
            longest_gap,
            all_delivered_s=round(done - started, 1),
        )
    )
    assert figures.lost == 0
    assert figures.duplicated == 0
    assert counts == {"pending": 0, "sending": 0, "succeeded": FLAKY_EVENTS, "failed": 0}
    # Two failed attempts and one success per event, never more (no attempt was wasted).
    assert figures.requests == 3 * FLAKY_EVENTS
    assert longest_gap <= max(FLAKY_SCHEDULE) * (1 + JITTER) + SLACK, (
        f"the receiver got nothing for {longest_gap:.1f} s"
    )
    assert done - started <= FLAKY_WITHIN


OUTAGE = 60.0
#: Steps that outlast the outage even at the low end of the jitter (87 s × 0.8 > 60 s + margin).
DOWN_SCHEDULE = (1.0, 2.0, 4.0, *([8.0] * 10))
BEFORE, DURING, AFTER = 100, 200, 100


async def _down_for_a_minute(
    tmp_path: Path, database: Database, session: aiohttp.ClientSession, services: list[Service]
) -> tuple[Figures, dict[str, int], float]:
    """One backend's run: deliveries flow, the receiver goes away for :data:`OUTAGE` seconds
    while more is published, and comes back. Its figures, final counts and how long after the
    return the first delivery arrived."""
    directory = tmp_path / database.backend
    directory.mkdir()
    receiver = await Receiver(delay=0.01).start()
    serve, api = serve_on(
        directory, database.url, services, session, retry_schedule=_schedule(DOWN_SCHEDULE)
    )
    try:
        await serve.start().ready()
        await api.add_endpoint(receiver.url)
        accepted = await api.accept_batch(range(BEFORE))
        await until(lambda: receiver.delivered() >= set(accepted), 30, "the first events", [serve])

        await receiver.down()
        went_down = time.time()
        accepted += await api.accept_batch(range(BEFORE, BEFORE + DURING))
        await asyncio.sleep(max(0.0, went_down + OUTAGE - time.time()))
        await receiver.up()
        back = time.time()
        await until(
            lambda: receiver.first_success_after(back) is not None,
            max(DOWN_SCHEDULE) * 3,
            "a delivery after the receiver came back",
            [serve],
        )
        resumed = (receiver.first_success_after(back) or back) - back
        accepted += await api.accept_batch(range(BEFORE + DURING, BEFORE + DURING + AFTER))
        await receiver.every_delivery(accepted, [serve])
        counts = await api.settled([serve])
    finally:
        serve.stop_all()
        await receiver.stop()
    figures = receiver.figures(
        "receiver down for a minute", database.backend, accepted, resumed, outage_s=OUTAGE
    )
    return figures, counts, resumed


@pytest.mark.timeout(200)
async def test_a_receiver_down_for_a_minute_gets_every_event_within_one_step_of_its_return(
    tmp_path: Path, session: aiohttp.ClientSession, services: list[Service]
) -> None:
    with contextlib.ExitStack() as stack:
        databases = [Database("sqlite", f"sqlite:///{tmp_path / 'scanhook.db'}")]
        if os.environ.get(POSTGRES_ENV):
            databases.append(stack.enter_context(postgres_database()))
        else:
            print(f"\n{POSTGRES_ENV} is not set: the receiver's outage runs on SQLite only")
        runs = await asyncio.gather(
            *(_down_for_a_minute(tmp_path, db, session, services) for db in databases)
        )

    for figures, _, _ in runs:
        record(figures)
    for figures, counts, resumed in runs:
        assert figures.lost == 0, figures
        assert figures.duplicated == 0, figures
        assert counts == {
            "pending": 0,
            "sending": 0,
            "succeeded": BEFORE + DURING + AFTER,
            "failed": 0,
        }, (figures.backend, counts)
        assert resumed <= max(DOWN_SCHEDULE) * (1 + JITTER) + SLACK, (
            f"{figures.backend}: the first delivery came {resumed:.1f} s after the return"
        )
