"""Real deliveries through the engine are signed and framed exactly as contract §2 says, and
verify with the Standard Webhooks reference packages (``standardwebhooks`` and ``svix``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import standardwebhooks
import svix.webhooks
from engine_support import (
    Receiver,
    deliveries,
    finished_scan,
    hub_on,
    receiving,
    ticket,
    wait_for,
)

from scanhook import __version__
from scanhook.delivery.signing import generate_secret
from scanhook.notifications import encode, parse

CONTRACT_HEADERS = {
    "content-type",
    "accept",
    "content-length",
    "user-agent",
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
    "scanhook-event-type",
    "scanhook-attempt",
}


def _verify_with_both_packages(secret: str, body: bytes, headers: dict[str, str]) -> None:
    standardwebhooks.Webhook(secret).verify(body, headers)
    svix.webhooks.Webhook(secret).verify(body, headers)


def _refused_by_both_packages(secret: str, body: bytes, headers: dict[str, str]) -> None:
    with pytest.raises(standardwebhooks.webhooks.WebhookVerificationError):
        standardwebhooks.Webhook(secret).verify(body, headers)
    with pytest.raises(svix.webhooks.WebhookVerificationError):
        svix.webhooks.Webhook(secret).verify(body, headers)


async def test_deliveries_verify_with_standardwebhooks_and_svix_and_carry_contract_headers(
    tmp_path: Path,
) -> None:
    receiver = Receiver()
    secret = generate_secret()
    notifications = [finished_scan(), ticket(4711), ticket(4711, "Closed (Fixed)")]
    async with receiving(receiver), hub_on(tmp_path) as hub:
        endpoint = await hub.add_endpoint(receiver.url, secret=secret)
        results = [await hub.publish(n) for n in notifications]
        async with hub.run_workers():
            await wait_for(lambda: len(receiver.hits) == 3, what="three deliveries")
        stored = {d.id for d in await deliveries(hub, endpoint.id)}

    expected_bodies = {encode(parse(n, hub.tz), hub.tz) for n in notifications}
    assert set(receiver.bodies()) == expected_bodies
    expected_types = {"finished_scan", "ticket.opened", "ticket.closed"}
    assert {hit.headers["scanhook-event-type"] for hit in receiver.hits} == expected_types
    event_ids = {r.event_id for r in results}
    delivery_ids = set()
    for hit in receiver.hits:
        names = {name.lower() for name in hit.raw_names}
        assert names >= CONTRACT_HEADERS, CONTRACT_HEADERS - names
        assert "content_type" not in names  # legacy headers only when the endpoint opts in
        assert hit.headers["content-type"] == "application/json"
        assert hit.headers["accept"] == "*/*"
        assert hit.headers["content-length"] == str(len(hit.body))
        assert hit.headers["user-agent"] == f"scanhook/{__version__}"
        assert hit.headers["scanhook-attempt"] == "1"
        assert hit.headers["webhook-signature"].count("v1,") == 1
        assert hit.headers["webhook-id"] not in event_ids
        delivery_ids.add(hit.webhook_id)
        _verify_with_both_packages(secret, hit.body, hit.headers)
        _refused_by_both_packages(generate_secret(), hit.body, hit.headers)
        # One changed byte and the signature no longer holds.
        _refused_by_both_packages(secret, hit.body.replace(b"}", b" }", 1), hit.headers)
        assert json.loads(hit.body)  # one JSON object with one top-level key
    assert len(delivery_ids) == 3
    assert stored == delivery_ids  # webhook-id is the delivery's id


async def test_the_seed_body_goes_out_byte_for_byte_with_legacy_headers(
    tmp_path: Path, seed_finished_scan: bytes
) -> None:
    receiver = Receiver()
    secret = generate_secret()
    async with receiving(receiver), hub_on(tmp_path) as hub:
        await hub.add_endpoint(
            receiver.url, secret=secret, legacy_headers=True, headers={"X-Team": "secops"}
        )
        await hub.publish(seed_finished_scan)
        async with hub.run_workers():
            await wait_for(lambda: len(receiver.hits) == 1, what="the delivery")

    (hit,) = receiver.hits
    # The wire order of keys is the contract's, so the body is what notifications.encode gives.
    assert hit.body == encode(parse(seed_finished_scan, hub.tz), hub.tz)
    assert json.loads(hit.body) == json.loads(seed_finished_scan)
    assert "Content_Type" in hit.raw_names
    assert "Content_Length" in hit.raw_names
    assert hit.headers["content_type"] == "application/json"
    assert hit.headers["content_length"] == str(len(hit.body))
    assert hit.headers["x-team"] == "secops"
    _verify_with_both_packages(secret, hit.body, hit.headers)


async def test_during_a_rotation_both_signatures_are_sent_and_each_verifies_alone(
    tmp_path: Path,
) -> None:
    receiver = Receiver()
    old = generate_secret()
    async with receiving(receiver), hub_on(tmp_path) as hub:
        endpoint = await hub.add_endpoint(receiver.url, secret=old)
        rotated = await hub.rotate_secret(endpoint.id)
        new = next(s.value for s in rotated.secrets if s.expires_at is None)
        assert new != old
        await hub.publish(ticket(7))
        async with hub.run_workers():
            await wait_for(lambda: len(receiver.hits) == 1, what="the delivery")

    (hit,) = receiver.hits
    signatures = hit.headers["webhook-signature"].split(" ")
    assert len(signatures) == 2
    assert all(s.startswith("v1,") for s in signatures)
    # Each receiver, holding only one of the two secrets, accepts the delivery.
    _verify_with_both_packages(new, hit.body, hit.headers)
    _verify_with_both_packages(old, hit.body, hit.headers)
    # And each signature is the one of its own secret: drop one, the other secret fails.
    only_new = {**hit.headers, "webhook-signature": signatures[0]}
    _verify_with_both_packages(new, hit.body, only_new)
    _refused_by_both_packages(old, hit.body, only_new)
    only_old = {**hit.headers, "webhook-signature": signatures[1]}
    _verify_with_both_packages(old, hit.body, only_old)
    _refused_by_both_packages(new, hit.body, only_old)
