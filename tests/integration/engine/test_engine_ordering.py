"""An ordered endpoint gets its deliveries one at a time in publish order, even when receivers
fail first attempts or a delivery fails for good: a ticket's "Closed (Fixed)" never arrives
before its "Open"."""

from __future__ import annotations

import json
from pathlib import Path

from aiohttp import web
from engine_support import Hit, Receiver, all_final, deliveries, hub_on, receiving, ticket, wait_for


def _key(body: bytes) -> tuple[int, str]:
    data = json.loads(body)["ticket"]
    return data["number"], data["status"]


def _runs(hits: list[Hit]) -> list[str]:
    """The webhook-ids in arrival order with repeats (retries) folded."""
    runs: list[str] = []
    for hit in hits:
        if not runs or runs[-1] != hit.webhook_id:
            runs.append(hit.webhook_id)
    return runs


async def test_open_then_closed_arrive_in_publish_order_when_first_attempts_fail(
    tmp_path: Path,
) -> None:
    seen: set[str] = set()
    always_failing = 13

    async def flaky(hit: Hit, request: web.Request) -> web.StreamResponse:
        number, _ = _key(hit.body)
        first = hit.webhook_id not in seen
        seen.add(hit.webhook_id)
        if number == always_failing or (first and number % 2 == 0):
            return web.Response(status=503)
        return web.Response(text="ok")

    sequence = [(10, "Open"), (10, "Closed (Fixed)")]
    for number in range(11, 17):
        sequence += [(number, "Open"), (number, "Closed (Fixed)")]
    receiver = Receiver(flaky)
    # A high circuit threshold: the always-failing ticket must not open the circuit here.
    settings = {"retry_schedule": "0.1s,0.1s,0.1s", "circuit_threshold": 50}
    async with receiving(receiver), hub_on(tmp_path, **settings) as hub:
        endpoint = await hub.add_endpoint(receiver.url, ordered=True, max_in_flight=10)
        for number, status in sequence:  # one publish each: publish order is event order
            await hub.publish(ticket(number, status))
        async with hub.run_workers():
            await wait_for(
                lambda: all_final(hub, endpoint.id, len(sequence)), what="every delivery final"
            )
        stored = await deliveries(hub, endpoint.id)

    assert receiver.max_in_flight == 1  # never two in flight
    # Every delivery's attempts come together, and the deliveries come in publish order.
    runs = _runs(receiver.hits)
    assert len(runs) == len(set(runs)) == len(sequence)
    first_body = {hit.webhook_id: hit.body for hit in reversed(receiver.hits)}
    assert [_key(first_body[webhook_id]) for webhook_id in runs] == sequence
    assert [d.id for d in stored] == runs
    # Some first attempts failed (the test exercised retries) and one delivery failed for good,
    # yet the ones after it still went, in order, only after its last attempt.
    assert len(receiver.hits) > len(sequence) + 4
    failed = [d for d in stored if d.status == "failed"]
    assert {_key(first_body[d.id])[0] for d in failed} == {always_failing}
    assert all(d.status == "succeeded" for d in stored if d not in failed)
    succeeded_keys = [_key(h.body) for h in receiver.hits if _key(h.body)[0] != always_failing]
    assert [k for k in sequence if k[0] != always_failing] == list(dict.fromkeys(succeeded_keys))
