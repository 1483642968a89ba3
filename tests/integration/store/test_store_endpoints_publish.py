"""Both backends: endpoints, publishing (atomic batches, idempotency, routing), reading events."""

from __future__ import annotations

import dataclasses

import pytest
from storekit import T0, MakeEndpoint, finished_scan, new_event, ticket

from scanhook.errors import ConfigurationError, ConflictError, DatabaseError, NotFound
from scanhook.store import EndpointSecret, Store, open_store
from scanhook.store.postgres import PostgresStore
from scanhook.store.sqlite import SqliteStore


def test_open_store_chooses_the_backend_by_scheme(tmp_path: object) -> None:
    assert isinstance(open_store("sqlite:///./x.db"), SqliteStore)
    # No I/O happens yet: any URL of the PostgreSQL family gives the PostgreSQL backend.
    for url in (
        "postgresql://postgres@127.0.0.1/test",
        "postgres://postgres@127.0.0.1/test",
        "postgresql+psycopg://postgres@127.0.0.1:5432/test",
        "postgresql+asyncpg://postgres@127.0.0.1/test",
    ):
        assert isinstance(open_store(url), PostgresStore), url
    with pytest.raises(ConfigurationError, match="names no database"):
        open_store("postgresql://postgres@127.0.0.1")
    with pytest.raises(ConfigurationError, match="unsupported database 'mysql'"):
        open_store("mysql://localhost/x")
    with pytest.raises(ConfigurationError, match="in-memory"):
        open_store("sqlite://")
    with pytest.raises(ConfigurationError, match="not a database URL"):
        open_store("nonsense")


async def test_endpoint_round_trip_and_listing(store: Store, make_endpoint: MakeEndpoint) -> None:
    created = await make_endpoint(
        id="ep_b",
        event_types=("ticket.*",),
        secrets=(EndpointSecret("whsec_AAAA"), EndpointSecret("whsec_BBBB", expires_at=T0)),
        headers={"X-Team": "sec"},
        format_options={"routing_key": "abc"},
        auth={"type": "bearer", "token": "t"},
        rate_limit=2.5,
        ordered=True,
        timeout=3.0,
        filter='ticket.severity == "High"',
    )
    assert created.created_at > 0
    assert created.updated_at == created.created_at
    again = await store.get_endpoint("ep_b")
    assert again == created
    assert again.secrets[1].expires_at == T0
    assert again.auth == {"type": "bearer", "token": "t"}
    await make_endpoint(id="ep_a")
    await make_endpoint(id="ep_c")
    assert [e.id for e in await store.list_endpoints()] == ["ep_a", "ep_b", "ep_c"]
    assert [e.id for e in await store.list_endpoints(after="ep_a", limit=1)] == ["ep_b"]
    with pytest.raises(ConflictError, match="ep_a"):
        await make_endpoint(id="ep_a")


async def test_missing_endpoint_raises_not_found(store: Store) -> None:
    for call in (
        store.get_endpoint("ep_x"),
        store.delete_endpoint("ep_x"),
        store.set_endpoint_enabled("ep_x", False),
        store.set_endpoint_secrets("ep_x", []),
        store.update_endpoint(dataclasses.replace(_endpoint(), id="ep_x")),
    ):
        with pytest.raises(NotFound, match="ep_x"):
            await call


def _endpoint() -> object:
    from scanhook.store import Endpoint

    return Endpoint(id="ep_1", url="https://receiver.example/hook")


async def test_update_writes_configuration_not_health(
    store: Store, make_endpoint: MakeEndpoint
) -> None:
    ep = await make_endpoint()
    sneaky = dataclasses.replace(
        ep, url="https://other.example/h", description="new", consecutive_failures=99
    )
    updated = await store.update_endpoint(sneaky)
    assert updated.url == "https://other.example/h"
    assert updated.description == "new"
    assert updated.consecutive_failures == 0
    assert updated.updated_at >= ep.updated_at
    disabled = await store.update_endpoint(dataclasses.replace(updated, enabled=False))
    assert disabled.enabled is False
    assert disabled.disabled_reason


async def test_secrets_and_enabling(store: Store, make_endpoint: MakeEndpoint) -> None:
    ep = await make_endpoint(secrets=(EndpointSecret("whsec_old"),))
    rotated = await store.set_endpoint_secrets(
        ep.id, [EndpointSecret("whsec_new"), EndpointSecret("whsec_old", expires_at=T0 + 86400)]
    )
    assert [s.value for s in rotated.secrets] == ["whsec_new", "whsec_old"]
    off = await store.set_endpoint_enabled(ep.id, False, "maintenance")
    assert (off.enabled, off.disabled_reason) == (False, "maintenance")
    on = await store.set_endpoint_enabled(ep.id, True)
    assert (on.enabled, on.disabled_reason) == (True, None)


async def test_publish_routes_by_name_and_glob_and_skips_disabled(
    store: Store, make_endpoint: MakeEndpoint
) -> None:
    everything = await make_endpoint(event_types=("*",))
    tickets = await make_endpoint(event_types=("ticket.*",))
    closed_only = await make_endpoint(event_types=("ticket.closed",))
    scans = await make_endpoint(event_types=("finished_scan",))
    off = await make_endpoint(event_types=("*",), enabled=False)
    high_only = await make_endpoint(filter='ticket.severity in ["High", "Critical"]')
    results = await store.publish(
        [new_event(ticket()), new_event(finished_scan()), new_event(ticket(severity="Low"))]
    )
    assert [r.deliveries for r in results] == [3, 2, 2]
    event = await store.get_event(results[0].event_id)
    assert {d.endpoint_id for d in event.deliveries} == {everything.id, tickets.id, high_only.id}
    scan_event = await store.get_event(results[1].event_id)
    assert {d.endpoint_id for d in scan_event.deliveries} == {everything.id, scans.id}
    all_targets = {
        d.endpoint_id for r in results for d in (await store.get_event(r.event_id)).deliveries
    }
    assert closed_only.id not in all_targets
    assert off.id not in all_targets
    d = event.deliveries[0]
    assert (d.status, d.attempts, d.next_attempt_at, d.created_at) == ("pending", 0, T0, T0)


async def test_get_event_returns_body_and_deliveries(
    store: Store, make_endpoint: MakeEndpoint
) -> None:
    await make_endpoint()
    ev = new_event(ticket(), key="k-1")
    [result] = await store.publish([ev])
    got = await store.get_event(result.event_id)
    assert (got.id, got.type, got.body, got.created_at, got.idempotency_key) == (
        ev.id,
        "ticket.opened",
        ev.body,
        T0,
        "k-1",
    )
    assert len(got.deliveries) == 1
    assert got.deliveries[0].attempt_log == ()
    with pytest.raises(NotFound, match="evt_nope"):
        await store.get_event("evt_nope")


async def test_publish_of_a_batch_is_one_transaction(
    store: Store, make_endpoint: MakeEndpoint
) -> None:
    await make_endpoint()
    good = new_event()
    clash = dataclasses.replace(new_event(), id=good.id)  # the second insert fails
    with pytest.raises(DatabaseError, match="publish failed"):
        await store.publish([good, clash])
    with pytest.raises(NotFound):
        await store.get_event(good.id)
    assert (await store.stats(T0))["deliveries"] == {
        "pending": 0,
        "sending": 0,
        "succeeded": 0,
        "failed": 0,
    }
    # The store is usable afterwards.
    assert (await store.publish([new_event()]))[0].deliveries == 1


async def test_idempotency_key_within_and_after_the_window(
    store: Store, make_endpoint: MakeEndpoint, policy: object
) -> None:
    await make_endpoint()
    first = (await store.publish([new_event(key="abc", at=T0)]))[0]
    assert first.duplicate is False
    again = (await store.publish([new_event(key="abc", at=T0 + 3600)]))[0]
    assert (again.event_id, again.deliveries, again.duplicate) == (first.event_id, 1, True)
    # Twice in one batch: the second is the first.
    a, b = await store.publish([new_event(key="xyz"), new_event(key="xyz")])
    assert (b.event_id, b.duplicate) == (a.event_id, True)
    assert a.duplicate is False
    window = store.policy.idempotency_window
    later = (await store.publish([new_event(key="abc", at=T0 + window + 1)]))[0]
    assert later.duplicate is False
    assert later.event_id != first.event_id
    # The key now points at the new event.
    latest = (await store.publish([new_event(key="abc", at=T0 + window + 2)]))[0]
    assert (latest.event_id, latest.duplicate) == (later.event_id, True)
    stats = await store.stats(T0)
    assert stats["deliveries"] == {"pending": 3, "sending": 0, "succeeded": 0, "failed": 0}


async def test_publish_nothing_and_publish_without_endpoints(store: Store) -> None:
    assert await store.publish([]) == []
    [result] = await store.publish([new_event()])
    assert result.deliveries == 0
    assert (await store.get_event(result.event_id)).deliveries == ()


async def test_delete_endpoint_fails_its_unfinished_deliveries(
    store: Store, make_endpoint: MakeEndpoint
) -> None:
    ep = await make_endpoint()
    keep = await make_endpoint()
    [result] = await store.publish([new_event()])
    await store.delete_endpoint(ep.id)
    with pytest.raises(NotFound):
        await store.get_endpoint(ep.id)
    by_endpoint = {d.endpoint_id: d for d in (await store.get_event(result.event_id)).deliveries}
    assert (by_endpoint[ep.id].status, by_endpoint[ep.id].last_error) == (
        "failed",
        "endpoint deleted",
    )
    assert by_endpoint[keep.id].status == "pending"
