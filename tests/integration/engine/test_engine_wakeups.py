"""The worker is woken, not polled: a recorded outcome frees a slot and a publish in this
process start the next claim at once, long before the (here very long) poll interval."""

from __future__ import annotations

from pathlib import Path

from engine_support import Receiver, all_final, hub_on, receiving, ticket, wait_for

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
