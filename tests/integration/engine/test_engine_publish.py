"""Publishing through the hub end to end: idempotency keys, batches, refusal of an invalid
notification (nothing stored), and retention of finished deliveries."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from aiohttp import web
from engine_support import (
    Hit,
    Receiver,
    all_final,
    deliveries,
    finished_scan,
    hub_on,
    receiving,
    ticket,
    wait_for,
)

from scanhook.errors import InvalidNotification, NotFound


async def test_the_same_idempotency_key_publishes_once(tmp_path: Path) -> None:
    receiver = Receiver()
    async with receiving(receiver), hub_on(tmp_path) as hub:
        endpoint = await hub.add_endpoint(receiver.url)
        first = await hub.publish(ticket(1), idempotency_key="sc-4711-open")
        again = await hub.publish(ticket(1), idempotency_key="sc-4711-open")
        other = await hub.publish(ticket(1), idempotency_key="sc-4711-open-2")
        async with hub.run_workers():
            await wait_for(lambda: all_final(hub, endpoint.id, 2), what="two deliveries")
        stored = await deliveries(hub, endpoint.id)

    assert not first.duplicate
    assert again.duplicate
    assert again.event_id == first.event_id
    assert other.event_id != first.event_id
    assert len(stored) == 2
    assert len(receiver.hits) == 2
    assert {d.event_id for d in stored} == {first.event_id, other.event_id}


async def test_a_batch_is_delivered_whole(tmp_path: Path) -> None:
    receiver = Receiver()
    batch = [ticket(n) for n in range(40)] + [finished_scan(f"scan {n}") for n in range(10)]
    async with receiving(receiver), hub_on(tmp_path) as hub:
        endpoint = await hub.add_endpoint(receiver.url)
        results = await hub.publish_batch(batch)
        async with hub.run_workers():
            await wait_for(lambda: all_final(hub, endpoint.id, 50), what="the batch")
        stored = await deliveries(hub, endpoint.id)

    assert len({r.event_id for r in results}) == 50
    assert all(r.deliveries == 1 for r in results)
    assert all(d.status == "succeeded" for d in stored)
    assert len(receiver.hits) == 50
    assert len({hit.body for hit in receiver.hits}) == 50


async def test_an_invalid_notification_stores_nothing_and_names_the_field(
    tmp_path: Path,
) -> None:
    bad = ticket(2)
    bad["ticket"]["severity"] = "Urgent"
    async with hub_on(tmp_path) as hub:
        endpoint = await hub.add_endpoint("http://127.0.0.1:9/hook")
        with pytest.raises(InvalidNotification) as caught:
            await hub.publish_batch([ticket(1), bad, ticket(3)])
        with pytest.raises(InvalidNotification) as single:
            await hub.publish({"ticket": {**ticket(4)["ticket"], "number": -1}})
        stats = await hub.store.stats(time.time())
        stored = await deliveries(hub, endpoint.id)

    assert "ticket.severity" in str(caught.value)
    assert [p["field"] for p in caught.value.problems] == ["ticket.severity"]
    assert "ticket.number" in str(single.value)
    assert stored == []
    assert stats["deliveries"] == {"pending": 0, "sending": 0, "succeeded": 0, "failed": 0}


async def test_retention_prunes_old_finished_deliveries_only(tmp_path: Path) -> None:
    async def unavailable(hit: Hit, request: web.Request) -> web.StreamResponse:
        return web.Response(status=503)

    receiver, down = Receiver(), Receiver(unavailable)
    async with receiving(receiver, down), hub_on(tmp_path, retry_schedule="1h") as hub:
        done = await hub.add_endpoint(receiver.url)
        waiting = await hub.add_endpoint(down.url, event_types=["ticket.*"])
        tickets = await hub.publish_batch([ticket(1), ticket(2)])
        scan = await hub.publish(finished_scan())
        async with hub.run_workers():
            await wait_for(lambda: all_final(hub, done.id, 3), what="the deliveries")
            await wait_for(lambda: len(down.hits) == 2, what="the failing attempts")
        assert await hub.store.prune(time.time() - 3600) == 0  # nothing that old yet
        removed = await hub.store.prune(time.time() + 1)
        left_done = await deliveries(hub, done.id)
        left_waiting = await deliveries(hub, waiting.id)
        ticket_event = await hub.store.get_event(tickets[0].event_id)
        with pytest.raises(NotFound):
            await hub.store.get_event(scan.event_id)  # its only delivery was pruned

    assert removed == 3
    assert left_done == []
    # The pending deliveries (and so their events) stay until they finish.
    assert [d.status for d in left_waiting] == ["pending", "pending"]
    assert [d.endpoint_id for d in ticket_event.deliveries] == [waiting.id]
