"""Endpoint health through the engine: the circuit opens on consecutive failures and holds the
queue, a single probe goes after the hold, success closes it and the queue flows; an endpoint
failing for ``disable_after`` is disabled with a reason; a 410 Gone disables at once; enabling
resumes the pending deliveries."""

from __future__ import annotations

import asyncio
from pathlib import Path

from aiohttp import web
from engine_support import Hit, Receiver, all_final, deliveries, hub_on, receiving, ticket, wait_for

from scanhook.store import StorePolicy

MANY_STEPS = ",".join(["0.1s"] * 30)


async def test_the_circuit_opens_holds_probes_and_closes(tmp_path: Path) -> None:
    healthy = asyncio.Event()

    async def sick(hit: Hit, request: web.Request) -> web.StreamResponse:
        # The first three attempts open the circuit, the first probe fails too; then healthy.
        if hit.number <= 4:
            return web.Response(status=500)
        healthy.set()
        return web.Response(text="ok")

    receiver = Receiver(sick)
    # Pauses of 0.5 s, then 1 s after a failed probe (the store's steps; the Hub passes the
    # retry schedule's).
    policy = StorePolicy(circuit_threshold=3, circuit_steps=(0.5, 1.0, 60.0))
    async with receiving(receiver), hub_on(tmp_path, policy, retry_schedule=MANY_STEPS) as hub:
        endpoint = await hub.add_endpoint(receiver.url)
        await hub.publish(ticket(1))
        async with hub.run_workers():

            async def circuit_open() -> bool:
                current = await hub.store.get_endpoint(endpoint.id)
                return current.circuit_open_until is not None

            await wait_for(circuit_open, what="the circuit to open")
            opened = await hub.store.get_endpoint(endpoint.id)
            assert opened.consecutive_failures == 3
            assert len(receiver.hits) == 3
            # Queue more while it is open: they are due at once, but held.
            await hub.publish_batch([ticket(n) for n in range(2, 7)])
            await wait_for(lambda: all_final(hub, endpoint.id, 6), what="the queue to flow")
        closed = await hub.store.get_endpoint(endpoint.id)
        stored = await deliveries(hub, endpoint.id)

    hits = receiver.hits
    third, probe, second_probe = hits[2], hits[3], hits[4]
    # Nothing was sent during the first pause (0.5 s), though a 0.1 s retry and five new
    # deliveries were due; then one probe, which failed and moved the pause a step on (1 s).
    assert probe.at - third.at >= 0.5 - 0.05
    assert second_probe.at - probe.at >= 1.0 - 0.05
    assert [h.webhook_id for h in hits[:3]] == [hits[0].webhook_id] * 3
    # The successful probe closed the circuit, and the held deliveries flowed.
    assert len(hits) == 5 + 5
    assert {h.number for h in hits if h.at < second_probe.at} == {1, 2, 3, 4}
    assert all(d.status == "succeeded" for d in stored)
    assert closed.circuit_open_until is None
    assert closed.consecutive_failures == 0
    assert closed.enabled


async def test_an_endpoint_failing_too_long_is_disabled_and_enabling_resumes_it(
    tmp_path: Path,
) -> None:
    failing = True

    async def down(hit: Hit, request: web.Request) -> web.StreamResponse:
        return web.Response(status=502 if failing else 200)

    receiver = Receiver(down)
    policy = StorePolicy(circuit_threshold=1000, disable_after=0.5)
    async with receiving(receiver), hub_on(tmp_path, policy, retry_schedule=MANY_STEPS) as hub:
        endpoint = await hub.add_endpoint(receiver.url)
        await hub.publish_batch([ticket(1), ticket(2)])
        async with hub.run_workers():

            async def disabled() -> bool:
                return not (await hub.store.get_endpoint(endpoint.id)).enabled

            await wait_for(disabled, what="the endpoint to be disabled")
            off = await hub.store.get_endpoint(endpoint.id)
            await asyncio.sleep(0.2)  # let an attempt that was already in flight land
            count = len(receiver.hits)
            await asyncio.sleep(0.5)  # five retry steps: none goes to a disabled endpoint
            assert len(receiver.hits) == count
            held = await deliveries(hub, endpoint.id)

            failing = False
            await hub.set_enabled(endpoint.id, True)
            await wait_for(lambda: all_final(hub, endpoint.id, 2), what="the resumed queue")
        stored = await deliveries(hub, endpoint.id)
        back = await hub.store.get_endpoint(endpoint.id)

    assert off.disabled_reason is not None
    assert "failing without a success since" in off.disabled_reason
    assert "0.5 s" in off.disabled_reason
    assert [d.status for d in held] == ["pending", "pending"]  # held, not failed
    assert [d.status for d in stored] == ["succeeded", "succeeded"]
    assert back.enabled
    assert back.disabled_reason is None


async def test_410_gone_disables_at_once_and_enabling_resumes_the_delivery(
    tmp_path: Path,
) -> None:
    gone = True

    async def answer(hit: Hit, request: web.Request) -> web.StreamResponse:
        return web.Response(status=410 if gone else 204)

    receiver = Receiver(answer)
    async with receiving(receiver), hub_on(tmp_path, retry_schedule="0.1s,0.1s,0.1s") as hub:
        endpoint = await hub.add_endpoint(receiver.url)
        await hub.publish(ticket(1))
        async with hub.run_workers():
            await wait_for(lambda: len(receiver.hits) == 1, what="the first attempt")

            async def disabled() -> bool:
                return not (await hub.store.get_endpoint(endpoint.id)).enabled

            await wait_for(disabled, what="the endpoint to be disabled")
            off = await hub.store.get_endpoint(endpoint.id)
            await asyncio.sleep(0.5)  # several retry steps: no second attempt
            assert len(receiver.hits) == 1
            (held,) = await deliveries(hub, endpoint.id)

            gone = False
            await hub.set_enabled(endpoint.id, True)
            await wait_for(lambda: all_final(hub, endpoint.id, 1), what="the resumed delivery")
        (delivery,) = await deliveries(hub, endpoint.id)

    assert off.disabled_reason is not None
    assert "410 Gone" in off.disabled_reason
    assert held.status == "pending"
    assert delivery.status == "succeeded"
    assert [a.status_code for a in delivery.attempt_log] == [410, 204]
    assert len(receiver.hits) == 2
