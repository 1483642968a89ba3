"""The SSRF guard through the engine: a refused destination becomes a recorded ``policy``
failure with a clear reason, final at once (no retries on the schedule), logged and counted, and
nothing arrives; an allowed network gets its deliveries.

Address literals are refused when an endpoint is saved, so the endpoints that reach the engine
with one here were saved before: written to the store directly, as by an older version or
under an allowance since withdrawn.

Only loopback receivers exist. Refused non-loopback destinations are IP literals (refused before
any connection) or names answered by a table resolver (no DNS); the test safety net in
``tests/conftest.py`` would refuse any non-loopback connection should the guard ever fail.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import structlog
from engine_support import (
    Receiver,
    StaticResolver,
    all_final,
    attempted,
    deliveries,
    hub_on,
    receiving,
    ticket,
    wait_for,
    worker_with,
)

from scanhook.delivery import HttpClient
from scanhook.hub import Hub
from scanhook.metrics import Metrics
from scanhook.store.records import Endpoint

#: One URL per refused address class, with words its reason must contain.
REFUSED = {
    "http://10.0.0.1:{port}/hook": "10.0.0.1 is a private address",
    "http://172.16.0.1:{port}/hook": "a private address",
    "http://192.168.1.1:{port}/hook": "a private address",
    "http://169.254.169.254:{port}/latest/meta-data/": "cloud metadata",
    "http://169.254.10.10:{port}/hook": "a link-local address",
    "http://100.64.0.1:{port}/hook": "CGNAT",
    "http://224.0.0.1:{port}/hook": "a multicast address",
    "http://0.0.0.0:{port}/hook": "the unspecified address",
    "http://240.0.0.1:{port}/hook": "a reserved address",
    "http://[::ffff:127.0.0.1]:{port}/hook": "IPv4-mapped",
    "http://[fd00::1]:{port}/hook": "unique local",
    "http://[fe80::1]:{port}/hook": "a link-local address",
    "http://[::1]:{port}/hook": "a loopback address",
    "http://2130706433:{port}/hook": "ambiguous IP address spelling",
    "http://0x7f.0.0.1:{port}/hook": "ambiguous IP address spelling",
}


async def saved_before(hub: Hub, url: str) -> Endpoint:
    """An endpoint whose URL the save-time check would refuse now, stored as it was saved."""
    endpoint = await hub.add_endpoint("https://hooks.example.com/placeholder")
    return await hub.store.update_endpoint(dataclasses.replace(endpoint, url=url))


async def test_a_refused_delivery_fails_at_once_logged_and_counted(tmp_path: Path) -> None:
    receiver = Receiver()
    metrics = Metrics()
    async with (
        receiving(receiver),
        hub_on(tmp_path, allow_private_networks=False, retry_schedule="0.1s,0.1s,0.1s") as hub,
    ):
        hub.add_attempt_listener(metrics.record_attempts)
        endpoint = await saved_before(hub, receiver.url)
        await hub.publish(ticket(1))
        with structlog.testing.capture_logs() as logs:
            async with hub.run_workers():
                await wait_for(lambda: all_final(hub, endpoint.id, 1), what="the policy failure")
        (delivery,) = await deliveries(hub, endpoint.id)

    assert receiver.hits == []
    assert delivery.status == "failed"
    (attempt,) = delivery.attempt_log  # not retried on the schedule
    assert attempt.error_kind == "policy"
    assert attempt.status_code is None
    assert attempt.error == "refused: 127.0.0.1 is a loopback address"
    (warning,) = [e for e in logs if e["event"] == "delivery refused by the network policy"]
    assert warning["log_level"] == "warning"
    assert warning["reason"] == "loopback"
    assert warning["delivery_id"] == delivery.id
    assert warning["error"] == attempt.error
    exposition = metrics.render().decode()
    assert 'scanhook_destinations_refused_total{reason="loopback"} 1.0' in exposition


async def test_every_refused_address_class_is_a_policy_failure(tmp_path: Path) -> None:
    receiver = Receiver()  # the port exists, so only the policy can be why nothing arrives
    async with (
        receiving(receiver),
        hub_on(tmp_path, allow_private_networks=False, retry_schedule="1h") as hub,
    ):
        endpoints = {
            (await saved_before(hub, url.format(port=receiver.port))).id: words
            for url, words in REFUSED.items()
        }
        await hub.publish(ticket(2))
        async with hub.run_workers():
            for endpoint_id in endpoints:
                await wait_for(lambda e=endpoint_id: attempted(hub, e), what=endpoint_id)
        records = {e: (await deliveries(hub, e))[0] for e in endpoints}

    assert receiver.hits == []
    for endpoint_id, words in endpoints.items():
        assert records[endpoint_id].status == "failed"
        (attempt,) = records[endpoint_id].attempt_log
        assert attempt.error_kind == "policy", attempt
        assert attempt.error is not None
        assert attempt.error.startswith("refused: ")
        assert words in attempt.error, (words, attempt.error)


@pytest.mark.parametrize(
    ("addresses", "words"),
    [
        (["127.0.0.1"], "a loopback address"),
        (["10.20.30.40"], "a private address"),
        (["169.254.169.254"], "cloud metadata"),
        (["100.100.1.1"], "CGNAT"),
        (["fd12::1"], "unique local"),
        (["10.0.0.1", "192.168.0.1"], "resolves only to refused addresses"),
    ],
)
async def test_a_name_resolving_to_a_refused_address_is_a_policy_failure(
    tmp_path: Path, addresses: list[str], words: str
) -> None:
    receiver = Receiver()
    resolver = StaticResolver({"hooks.partner.example": addresses})
    async with (
        receiving(receiver),
        hub_on(tmp_path, allow_private_networks=False, retry_schedule="1h") as hub,
    ):
        endpoint = await hub.add_endpoint(f"http://hooks.partner.example:{receiver.port}/hook")
        await hub.publish(ticket(3))
        policy = hub.network_policy()
        async with (
            HttpClient(policy, user_agent=hub.user_agent, resolver=resolver) as client,
            worker_with(hub, client),
        ):
            await wait_for(lambda: attempted(hub, endpoint.id), what="the refused attempt")
        (delivery,) = await deliveries(hub, endpoint.id)

    assert resolver.calls  # the name went through the resolver layer
    assert receiver.hits == []
    assert delivery.status == "failed"  # at once, whatever the schedule (1h) says
    (attempt,) = delivery.attempt_log
    assert attempt.error_kind == "policy"
    assert attempt.error is not None
    assert "hooks.partner.example resolves only to refused addresses" in attempt.error
    assert words in attempt.error


async def test_an_allowed_network_gets_deliveries_while_other_loopback_stays_refused(
    tmp_path: Path,
) -> None:
    allowed, other = Receiver(host="127.0.0.2"), Receiver(host="127.0.0.1")
    # A name answering a refused address first and the allowed one second: the engine connects
    # to the address it checked, 127.0.0.2.
    resolver = StaticResolver({"mixed.partner.example": ["10.0.0.1", "127.0.0.2"]})
    async with (
        receiving(allowed, other),
        hub_on(
            tmp_path,
            allow_private_networks=False,
            allowed_networks="127.0.0.2/32",
            retry_schedule="1h",
        ) as hub,
    ):
        good = await hub.add_endpoint(allowed.url)
        named = await hub.add_endpoint(f"http://mixed.partner.example:{allowed.port}/hook")
        refused = await saved_before(hub, other.url)
        await hub.publish_batch([ticket(4), ticket(5)])
        policy = hub.network_policy()
        async with (
            HttpClient(policy, user_agent=hub.user_agent, resolver=resolver) as client,
            worker_with(hub, client),
        ):
            await wait_for(lambda: all_final(hub, good.id, 2), what="the allowed deliveries")
            await wait_for(lambda: all_final(hub, named.id, 2), what="the named deliveries")
            await wait_for(lambda: attempted(hub, refused.id), what="the refused attempts")
        good_deliveries = await deliveries(hub, good.id)
        named_deliveries = await deliveries(hub, named.id)
        refused_deliveries = await deliveries(hub, refused.id)

    assert len(allowed.hits) == 4
    assert {hit.host for hit in allowed.hits} == {
        f"127.0.0.2:{allowed.port}",
        f"mixed.partner.example:{allowed.port}",
    }
    assert all(d.status == "succeeded" for d in good_deliveries + named_deliveries)
    assert other.hits == []
    for delivery in refused_deliveries:
        for attempt in delivery.attempt_log:
            assert attempt.error_kind == "policy"
            assert attempt.error == "refused: 127.0.0.1 is a loopback address"


async def test_a_refused_oauth2_token_url_fails_the_delivery_at_once(tmp_path: Path) -> None:
    """The token request is refused before anything is sent to the endpoint's own URL."""
    receiver = Receiver()
    async with (
        receiving(receiver),
        hub_on(tmp_path, allow_private_networks=False, retry_schedule="1h") as hub,
    ):
        endpoint = await hub.add_endpoint(
            "https://hooks.example.com/x",
            auth={
                "type": "oauth2",
                "token_url": "https://auth.example.com/token",
                "client_id": "scanhook",
                "client_secret": "client-secret-value",
            },
        )
        assert endpoint.auth is not None
        stored_auth = {**endpoint.auth, "token_url": receiver.url}
        await hub.store.update_endpoint(dataclasses.replace(endpoint, auth=stored_auth))
        await hub.publish(ticket(6))
        async with hub.run_workers():
            await wait_for(lambda: attempted(hub, endpoint.id), what="the refused token request")
        (delivery,) = await deliveries(hub, endpoint.id)

    assert receiver.hits == []
    assert delivery.status == "failed"
    (attempt,) = delivery.attempt_log
    assert attempt.error_kind == "policy"
    assert attempt.error is not None
    assert "127.0.0.1 is a loopback address" in attempt.error
    assert "client-secret-value" not in attempt.error
