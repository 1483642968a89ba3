"""A dead endpoint holds only its own ``max_in_flight`` slots; a healthy one beside it gets all
its deliveries. Counts, not speed, are asserted."""

from __future__ import annotations

import asyncio
from pathlib import Path

from aiohttp import web
from engine_support import Hit, Receiver, all_final, hub_on, receiving, ticket, wait_for

EVENTS = 60


async def test_a_dead_endpoint_holds_only_its_slots_and_the_healthy_one_gets_everything(
    tmp_path: Path,
) -> None:
    never = asyncio.Event()

    async def hang(hit: Hit, request: web.Request) -> web.StreamResponse:
        await never.wait()  # never answers (until the test ends)
        return web.Response(text="too late")

    dead, healthy = Receiver(hang), Receiver()
    async with (
        receiving(dead, healthy),
        hub_on(tmp_path, request_timeout=60, shutdown_grace="0.1s", lease="120s") as hub,
    ):
        stuck = await hub.add_endpoint(dead.url, max_in_flight=5)
        fine = await hub.add_endpoint(healthy.url, max_in_flight=5)
        await hub.publish_batch([ticket(n) for n in range(EVENTS)])
        async with hub.run_workers():
            await wait_for(lambda: all_final(hub, fine.id, EVENTS), what="the healthy endpoint")
            stats = await hub.store.stats(0)
            dead_hits, dead_in_flight = len(dead.hits), dead.in_flight
        pending_after = await hub.store.list_deliveries(endpoint_id=stuck.id, status="pending")
        never.set()

    assert len(healthy.hits) == EVENTS
    assert len({hit.body for hit in healthy.hits}) == EVENTS
    assert healthy.max_in_flight <= 5
    # The dead endpoint got exactly its five slots and no more, all still hanging.
    assert dead_hits == 5
    assert dead_in_flight == 5
    assert dead.max_in_flight == 5
    deliveries = stats["deliveries"]
    assert isinstance(deliveries, dict)
    assert deliveries["succeeded"] == EVENTS
    assert deliveries["sending"] == 5
    assert deliveries["pending"] == EVENTS - 5
    # Stopping with a short grace gives the five back: nothing is lost, nothing failed.
    assert len(pending_after) == EVENTS
