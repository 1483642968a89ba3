"""What every SQL backend shares: each operation is one call of a dialect-neutral transaction
body (``operating``, ``tokens``, ``remote_refs``, ``schedules``, ``publishing``, ``recording``)
in a read or a write transaction.

A backend says only how a transaction runs (:meth:`TransactionalStore._read`,
:meth:`TransactionalStore._write`) and implements what really differs: its lifecycle, ``claim``,
``delete_endpoint``, wake-ups and leadership. Which writes may make deliveries due (``notify``)
is decided here, once; a backend without a wake-up channel ignores it.
"""

from __future__ import annotations

import abc
import asyncio
import time
from collections.abc import Callable, Sequence
from typing import TypeAlias, TypeVar

from sqlalchemy.engine import Connection

from scanhook.schedules import ScheduleSpec
from scanhook.store import (
    claiming,
    operating,
    publishing,
    recording,
    remote_refs,
    resealing,
    schedules,
    tokens,
)
from scanhook.store.base import Store
from scanhook.store.records import (
    DELIVERY_STATUSES,
    ApiToken,
    AttemptOutcome,
    DeliveryRecord,
    DeliveryStatus,
    Endpoint,
    EndpointSecret,
    EventRecord,
    NewEvent,
    PublishResult,
)
from scanhook.store.resealing import Resealed
from scanhook.store.schedule_records import NoticeRecord, ScheduleRecord

__all__ = ["ROUTING_ROUNDS", "Body", "TransactionalStore"]

T = TypeVar("T")

#: A publish routes its events outside the write transaction up to this many times while the
#: enabled endpoints keep changing under it (the first with the endpoints it last read); then
#: once more inside it, so it never fails for that.
ROUTING_ROUNDS = 4

#: A transaction body: a blocking function of the connection, run inside the transaction.
Body: TypeAlias = Callable[[Connection], T]


def _with_routes(
    fn: Callable[[Connection, publishing.Routes | None], T], routes: publishing.Routes | None
) -> Body[T]:
    return lambda connection: fn(connection, routes)


class TransactionalStore(Store):
    """A :class:`Store` whose operations are transaction bodies run by :meth:`_read` and
    :meth:`_write`."""

    @abc.abstractmethod
    async def _read(self, op: str, fn: Body[T]) -> T:
        """Run the query ``fn`` in a transaction; ``op`` names the operation in errors."""

    @abc.abstractmethod
    async def _write(
        self, op: str, fn: Body[T], *, notify: bool = False, durable: bool = True
    ) -> T:
        """Run ``fn`` in a write transaction and commit. ``notify``: the write may make
        deliveries due, so other processes' workers should wake up (when the database has a
        channel for it). ``durable=False``: the commit may return before it is flushed."""

    # -- endpoints ------------------------------------------------------------------------------
    async def create_endpoint(self, endpoint: Endpoint) -> Endpoint:
        now = time.time()
        return await self._write(
            "create_endpoint", lambda c: operating.create_endpoint(c, endpoint, now)
        )

    async def get_endpoint(self, endpoint_id: str) -> Endpoint:
        return await self._read("get_endpoint", lambda c: operating.get_endpoint(c, endpoint_id))

    async def list_endpoints(self, *, after: str | None = None, limit: int = 100) -> list[Endpoint]:
        return await self._read(
            "list_endpoints", lambda c: operating.list_endpoints(c, after, limit)
        )

    async def update_endpoint(self, endpoint: Endpoint) -> Endpoint:
        now = time.time()
        return await self._write(
            "update_endpoint",
            lambda c: operating.update_endpoint(c, endpoint, now),
            notify=endpoint.enabled,
        )

    async def set_endpoint_enabled(
        self, endpoint_id: str, enabled: bool, reason: str | None = None
    ) -> Endpoint:
        now = time.time()
        return await self._write(
            "set_endpoint_enabled",
            lambda c: operating.set_endpoint_enabled(c, endpoint_id, enabled, reason, now),
            notify=enabled,
        )

    async def set_endpoint_secrets(
        self, endpoint_id: str, secrets: Sequence[EndpointSecret]
    ) -> Endpoint:
        now = time.time()
        return await self._write(
            "set_endpoint_secrets",
            lambda c: operating.set_endpoint_secrets(c, endpoint_id, secrets, now),
        )

    async def reseal_secrets(self) -> Resealed:
        return await self._write("reseal_secrets", resealing.reseal)

    # -- events ---------------------------------------------------------------------------------
    async def publish(self, events: Sequence[NewEvent]) -> list[PublishResult]:
        policy = self.policy
        return await self._routed_write(
            "publish",
            events,
            lambda c, routes: publishing.publish(c, events, policy, routes),
            notify=True,
        )

    #: The enabled endpoints the last routing read; a publish routes with them and its write
    #: transaction checks they are still current (else they are read again).
    _enabled: publishing.EnabledEndpoints | None = None

    async def _route(self, events: Sequence[NewEvent], fresh: bool) -> publishing.Routes:
        """Where ``events`` go, with the enabled endpoints last read (``fresh``: read them now,
        in a read transaction). Filters are evaluated on a worker thread, never on the event
        loop or a database lane; without filters, routing is only event-type globs."""
        enabled = self._enabled
        if fresh or enabled is None:
            enabled = self._enabled = await self._read("route", publishing.read_endpoints)
        if any(endpoint.filter for endpoint in enabled.endpoints):
            return await asyncio.to_thread(publishing.route, enabled, events)
        return publishing.route(enabled, events)

    async def _routed_write(
        self,
        op: str,
        events: Sequence[NewEvent],
        fn: Callable[[Connection, publishing.Routes | None], T],
        *,
        notify: bool,
    ) -> T:
        """``fn(connection, routes)`` in a write transaction, with ``events`` routed beforehand;
        routed again, with the endpoints read afresh, when they changed (``RoutesChanged``)."""
        fresh = False
        for _ in range(ROUTING_ROUNDS if events else 0):
            routes = await self._route(events, fresh)
            try:
                return await self._write(op, _with_routes(fn, routes), notify=notify)
            except publishing.RoutesChanged:
                fresh = True
        return await self._write(op, _with_routes(fn, None), notify=notify)

    async def get_event(self, event_id: str) -> EventRecord:
        return await self._read("get_event", lambda c: operating.get_event(c, event_id))

    # -- the engine -----------------------------------------------------------------------------
    async def record(self, outcomes: Sequence[AttemptOutcome]) -> None:
        changes = await self._write("record", lambda c: recording.record(c, outcomes, self.policy))
        recording.report(outcomes, changes)

    async def release(self, delivery_ids: Sequence[str], worker_id: str | None = None) -> None:
        await self._write(
            "release", lambda c: recording.release(c, delivery_ids, worker_id), notify=True
        )

    async def next_due_at(self) -> float | None:
        now = time.time()
        return await self._read("next_due_at", lambda c: claiming.next_due_at(c, now))

    # -- operating ------------------------------------------------------------------------------
    async def list_deliveries(
        self,
        *,
        endpoint_id: str | None = None,
        status: DeliveryStatus | None = None,
        event_type: str | None = None,
        since: float | None = None,
        until: float | None = None,
        after: str | None = None,
        limit: int = 100,
    ) -> list[DeliveryRecord]:
        return await self._read(
            "list_deliveries",
            lambda c: operating.list_deliveries(
                c,
                endpoint_id=endpoint_id,
                status=status,
                event_type=event_type,
                since=since,
                until=until,
                after=after,
                limit=limit,
            ),
        )

    async def get_delivery(self, delivery_id: str) -> DeliveryRecord:
        return await self._read("get_delivery", lambda c: operating.get_delivery(c, delivery_id))

    async def retry_delivery(self, delivery_id: str, now: float) -> DeliveryRecord:
        return await self._write(
            "retry_delivery", lambda c: operating.retry_delivery(c, delivery_id, now), notify=True
        )

    async def replay(
        self,
        endpoint_id: str,
        *,
        since: float | None,
        status: DeliveryStatus | None,
        now: float,
    ) -> int:
        return await self._write(
            "replay", lambda c: operating.replay(c, endpoint_id, since, status, now), notify=True
        )

    async def stats(
        self, now: float, statuses: Sequence[DeliveryStatus] = DELIVERY_STATUSES
    ) -> dict[str, object]:
        return await self._read("stats", lambda c: operating.stats(c, now, statuses))

    async def prune(self, older_than: float, batch_size: int = 1000) -> int:
        """Each batch is its own short write transaction, so claims and publishes go between."""
        removed = 0
        while True:
            deliveries, others = await self._write(
                "prune",
                lambda c: operating.prune_batch(c, older_than, batch_size, self.policy),
            )
            removed += deliveries
            if deliveries == 0 and others == 0:
                return removed

    # -- API tokens -----------------------------------------------------------------------------
    async def create_token(self, token: ApiToken) -> ApiToken:
        return await self._write("create_token", lambda c: tokens.create_token(c, token))

    async def list_tokens(self) -> list[ApiToken]:
        return await self._read("list_tokens", tokens.list_tokens)

    async def find_token(self, token_hash: str) -> ApiToken | None:
        return await self._read("find_token", lambda c: tokens.find_token(c, token_hash))

    async def touch_token(self, token_id: str, now: float) -> None:
        await self._write("touch_token", lambda c: tokens.touch_token(c, token_id, now))

    async def revoke_token(self, token_id: str, now: float) -> ApiToken:
        return await self._write("revoke_token", lambda c: tokens.revoke_token(c, token_id, now))

    # -- ticket lifecycle across systems --------------------------------------------------------
    async def get_remote_ref(self, endpoint_id: str, correlation_key: str) -> str | None:
        return await self._read(
            "get_remote_ref",
            lambda c: remote_refs.get_remote_ref(c, endpoint_id, correlation_key),
        )

    async def put_remote_ref(
        self,
        endpoint_id: str,
        correlation_key: str,
        remote_id: str,
        delivery_id: str,
        now: float,
    ) -> None:
        await self._write(
            "put_remote_ref",
            lambda c: remote_refs.put_remote_ref(
                c, endpoint_id, correlation_key, remote_id, delivery_id, now
            ),
        )

    async def note_attention(self, delivery_id: str, number: int, note: str, now: float) -> None:
        await self._write(
            "note_attention",
            lambda c: remote_refs.note_attention(c, delivery_id, number, note, now),
        )

    async def attention_notes(self, delivery_ids: Sequence[str]) -> dict[str, dict[int, str]]:
        return await self._read(
            "attention_notes", lambda c: remote_refs.attention_notes(c, delivery_ids)
        )

    # -- schedules ------------------------------------------------------------------------------
    async def create_schedule(self, schedule: ScheduleRecord) -> ScheduleRecord:
        return await self._write(
            "create_schedule", lambda c: schedules.create_schedule(c, schedule)
        )

    async def get_schedule(
        self, schedule_id: str, *, include_deleted: bool = False
    ) -> ScheduleRecord:
        return await self._read(
            "get_schedule",
            lambda c: schedules.get_schedule(c, schedule_id, include_deleted=include_deleted),
        )

    async def list_schedules(
        self, *, after: str | None = None, limit: int = 100
    ) -> list[ScheduleRecord]:
        return await self._read(
            "list_schedules", lambda c: schedules.list_schedules(c, after, limit)
        )

    async def active_schedules(self) -> list[ScheduleRecord]:
        return await self._read("active_schedules", schedules.active_schedules)

    async def update_schedule(
        self, schedule_id: str, spec: ScheduleSpec, now: float, *, move_watermark: bool
    ) -> ScheduleRecord:
        return await self._write(
            "update_schedule",
            lambda c: schedules.update_schedule(
                c, schedule_id, spec, now, move_watermark=move_watermark
            ),
        )

    async def delete_schedule(self, schedule_id: str, now: float) -> None:
        await self._write(
            "delete_schedule", lambda c: schedules.delete_schedule(c, schedule_id, now)
        )

    async def list_notices(
        self, schedule_id: str, *, after: str | None = None, limit: int = 100
    ) -> list[NoticeRecord]:
        return await self._read(
            "list_notices", lambda c: schedules.list_notices(c, schedule_id, after, limit)
        )

    async def record_notices(
        self,
        schedule_id: str,
        revision: int,
        notices: Sequence[NoticeRecord],
        events: Sequence[NewEvent],
        through: float,
    ) -> list[NoticeRecord] | None:
        """Published events wake the workers of every process (``notify`` with the commit)."""
        policy = self.policy
        return await self._routed_write(
            "record_notices",
            events,
            lambda c, routes: schedules.record_notices(
                c, schedule_id, revision, notices, events, through, policy, routes
            ),
            notify=bool(events),
        )
