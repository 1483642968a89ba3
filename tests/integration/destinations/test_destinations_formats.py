"""Formats through the real engine: PagerDuty trigger/resolve, Splunk HEC, CloudEvents, a Skip,
a render error, and targets' refusals recorded readably and as final when retrying cannot help."""

from __future__ import annotations

import json
import time
from pathlib import Path

from destkit import deliver, serving
from engine_support import Receiver, deliveries, finished_scan, hub_on, receiving, ticket
from targets import Target

from scanhook.delivery.signing import verify


async def test_pagerduty_trigger_and_resolve_share_the_dedup_key(tmp_path: Path) -> None:
    pagerduty = Target("pagerduty")
    async with serving(pagerduty), hub_on(tmp_path) as hub:
        endpoint = await hub.add_endpoint(
            pagerduty.url,
            event_types=["ticket.*"],
            format="pagerduty",
            format_options={"routing_key": "R0UT1NGKEY"},
            ordered=True,
        )
        await hub.publish(ticket(4711))
        await hub.publish(ticket(4711, "Closed (Fixed)"))
        await deliver(hub, endpoint.id, 2)
        found = await deliveries(hub, endpoint.id)

    assert [d.status for d in found] == ["succeeded", "succeeded"]
    trigger, resolve = (seen.json() for seen in pagerduty.seen)
    assert {s.path for s in pagerduty.seen} == {"/v2/enqueue"}
    assert (trigger["event_action"], resolve["event_action"]) == ("trigger", "resolve")
    assert trigger["dedup_key"] == resolve["dedup_key"] == "scanhook/ticket/4711"
    assert found[0].attempt_log[0].status_code == 202


async def test_a_permanent_400_is_final_with_the_targets_reason(tmp_path: Path) -> None:
    pagerduty = Target("pagerduty")
    async with serving(pagerduty), hub_on(tmp_path) as hub:
        endpoint = await hub.add_endpoint(
            pagerduty.url, format="pagerduty", format_options={"routing_key": "WRONGKEY"}
        )
        await hub.publish(ticket(1))
        await deliver(hub, endpoint.id, 1)
        (delivery,) = await deliveries(hub, endpoint.id)

    assert len(pagerduty.seen) == 1  # not retried: the schedule had three more steps
    assert (delivery.status, delivery.attempts) == ("failed", 1)
    assert delivery.attempt_log[0].error == (
        "HTTP 400: PagerDuty: Event object is invalid; 'routing_key' is invalid — the target "
        "will never accept this request as it is; retrying cannot help"
    )
    assert delivery.last_error == delivery.attempt_log[0].error


async def test_a_skip_succeeds_without_a_request_and_says_why(tmp_path: Path) -> None:
    pagerduty = Target("pagerduty")
    async with serving(pagerduty), hub_on(tmp_path) as hub:
        endpoint = await hub.add_endpoint(
            pagerduty.url, format="pagerduty", format_options={"routing_key": "R0UT1NGKEY"}
        )
        await hub.publish(finished_scan(critical=0))  # below the default min_severity High
        await deliver(hub, endpoint.id, 1)
        (delivery,) = await deliveries(hub, endpoint.id)

    assert pagerduty.seen == []
    assert (delivery.status, delivery.attempts) == ("succeeded", 1)
    (attempt,) = delivery.attempt_log
    assert attempt.status_code is None
    assert attempt.error_kind is None
    assert attempt.error is not None
    assert attempt.error.startswith("skipped: ")
    assert delivery.last_error is None


async def test_splunk_gets_its_token_header_and_a_bad_index_is_final_and_readable(
    tmp_path: Path,
) -> None:
    splunk = Target("splunk", expect_auth="Splunk 11111111-2222-3333-4444-555555555555")
    auth = {
        "type": "header",
        "name": "Authorization",
        "value": "Splunk 11111111-2222-3333-4444-555555555555",
    }
    async with serving(splunk), hub_on(tmp_path) as hub:
        good = await hub.add_endpoint(
            splunk.url, format="splunk", format_options={"index": "security"}, auth=auth
        )
        bad = await hub.add_endpoint(
            splunk.url, format="splunk", format_options={"index": "nope"}, auth=auth
        )
        await hub.publish(finished_scan())
        await deliver(hub, good.id, 1)
        await deliver(hub, bad.id, 1)
        (ok,) = await deliveries(hub, good.id)
        (refused,) = await deliveries(hub, bad.id)

    assert ok.status == "succeeded"
    sent = next(s for s in splunk.seen if s.json().get("index") == "security")
    assert sent.path == "/services/collector/event"
    assert sent.json()["event"]["event_type"] == "finished_scan"
    assert (refused.status, refused.attempts) == ("failed", 1)
    assert (refused.attempt_log[0].error or "").startswith(
        "HTTP 400: Splunk: Incorrect index (code 7), event #0 — the target will never accept"
    )


async def test_cloudevents_arrive_structured_and_signed_over_the_body_sent(
    tmp_path: Path,
) -> None:
    receiver = Receiver()
    async with receiving(receiver), hub_on(tmp_path) as hub:
        endpoint = await hub.add_endpoint(receiver.url, format="cloudevents")
        accepted = await hub.publish(ticket(8))
        await deliver(hub, endpoint.id, 1)

    (hit,) = receiver.hits
    assert hit.headers["content-type"] == "application/cloudevents+json"
    event = json.loads(hit.body)
    assert (event["specversion"], event["type"], event["id"]) == (
        "1.0",
        "com.scanhook.ticket.opened",
        accepted.event_id,
    )
    assert event["data"]["ticket"]["number"] == 8
    assert hit.headers["content-length"] == str(len(hit.body))
    verify([endpoint.secrets[0].value], hit.headers, hit.body, now=time.time())


async def test_a_template_that_fails_at_delivery_fails_the_delivery_at_once(
    tmp_path: Path,
) -> None:
    receiver = Receiver()
    # Saved fine (the sample tickets are not #4711); ticket 4711 divides by zero.
    template = '{"x": {{ 1 // (ticket.number - 4711) if ticket else 0 }}}'
    async with receiving(receiver), hub_on(tmp_path) as hub:
        endpoint = await hub.add_endpoint(
            receiver.url, format="template", format_options={"template": template}
        )
        await hub.publish(ticket(4711))
        await hub.publish(ticket(4712))
        await deliver(hub, endpoint.id, 2)
        failed, sent = await deliveries(hub, endpoint.id)

    assert (failed.status, failed.attempts) == ("failed", 1)
    assert failed.attempt_log[0].error_kind == "render"
    assert "ZeroDivisionError" in (failed.attempt_log[0].error or "")
    assert sent.status == "succeeded"
    assert [json.loads(hit.body) for hit in receiver.hits] == [{"x": 1}]
