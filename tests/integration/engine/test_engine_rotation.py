"""Rotating signing secrets: at most the two newest previous secrets keep signing beside the
current one, however often the secret is rotated, and ``expire_previous`` ends them at once (a
leaked secret stops verifying with the next delivery)."""

from __future__ import annotations

from pathlib import Path

import pytest
import standardwebhooks
from engine_support import Receiver, hub_on, receiving, ticket, wait_for

from scanhook.delivery.signing import generate_secret


async def test_twenty_rotations_keep_three_signatures_and_expire_previous_leaves_one(
    tmp_path: Path,
) -> None:
    receiver = Receiver()
    first = generate_secret()
    async with receiving(receiver), hub_on(tmp_path) as hub:
        endpoint = await hub.add_endpoint(receiver.url, secret=first)
        history = [first]
        for _ in range(20):
            rotated = await hub.rotate_secret(endpoint.id)
            history.append(next(s.value for s in rotated.secrets if s.expires_at is None))
        assert [s.value for s in rotated.secrets] == [history[-1], history[-2], history[-3]]
        await hub.publish(ticket(1))
        async with hub.run_workers():
            await wait_for(lambda: len(receiver.hits) == 1, what="the first delivery")

        leaked = history[-2]
        expired = await hub.rotate_secret(endpoint.id, expire_previous=True)
        (current,) = expired.secrets
        assert current.expires_at is None
        await hub.publish(ticket(2))
        async with hub.run_workers():
            await wait_for(lambda: len(receiver.hits) == 2, what="the second delivery")

    before, after = receiver.hits
    assert len(before.headers["webhook-signature"].split(" ")) == 3
    for secret in history[-3:]:
        standardwebhooks.Webhook(secret).verify(before.body, before.headers)
    with pytest.raises(standardwebhooks.webhooks.WebhookVerificationError):
        standardwebhooks.Webhook(history[-4]).verify(before.body, before.headers)
    assert len(after.headers["webhook-signature"].split(" ")) == 1
    standardwebhooks.Webhook(current.value).verify(after.body, after.headers)
    with pytest.raises(standardwebhooks.webhooks.WebhookVerificationError):
        standardwebhooks.Webhook(leaked).verify(after.body, after.headers)
