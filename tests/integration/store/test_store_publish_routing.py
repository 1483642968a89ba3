"""Both backends: a publish evaluates filters before its write transaction, and an endpoint that
changes between that routing and the write is routed as it is when the write commits."""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace

import pytest
from storekit import MakeEndpoint, new_event, ticket

from scanhook import routing
from scanhook.notifications import Notification
from scanhook.store import Endpoint, Store, StorePolicy, open_store
from scanhook.store import publishing as publishing_module
from scanhook.store.delegating import ROUTING_ROUNDS
from scanhook.store.publishing import Routes
from scanhook.store.records import NewEvent

Change = Callable[[], Awaitable[object]]


def race(monkeypatch: pytest.MonkeyPatch, store: Store, changes: list[Change]) -> list[int]:
    """After each routing of a publish, the next of ``changes`` commits (as another request would
    between the routing and the write). Returns the list counting the routings."""
    original = store._route  # type: ignore[attr-defined]
    rounds: list[int] = []

    async def route_then_change(events: Sequence[NewEvent], fresh: bool) -> Routes:
        routes: Routes = await original(events, fresh)
        rounds.append(len(rounds) + 1)
        if changes:
            await changes.pop(0)()
        return routes

    monkeypatch.setattr(store, "_route", route_then_change)
    return rounds


async def targets(store: Store, event_id: str) -> set[str]:
    return {d.endpoint_id for d in (await store.get_event(event_id)).deliveries}


async def test_a_filter_changed_after_routing_is_applied(
    store: Store, make_endpoint: MakeEndpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    high = await make_endpoint(filter='ticket.severity == "High"')
    low = await make_endpoint(filter='ticket.severity == "Low"')

    async def swap() -> None:
        await store.update_endpoint(replace(await store.get_endpoint(high.id), filter=None))
        await store.update_endpoint(replace(await store.get_endpoint(low.id), filter="false"))

    rounds = race(monkeypatch, store, [swap])
    [result] = await store.publish([new_event(ticket(severity="Low"))])
    assert await targets(store, result.event_id) == {high.id}
    assert result.deliveries == 1
    assert rounds == [1, 2]  # routed again after the change


async def test_endpoints_created_disabled_or_deleted_after_routing(
    store: Store, make_endpoint: MakeEndpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    kept = await make_endpoint()
    disabled = await make_endpoint()
    deleted = await make_endpoint()
    created: list[Endpoint] = []

    async def change() -> None:
        await store.set_endpoint_enabled(disabled.id, False)
        await store.delete_endpoint(deleted.id)
        created.append(await make_endpoint())

    race(monkeypatch, store, [change])
    [result] = await store.publish([new_event()])
    assert await targets(store, result.event_id) == {kept.id, created[0].id}


async def test_endpoints_that_keep_changing_are_routed_in_the_transaction_at_last(
    store: Store, make_endpoint: MakeEndpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    endpoint = await make_endpoint(filter="false")
    versions = iter(["false", "true", "false", "true", "false"])

    async def flip() -> None:
        current = await store.get_endpoint(endpoint.id)
        await store.update_endpoint(replace(current, filter=next(versions)))

    changes: list[Change] = [flip] * ROUTING_ROUNDS
    rounds = race(monkeypatch, store, changes)
    [result] = await store.publish([new_event()])
    assert rounds == list(range(1, ROUTING_ROUNDS + 1))
    # The last change set "true" or "false": the publish follows it.
    last = (await store.get_endpoint(endpoint.id)).filter
    assert result.deliveries == (1 if last == "true" else 0)


async def test_an_endpoint_changed_by_another_process_is_routed_as_it_is_now(
    store: Store, make_endpoint: MakeEndpoint, db_url: str, policy: StorePolicy
) -> None:
    endpoint = await make_endpoint(filter='ticket.severity == "Low"')
    [first] = await store.publish([new_event(ticket(severity="High"))])
    assert first.deliveries == 0  # this store now remembers the endpoints it routed with
    other = open_store(db_url, policy)  # another API process on the same database
    try:
        await other.update_endpoint(replace(await other.get_endpoint(endpoint.id), filter=None))
        created = await other.create_endpoint(replace(endpoint, id="ep_other", filter=None))
    finally:
        await other.close()
    [second] = await store.publish([new_event(ticket(severity="High"))])
    assert await targets(store, second.event_id) == {endpoint.id, created.id}


async def test_filters_are_not_evaluated_on_the_writer_thread(
    store: Store, make_endpoint: MakeEndpoint, monkeypatch: pytest.MonkeyPatch, backend: str
) -> None:
    if backend != "sqlite":
        pytest.skip("SQLite's writer lane is a named thread")
    await make_endpoint(filter='ticket.asset_name matches "^web"')
    threads: list[str] = []
    original = routing.matches

    def spying(endpoint: Endpoint, event_type: str, notification: Notification) -> bool:
        threads.append(threading.current_thread().name)
        return original(endpoint, event_type, notification)

    monkeypatch.setattr(publishing_module.routing, "matches", spying)
    [result] = await store.publish([new_event()])
    assert result.deliveries == 1
    assert threads
    assert not any("writer" in name for name in threads)
