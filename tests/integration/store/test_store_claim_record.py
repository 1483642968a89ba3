"""Both backends: claiming (leases, limits, circuit, rate, order, fairness) and recording."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

import pytest
from storekit import T0, MakeEndpoint, new_event

from scanhook.store import (
    AttemptOutcome,
    ClaimedDelivery,
    EndpointSecret,
    Store,
    StorePolicy,
    open_store,
)

LEASE = 30.0


def ok(c: ClaimedDelivery, at: float = T0, **kw: object) -> AttemptOutcome:
    return AttemptOutcome(
        delivery_id=c.id,
        endpoint_id=c.endpoint.id,
        number=c.attempt,
        started_at=at,
        duration_ms=5.0,
        succeeded=True,
        status_code=200,
        **kw,  # type: ignore[arg-type]
    )


def fail(
    c: ClaimedDelivery, at: float = T0, retry_at: float | None = None, **kw: object
) -> AttemptOutcome:
    return AttemptOutcome(
        delivery_id=c.id,
        endpoint_id=c.endpoint.id,
        number=c.attempt,
        started_at=at,
        duration_ms=5.0,
        succeeded=False,
        status_code=500,
        error_kind="http",
        error="HTTP 500",
        response_body="oops",
        next_attempt_at=retry_at,
        **kw,  # type: ignore[arg-type]
    )


async def test_claim_leases_due_deliveries_once(store: Store, make_endpoint: MakeEndpoint) -> None:
    ep = await make_endpoint()
    events = [new_event(at=T0 + i) for i in range(3)]
    await store.publish(events)
    assert await store.claim("w1", T0 - 1, LEASE, 10) == []  # not due yet
    claimed = await store.claim("w1", T0 + 5, LEASE, 10)
    assert [c.event_id for c in claimed] == [e.id for e in events]
    c = claimed[0]
    assert (c.attempt, c.endpoint.id, c.body, c.lease_until, c.event_created_at) == (
        1,
        ep.id,
        events[0].body,
        T0 + 5 + LEASE,
        T0,
    )
    assert (await store.get_delivery(c.id)).status == "sending"
    # Leased rows are not handed out again while the lease holds.
    assert await store.claim("w2", T0 + 10, LEASE, 10) == []


async def test_expired_lease_is_reclaimed(store: Store, make_endpoint: MakeEndpoint) -> None:
    await make_endpoint()
    await store.publish([new_event()])
    [first] = await store.claim("w1", T0, LEASE, 10)
    assert await store.claim("w2", T0 + LEASE, LEASE, 10) == []  # lease_until is not < now
    [again] = await store.claim("w2", T0 + LEASE + 0.1, LEASE, 10)
    assert (again.id, again.attempt) == (first.id, 1)


async def test_max_in_flight_counts_unexpired_leases(
    store: Store, make_endpoint: MakeEndpoint
) -> None:
    await make_endpoint(max_in_flight=2)
    await store.publish([new_event(at=T0 + i * 0.001) for i in range(5)])
    assert len(await store.claim("w1", T0 + 1, LEASE, 10)) == 2
    assert await store.claim("w2", T0 + 2, LEASE, 10) == []
    # After the leases expire, those two are due again (and nothing more is in flight).
    reclaimed = await store.claim("w3", T0 + 1 + LEASE + 1, LEASE, 10)
    assert len(reclaimed) == 2
    await store.record([ok(reclaimed[0], at=T0 + 40)])
    assert len(await store.claim("w3", T0 + 41, LEASE, 10)) == 1


async def test_open_circuit_gives_nothing_and_half_open_one_probe(
    store: Store, make_endpoint: MakeEndpoint
) -> None:
    ep = await make_endpoint()  # threshold 3, pauses 10 s, 20 s, 100 s (see conftest policy)
    await store.publish([new_event(at=T0 + i * 0.001) for i in range(6)])
    claimed = await store.claim("w", T0 + 1, LEASE, 3)
    await store.record([fail(c, at=T0 + 1, retry_at=T0 + 2) for c in claimed])
    health = await store.get_endpoint(ep.id)
    assert health.consecutive_failures == 3
    assert health.circuit_open_until == pytest.approx(T0 + 1.005 + 10)
    assert await store.claim("w", T0 + 5, LEASE, 10) == []  # open
    probe = await store.claim("w", T0 + 12, LEASE, 10)  # half-open
    assert len(probe) == 1
    assert await store.claim("w", T0 + 12, LEASE, 10) == []  # one probe in flight
    await store.record([fail(probe[0], at=T0 + 12, retry_at=T0 + 13)])
    # The failed probe moves the pause one step on: 20 s from the probe's end.
    health = await store.get_endpoint(ep.id)
    assert health.circuit_open_until == pytest.approx(T0 + 12.005 + 20)
    assert (health.circuit_opened_at, health.circuit_failed_probes) == (
        pytest.approx(T0 + 1.005),
        1,
    )
    assert health.circuit_reason == "4 consecutive failures; last: HTTP 500"
    assert await store.claim("w", T0 + 30, LEASE, 10) == []
    probe = await store.claim("w", T0 + 33, LEASE, 10)
    await store.record([ok(probe[0], at=T0 + 33)])
    health = await store.get_endpoint(ep.id)
    assert (health.consecutive_failures, health.circuit_open_until, health.failing_since) == (
        0,
        None,
        None,
    )
    assert health.last_success_at == pytest.approx(T0 + 33.005)
    assert (health.circuit_opened_at, health.circuit_failed_probes, health.circuit_reason) == (
        None,
        0,
        None,
    )
    assert len(await store.claim("w", T0 + 34, LEASE, 10)) == 5


async def test_failures_in_flight_when_the_circuit_opened_leave_its_pause(
    store: Store, make_endpoint: MakeEndpoint
) -> None:
    ep = await make_endpoint(max_in_flight=10)  # threshold 3, first pause 10 s
    await store.publish([new_event(at=T0 + i * 0.001) for i in range(20)])
    claimed = await store.claim("w", T0 + 1, LEASE, 10)
    assert len(claimed) == 10
    # All ten fail: the third opens the circuit; the other seven were in flight, and are
    # recorded in two later batches.
    await store.record([fail(c, at=T0 + 1, retry_at=T0 + 2) for c in claimed[:3]])
    await store.record([fail(c, at=T0 + 1, retry_at=T0 + 2) for c in claimed[3:6]])
    await store.record([fail(c, at=T0 + 1, retry_at=T0 + 2) for c in claimed[6:]])
    health = await store.get_endpoint(ep.id)
    assert health.consecutive_failures == 10
    assert health.circuit_open_until == pytest.approx(T0 + 1.005 + 10)
    assert health.circuit_failed_probes == 0
    assert health.circuit_reason == "3 consecutive failures; last: HTTP 500"


async def test_the_probe_is_the_due_delivery_tried_most(
    store: Store, make_endpoint: MakeEndpoint
) -> None:
    ep = await make_endpoint()
    await store.publish([new_event(at=T0 + i * 0.001) for i in range(6)])
    first = await store.claim("w", T0 + 1, LEASE, 3)
    # Two fail again later (their second attempt) and one of them a third time, so at the
    # probe the due rows have 0, 1, 2 and 3 attempts; the one tried most goes.
    await store.record([fail(c, at=T0 + 1, retry_at=T0 + 2) for c in first])
    health = await store.get_endpoint(ep.id)
    assert health.circuit_open_until == pytest.approx(T0 + 1.005 + 10)
    [probe] = await store.claim("w", T0 + 12, LEASE, 10)
    assert (probe.id, probe.attempt) == (first[0].id, 2)
    await store.record([fail(probe, at=T0 + 12, retry_at=T0 + 13)])
    [probe] = await store.claim("w", T0 + 33, LEASE, 10)
    assert (probe.id, probe.attempt) == (first[0].id, 3)
    await store.record([fail(probe, at=T0 + 33, retry_at=T0 + 34)])
    assert (await store.get_endpoint(ep.id)).circuit_failed_probes == 2
    # Due now: first[0] (3 attempts), first[1] and first[2] (1 each), three never tried.
    [probe] = await store.claim("w", T0 + 134, LEASE, 10)
    assert (probe.id, probe.attempt) == (first[0].id, 4)


async def test_circuit_hold_is_capped(store: Store, make_endpoint: MakeEndpoint) -> None:
    ep = await make_endpoint()
    await store.publish([new_event()])
    t = T0
    for _ in range(9):  # 9 failures 101 s apart: within disable_after (1000 s)
        t += 101
        [c] = await store.claim("w", t, LEASE, 1)
        await store.record([fail(c, at=t, retry_at=t)])
    assert (await store.get_endpoint(ep.id)).circuit_open_until == pytest.approx(t + 0.005 + 100)


async def test_rate_limit_is_a_token_bucket(store: Store, make_endpoint: MakeEndpoint) -> None:
    await make_endpoint(rate_limit=2.0)  # burst 2, 2 tokens per second
    await store.publish([new_event(at=T0) for _ in range(10)])
    assert len(await store.claim("w", T0, LEASE, 10)) == 2
    assert await store.claim("w", T0 + 0.2, LEASE, 10) == []  # 0.4 tokens
    assert len(await store.claim("w", T0 + 0.5, LEASE, 10)) == 1  # 1.0 token
    assert len(await store.claim("w", T0 + 10, LEASE, 10)) == 2  # capped at the burst


async def test_slow_rate_has_a_burst_of_one(store: Store, make_endpoint: MakeEndpoint) -> None:
    await make_endpoint(rate_limit=0.5)
    await store.publish([new_event() for _ in range(3)])
    assert len(await store.claim("w", T0, LEASE, 10)) == 1
    assert await store.claim("w", T0 + 1, LEASE, 10) == []
    assert len(await store.claim("w", T0 + 2, LEASE, 10)) == 1


async def test_ordered_endpoint_goes_in_publish_order_through_failures(
    store: Store, make_endpoint: MakeEndpoint
) -> None:
    await make_endpoint(ordered=True)
    events = [new_event(at=T0 + i) for i in range(3)]
    await store.publish(events)
    [first] = await store.claim("w", T0 + 10, LEASE, 10)
    assert first.event_id == events[0].id
    assert await store.claim("w", T0 + 10, LEASE, 10) == []  # one in flight
    await store.record([fail(first, at=T0 + 10, retry_at=T0 + 100)])
    # The first is waiting for its retry: the later ones must wait too.
    assert await store.claim("w", T0 + 50, LEASE, 10) == []
    assert await store.next_due_at() == T0 + 100
    [retry] = await store.claim("w", T0 + 100, LEASE, 10)
    assert (retry.id, retry.attempt) == (first.id, 2)
    # A lease that expires keeps the order: the same one comes back.
    [again] = await store.claim("w", T0 + 100 + LEASE + 1, LEASE, 10)
    assert again.id == first.id
    await store.record([ok(again, at=T0 + 140)])
    [second] = await store.claim("w", T0 + 141, LEASE, 10)
    assert second.event_id == events[1].id
    await store.record([fail(second, at=T0 + 141, retry_at=None)])  # given up: failed
    [third] = await store.claim("w", T0 + 142, LEASE, 10)
    assert third.event_id == events[2].id


async def _deliver_in_order(store: Store, count: int, at: float) -> list[ClaimedDelivery]:
    """Claim and record as succeeded, one at a time, ``count`` deliveries of the one ordered
    endpoint; the claims that find nothing due end it early."""
    done = []
    for step in range(count):
        claimed = await store.claim("w", at + step, LEASE, 10)
        if not claimed:
            break
        [one] = claimed
        await store.record([ok(one, at=at + step)])
        done.append(one)
    return done


async def test_ordered_endpoint_takes_a_replayed_delivery_before_newer_ones(
    store: Store, make_endpoint: MakeEndpoint
) -> None:
    """The scan for the oldest unfinished delivery starts past the finished ones; a replay of an
    old one must move that start back, or the replayed delivery would never be found."""
    ep = await make_endpoint(ordered=True)
    old = [new_event(at=T0 + i) for i in range(4)]
    await store.publish(old)
    done = await _deliver_in_order(store, 5, T0 + 10)
    assert [c.event_id for c in done] == [e.id for e in old]  # the fifth claim found none
    assert await store.next_due_at() is None
    newer = [new_event(at=T0 + 20 + i) for i in range(2)]
    await store.publish(newer)
    assert await store.replay(ep.id, since=T0 + 1, status="succeeded", now=T0 + 30) == 3
    assert await store.next_due_at() == T0 + 30
    again = await _deliver_in_order(store, 6, T0 + 30)
    assert [c.event_id for c in again] == [e.id for e in old[1:] + newer]
    assert [c.attempt for c in again] == [2, 2, 2, 1, 1]


async def test_ordered_endpoint_takes_a_retried_failed_delivery_next(
    store: Store, make_endpoint: MakeEndpoint
) -> None:
    await make_endpoint(ordered=True)
    events = [new_event(at=T0 + i) for i in range(3)]
    await store.publish(events)
    [first] = await store.claim("w", T0 + 10, LEASE, 10)
    await store.record([fail(first, at=T0 + 10, retry_at=None)])  # given up: failed
    [second] = await store.claim("w", T0 + 11, LEASE, 10)
    assert second.event_id == events[1].id
    await store.record([ok(second, at=T0 + 11)])
    await store.retry_delivery(first.id, T0 + 12)
    [retried] = await store.claim("w", T0 + 12, LEASE, 10)
    assert (retried.id, retried.attempt) == (first.id, 2)
    await store.record([ok(retried, at=T0 + 12)])
    [third] = await store.claim("w", T0 + 13, LEASE, 10)
    assert third.event_id == events[2].id


async def test_a_claim_uses_the_configuration_changed_since_the_last_claim(
    store: Store, make_endpoint: MakeEndpoint, db_url: str, policy: StorePolicy
) -> None:
    """The store keeps the endpoints' decoded configuration between claims; a change made
    elsewhere (another process: here another store on the same database) must reach the next
    claim, secrets included, since the engine signs with what the claim gives it."""
    ep = await make_endpoint()
    await store.publish([new_event(at=T0) for _ in range(3)])
    [first] = await store.claim("w", T0, LEASE, 1)
    assert (first.endpoint.url, first.endpoint.secrets) == (ep.url, ep.secrets)
    other = open_store(db_url, policy)
    try:
        changed = await other.update_endpoint(
            replace(ep, url="https://changed.example/hook", headers={"X-Team": "blue"})
        )
        [second] = await store.claim("w", T0 + 1, LEASE, 1)
        assert (second.endpoint.url, dict(second.endpoint.headers)) == (
            "https://changed.example/hook",
            {"X-Team": "blue"},
        )
        rotated = (EndpointSecret("whsec_" + "QUJD" * 8),)
        await other.set_endpoint_secrets(ep.id, rotated)
        [third] = await store.claim("w", T0 + 2, LEASE, 1)
        assert (third.endpoint.url, third.endpoint.secrets) == (changed.url, rotated)
    finally:
        await other.close()


async def test_limit_is_shared_fairly_among_endpoints(
    store: Store, make_endpoint: MakeEndpoint
) -> None:
    busy = await make_endpoint(max_in_flight=100)
    quiet = await make_endpoint(max_in_flight=100, event_types=("finished_scan",))
    third = await make_endpoint(max_in_flight=100)
    await store.publish([new_event(at=T0) for _ in range(20)])
    from storekit import finished_scan

    await store.publish([new_event(finished_scan(), at=T0) for _ in range(2)])
    claimed = await store.claim("w", T0, LEASE, 12)
    per = Counter(c.endpoint.id for c in claimed)
    assert per == {busy.id: 5, third.id: 5, quiet.id: 2}
    # With a limit smaller than the number of endpoints, turns rotate.
    firsts = {(await store.claim("w", T0, LEASE, 1))[0].endpoint.id for _ in range(2)}
    assert firsts == {busy.id, third.id}


async def test_record_moves_deliveries_and_keeps_attempts(
    store: Store, make_endpoint: MakeEndpoint
) -> None:
    await make_endpoint()
    await store.publish([new_event() for _ in range(3)])
    a, b, c = await store.claim("w", T0, LEASE, 10)
    await store.record([ok(a), fail(b, retry_at=T0 + 60), fail(c, retry_at=None)])
    da, db, dc = [await store.get_delivery(x.id) for x in (a, b, c)]
    assert (da.status, da.attempts, da.next_attempt_at, da.last_status_code) == (
        "succeeded",
        1,
        None,
        200,
    )
    assert (db.status, db.attempts, db.next_attempt_at, db.last_error) == (
        "pending",
        1,
        T0 + 60,
        "HTTP 500",
    )
    assert (dc.status, dc.next_attempt_at) == ("failed", None)
    [log] = db.attempt_log
    assert (log.number, log.status_code, log.error_kind, log.error, log.response_body) == (
        1,
        500,
        "http",
        "HTTP 500",
        "oops",
    )
    # A late duplicate report of an attempt changes nothing.
    await store.record([fail(a, retry_at=T0 + 5)])
    assert (await store.get_delivery(a.id)).status == "succeeded"
    # The retry is attempt 2.
    [retry] = await store.claim("w", T0 + 60, LEASE, 10)
    assert (retry.id, retry.attempt) == (b.id, 2)
    await store.record([ok(retry, at=T0 + 60)])
    assert [x.number for x in (await store.get_delivery(b.id)).attempt_log] == [1, 2]


async def test_failing_endpoint_is_disabled_after_disable_after(
    store: Store, make_endpoint: MakeEndpoint
) -> None:
    ep = await make_endpoint()  # disable_after 1000 s (conftest policy)
    await store.publish([new_event(), new_event()])
    [c, waiting] = await store.claim("w", T0, LEASE, 2)
    await store.record([fail(c, at=T0, retry_at=T0 + 2000), fail(waiting, retry_at=T0 + 2000)])
    assert (await store.get_endpoint(ep.id)).failing_since == T0
    [c] = await store.claim("w", T0 + 2000, LEASE, 1)
    await store.record([fail(c, at=T0 + 2000, retry_at=T0 + 3000)])
    off = await store.get_endpoint(ep.id)
    assert off.enabled is False
    assert off.disabled_reason is not None
    assert "since 2027-01-15 08:00:00 UTC" in off.disabled_reason
    # Its pending deliveries stay pending, and nothing is claimed while it is disabled.
    assert (await store.get_delivery(c.id)).status == "pending"
    assert await store.claim("w", T0 + 5000, LEASE, 10) == []
    assert await store.next_due_at() is None
    on = await store.set_endpoint_enabled(ep.id, True)
    assert (on.consecutive_failures, on.failing_since, on.circuit_open_until) == (0, None, None)
    assert len(await store.claim("w", T0 + 5000, LEASE, 10)) == 2


async def test_disable_reason_disables_at_once(store: Store, make_endpoint: MakeEndpoint) -> None:
    ep = await make_endpoint()
    other = await make_endpoint()
    await store.publish([new_event(), new_event()])
    claimed = await store.claim("w", T0, LEASE, 10)
    gone = [c for c in claimed if c.endpoint.id == ep.id]
    await store.record([fail(gone[0], retry_at=T0 + 5, disable_reason="410 Gone")])
    got = await store.get_endpoint(ep.id)
    assert (got.enabled, got.disabled_reason) == (False, "410 Gone")
    assert (await store.get_endpoint(other.id)).enabled is True


async def test_release_gives_leases_back(store: Store, make_endpoint: MakeEndpoint) -> None:
    await make_endpoint()
    await store.publish([new_event(), new_event()])
    claimed = await store.claim("w", T0, LEASE, 10)
    await store.release([c.id for c in claimed])
    await store.release([])
    again = await store.claim("w2", T0 + 1, LEASE, 10)
    assert sorted(c.id for c in again) == sorted(c.id for c in claimed)
    assert all(c.attempt == 1 for c in again)


async def test_next_due_at(store: Store, make_endpoint: MakeEndpoint) -> None:
    assert await store.next_due_at() is None
    ep = await make_endpoint(max_in_flight=1)
    await store.publish([new_event(at=T0 + 7), new_event(at=T0 + 9)])
    assert await store.next_due_at() == T0 + 7
    [c] = await store.claim("w", T0 + 10, LEASE, 10)
    # The endpoint is full: the next chance is when its lease ends.
    assert await store.next_due_at() == T0 + 10 + LEASE
    await store.record([ok(c, at=T0 + 11)])
    assert await store.next_due_at() == T0 + 9
    await store.set_endpoint_enabled(ep.id, False)
    assert await store.next_due_at() is None


async def test_record_and_claim_frees_the_slots_it_records(
    store: Store, make_endpoint: MakeEndpoint
) -> None:
    """The worker's cycle: what it records frees slots that the same call fills again, and the
    outcomes are recorded as with record()."""
    await make_endpoint(max_in_flight=2)
    await store.publish([new_event(at=T0 + i * 0.001) for i in range(5)])
    first = await store.record_and_claim([], "w", T0 + 1, LEASE, 10)
    assert len(first) == 2  # the endpoint is full
    assert await store.record_and_claim([], "w", T0 + 2, LEASE, 10) == []
    # One succeeded, one failed with a retry later: two slots free, filled by the same call.
    outcomes = [ok(first[0], at=T0 + 3), fail(first[1], at=T0 + 3, retry_at=T0 + 500)]
    second = await store.record_and_claim(outcomes, "w", T0 + 4, LEASE, 10)
    assert len(second) == 2
    assert {c.id for c in second}.isdisjoint(c.id for c in first)
    assert (await store.get_delivery(first[0].id)).status == "succeeded"
    retried = await store.get_delivery(first[1].id)
    assert (retried.status, retried.next_attempt_at) == ("pending", T0 + 500)
    # A limit of 0 records without claiming.
    assert await store.record_and_claim([ok(second[0], at=T0 + 5)], "w", T0 + 6, LEASE, 0) == []
    assert (await store.get_delivery(second[0].id)).status == "succeeded"
    [third] = await store.record_and_claim([], "w", T0 + 7, LEASE, 10)
    assert third.id not in {c.id for c in (*first, *second)}
