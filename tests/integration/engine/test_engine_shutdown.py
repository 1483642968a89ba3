"""Graceful shutdown in-process: attempts in flight when the workers stop finish within the
grace and are recorded; those the grace cannot wait for go back to pending, neither lost nor
failed, and are delivered (with the same webhook-id) by the next run."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
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

from scanhook.delivery.http import HttpClient

IN_FLIGHT = 5


async def test_stopping_lets_attempts_in_flight_finish_within_the_grace(tmp_path: Path) -> None:
    async def handler(hit: Hit, request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(0.5)
        return web.Response(text="done")

    receiver = Receiver(handler)
    async with receiving(receiver), hub_on(tmp_path, shutdown_grace="10s") as hub:
        endpoint = await hub.add_endpoint(receiver.url)
        await hub.publish_batch([ticket(n) for n in range(IN_FLIGHT)])
        async with hub.run_workers():
            await wait_for(lambda: receiver.in_flight == IN_FLIGHT, what="attempts in flight")
            # Leaving the block stops the workers while all five are at the receiver.
        stored = await deliveries(hub, endpoint.id)

    assert len(receiver.hits) == IN_FLIGHT
    assert [d.status for d in stored] == ["succeeded"] * IN_FLIGHT
    for delivery in stored:
        (attempt,) = delivery.attempt_log
        assert attempt.status_code == 200
        assert attempt.response_body == "done"
        assert attempt.duration_ms >= 400


async def test_attempts_the_grace_cannot_wait_for_are_released_not_lost(tmp_path: Path) -> None:
    unstuck = asyncio.Event()

    async def handler(hit: Hit, request: web.Request) -> web.StreamResponse:
        await unstuck.wait()  # the first five wait far longer than the grace
        return web.Response(text="done")

    receiver = Receiver(handler)
    async with receiving(receiver), hub_on(tmp_path, shutdown_grace="0.3s") as hub:
        endpoint = await hub.add_endpoint(receiver.url)
        await hub.publish_batch([ticket(n) for n in range(IN_FLIGHT)])
        async with hub.run_workers():
            await wait_for(lambda: receiver.in_flight == IN_FLIGHT, what="attempts in flight")
        released = await deliveries(hub, endpoint.id)

        unstuck.set()
        async with hub.run_workers():
            await wait_for(lambda: all_final(hub, endpoint.id, IN_FLIGHT), what="redelivery")
        stored = await deliveries(hub, endpoint.id)

    # Given back, due at once, with no attempt recorded: not failed, not lost.
    assert [d.status for d in released] == ["pending"] * IN_FLIGHT
    assert all(d.attempt_log == () for d in released)
    assert [d.status for d in stored] == ["succeeded"] * IN_FLIGHT
    # The next run sent each again under the same webhook-id (a duplicate receivers can drop).
    assert len(receiver.hits) == 2 * IN_FLIGHT
    first, second = receiver.hits[:IN_FLIGHT], receiver.hits[IN_FLIGHT:]
    assert {h.webhook_id for h in first} == {h.webhook_id for h in second} == {d.id for d in stored}


async def test_a_worker_cancelled_during_its_write_learns_what_the_write_did(
    tmp_path: Path,
) -> None:
    """Cancelled (not stopped) while its cycle's write is under way, the worker waits for that
    write before it drains: the outcomes it recorded stay recorded once, and what it claimed but
    never sent goes back to pending instead of waiting for its lease."""
    receiver = Receiver()
    async with receiving(receiver), hub_on(tmp_path, lease="300s") as hub:
        endpoint = await hub.add_endpoint(receiver.url, max_in_flight=1)
        await hub.publish_batch([ticket(n) for n in range(3)])
        store = hub.store
        real_cycle = store.record_and_claim
        held, go_on = asyncio.Event(), asyncio.Event()

        async def cycle_that_lingers(outcomes: Any, *args: Any) -> Any:
            claimed = await real_cycle(outcomes, *args)  # committed
            if outcomes and not held.is_set():
                held.set()
                await go_on.wait()
            return claimed

        store.record_and_claim = cycle_that_lingers  # type: ignore[method-assign]
        async with HttpClient(hub.network_policy(), user_agent=hub.user_agent) as client:
            worker = hub.new_worker(client)
            task = asyncio.create_task(worker.run(asyncio.Event(), grace=1.0))
            await asyncio.wait_for(held.wait(), 10)
            task.cancel()
            await asyncio.sleep(0.05)
            go_on.set()
            with pytest.raises(asyncio.CancelledError):
                await task
        stored = await deliveries(hub, endpoint.id)

    assert len(receiver.hits) == 1
    # The first was recorded by the lingering write, once; the second, claimed by that same
    # write and never sent, is pending again (no lease to wait out); the third never moved.
    assert [d.status for d in stored] == ["succeeded", "pending", "pending"]
    assert [len(d.attempt_log) for d in stored] == [1, 0, 0]
