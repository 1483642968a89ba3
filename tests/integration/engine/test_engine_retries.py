"""Retries through the engine: the schedule with its jitter, Retry-After on 429/503 (capped by
the longest step), the attempt log of a delivery that finally fails, and the deadline that cuts
off a dripping receiver.

Times are compared with generous slack on the late side only: these tests check *when* the
engine tries again, never how fast anything is.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from aiohttp import web
from engine_support import (
    Hit,
    Receiver,
    all_final,
    deliveries,
    hub_on,
    receiving,
    ticket,
    wait_for,
)

JITTER = 0.2
#: How late an attempt may come beyond its jittered delay (polling, recording, a busy CI box).
LATE = 1.0
BIG_BODY = "x" * 5000


async def failing(hit: Hit, request: web.Request) -> web.StreamResponse:
    return web.Response(status=500, text=BIG_BODY)


async def test_a_failing_delivery_follows_the_schedule_then_fails_with_every_attempt_logged(
    tmp_path: Path,
) -> None:
    schedule = (0.2, 0.4, 0.8)
    receiver = Receiver(failing)
    async with receiving(receiver), hub_on(tmp_path, retry_schedule="0.2s,0.4s,0.8s") as hub:
        endpoint = await hub.add_endpoint(receiver.url)
        await hub.publish(ticket(1))
        async with hub.run_workers():
            await wait_for(lambda: all_final(hub, endpoint.id, 1), what="the final failure")
        (delivery,) = await deliveries(hub, endpoint.id)

    assert len(receiver.hits) == len(schedule) + 1
    gaps = [b.at - a.at for a, b in zip(receiver.hits, receiver.hits[1:], strict=False)]
    for gap, step in zip(gaps, schedule, strict=True):
        assert step * (1 - JITTER) - 0.05 <= gap <= step * (1 + JITTER) + LATE, (gaps, schedule)
    assert {hit.webhook_id for hit in receiver.hits} == {delivery.id}
    assert [hit.attempt for hit in receiver.hits] == [1, 2, 3, 4]
    timestamps = [int(hit.headers["webhook-timestamp"]) for hit in receiver.hits]
    assert timestamps == sorted(timestamps)

    assert delivery.status == "failed"
    assert delivery.attempts == 4
    assert delivery.next_attempt_at is None
    assert delivery.last_status_code == 500
    assert [a.number for a in delivery.attempt_log] == [1, 2, 3, 4]
    for attempt, hit in zip(delivery.attempt_log, receiver.hits, strict=True):
        assert attempt.status_code == 500
        assert attempt.error_kind == "http"
        assert attempt.error == "HTTP 500"
        assert attempt.duration_ms > 0
        assert attempt.response_body == BIG_BODY[:4096]  # the first 4 KiB, no more
        assert abs(attempt.started_at - hit.at) < LATE


async def test_retry_after_is_honoured_and_capped_by_the_longest_step(tmp_path: Path) -> None:
    # Longest step 1.5 s: "Retry-After: 1" waits 1 s (its jitter only lengthens it), and
    # "Retry-After: 3600" waits the 1.5 s cap instead of an hour (not the 0.2 s first step).
    async def too_many(hit: Hit, request: web.Request) -> web.StreamResponse:
        if hit.number == 1:
            return web.Response(status=429, headers={"Retry-After": "1"})
        return web.Response(text="ok")

    async def unavailable(hit: Hit, request: web.Request) -> web.StreamResponse:
        if hit.number == 1:
            return web.Response(status=503, headers={"Retry-After": "3600"})
        return web.Response(text="ok")

    polite, huge = Receiver(too_many), Receiver(unavailable)
    async with receiving(polite, huge), hub_on(tmp_path, retry_schedule="0.2s,1.5s") as hub:
        first = await hub.add_endpoint(polite.url)
        second = await hub.add_endpoint(huge.url)
        await hub.publish(ticket(2))
        async with hub.run_workers():
            await wait_for(lambda: all_final(hub, first.id, 1), what="the 429 delivery")
            await wait_for(lambda: all_final(hub, second.id, 1), what="the 503 delivery")
        (after_429,) = await deliveries(hub, first.id)
        (after_503,) = await deliveries(hub, second.id)

    assert len(polite.hits) == 2
    gap = polite.hits[1].at - polite.hits[0].at
    assert 1.0 - 0.05 <= gap <= 1.0 * (1 + JITTER) + LATE, gap
    assert len(huge.hits) == 2
    gap = huge.hits[1].at - huge.hits[0].at
    assert 1.5 - 0.05 <= gap <= 1.5 + LATE, gap

    for delivery, status in ((after_429, 429), (after_503, 503)):
        assert delivery.status == "succeeded"
        assert [a.status_code for a in delivery.attempt_log] == [status, 200]
        assert delivery.attempt_log[0].error == f"HTTP {status}"
    for receiver in (polite, huge):
        assert [hit.attempt for hit in receiver.hits] == [1, 2]
        assert receiver.hits[0].webhook_id == receiver.hits[1].webhook_id


async def test_a_dripping_receiver_is_cut_off_at_the_deadline(tmp_path: Path) -> None:
    async def drip(hit: Hit, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(status=200)
        response.content_length = 100
        await response.prepare(request)
        with contextlib.suppress(ConnectionError):
            for _ in range(100):  # one byte every 0.1 s: 10 s in all, never a read timeout
                await response.write(b"x")
                await asyncio.sleep(0.1)
        return response

    receiver = Receiver(drip)
    # One long retry step, so the test sees exactly one attempt.
    async with receiving(receiver), hub_on(tmp_path, request_timeout=1, retry_schedule="1h") as hub:
        endpoint = await hub.add_endpoint(receiver.url)
        await hub.publish(ticket(3))
        async with hub.run_workers():

            async def attempted() -> bool:
                (delivery,) = await deliveries(hub, endpoint.id)
                return len(delivery.attempt_log) == 1

            await wait_for(attempted, what="the timed-out attempt")
        (delivery,) = await deliveries(hub, endpoint.id)

    assert len(receiver.hits) == 1
    assert delivery.status == "pending"  # a later step will try again
    (attempt,) = delivery.attempt_log
    assert attempt.error_kind == "timeout"
    assert attempt.error == "timed out after 1.0 s"
    # Cut off at the 1 s deadline, long before the 10 s the receiver would take.
    assert 900 <= attempt.duration_ms <= 1000 + LATE * 1000
    assert attempt.response_body is not None
    assert 1 <= len(attempt.response_body) < 100
