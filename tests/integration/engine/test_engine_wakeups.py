"""The worker is woken, not polled: a recorded outcome frees a slot and a publish in this
process start the next claim at once, long before the (here very long) poll interval."""

from __future__ import annotations

import asyncio
from pathlib import Path

from aiohttp import web
from engine_support import Hit, Receiver, all_final, hub_on, receiving, ticket, wait_for

#: Far longer than any wait below: a test that passes was woken, never polled.
LONG_POLL = "120s"


async def test_a_freed_slot_wakes_the_claim_loop(tmp_path: Path) -> None:
    receiver = Receiver()
    async with receiving(receiver), hub_on(tmp_path, poll_interval=LONG_POLL) as hub:
        endpoint = await hub.add_endpoint(receiver.url, max_in_flight=2)
        await hub.publish_batch([ticket(n) for n in range(12)])
        async with hub.run_workers():
            # Six rounds of two slots each: every round starts when the previous one is
            # recorded, not at the next poll.
            await wait_for(lambda: all_final(hub, endpoint.id, 12), within=20, what="12 deliveries")

    assert len({hit.webhook_id for hit in receiver.hits}) == 12
    assert receiver.max_in_flight <= 2


async def test_a_publish_wakes_an_idle_worker(tmp_path: Path) -> None:
    receiver = Receiver()
    async with receiving(receiver), hub_on(tmp_path, poll_interval=LONG_POLL) as hub:
        endpoint = await hub.add_endpoint(receiver.url)
        async with hub.run_workers():
            await hub.publish(ticket(1))
            await wait_for(lambda: len(receiver.hits) == 1, within=20, what="the first")
            await hub.publish(ticket(2))
            await wait_for(lambda: all_final(hub, endpoint.id, 2), within=20, what="the second")

    assert len(receiver.hits) == 2


async def test_a_retry_falls_due_on_time_while_other_attempts_are_in_flight(
    tmp_path: Path,
) -> None:
    """While attempts are in flight the worker does not ask the store when work is due: it
    remembers the retries it scheduled. One endpoint's retry must go out on schedule while a
    slow endpoint keeps an attempt in flight the whole time (and the poll is 120 s)."""
    release = asyncio.Event()

    async def slow(hit: Hit, request: web.Request) -> web.StreamResponse:
        await release.wait()
        return web.Response(text="late")

    async def fails_once(hit: Hit, request: web.Request) -> web.StreamResponse:
        return web.Response(status=500 if hit.attempt == 1 else 200)

    slow_receiver, flaky = Receiver(slow), Receiver(fails_once)
    async with (
        receiving(slow_receiver, flaky),
        hub_on(tmp_path, poll_interval=LONG_POLL, retry_schedule="0.3s") as hub,
    ):
        await hub.add_endpoint(slow_receiver.url, event_types=["ticket.*"])
        endpoint = await hub.add_endpoint(flaky.url, event_types=["ticket.*"])
        async with hub.run_workers():
            await hub.publish(ticket(1))
            await wait_for(lambda: len(flaky.hits) == 2, within=20, what="the retry")
            assert slow_receiver.in_flight == 1  # still held the whole time
            release.set()
            await wait_for(lambda: all_final(hub, endpoint.id, 1), what="the retry recorded")

    first, second = flaky.hits
    # ± 20 % jitter on 0.3 s, plus the recording: far from the 120 s poll.
    assert 0.2 <= second.at - first.at < 3.0
