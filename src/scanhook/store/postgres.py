"""The PostgreSQL backend: many API and worker processes, on many machines, share one database.

The transaction bodies are the dialect-neutral ones SQLite runs (``publishing``, ``claiming``,
``recording``, ``operating``, ``tokens``); what keeps concurrent workers apart is in their
statements: claims lock endpoint and delivery rows with ``FOR UPDATE SKIP LOCKED``, records lock
endpoints in id order, idempotency keys are claimed with ``INSERT … ON CONFLICT``. Every write
that makes deliveries due commits with one ``NOTIFY scanhook_due``, which
:meth:`PostgresStore.wait_for_work` hears (see :mod:`scanhook.store.postgres_listen`).
"""

from __future__ import annotations

import asyncio
import functools
import random
import time
from collections.abc import Sequence

from sqlalchemy import text
from sqlalchemy.engine import Connection

from scanhook.schedules import ScheduleSpec
from scanhook.store import (
    claiming,
    operating,
    publishing,
    recording,
    remote_refs,
    schedules,
    tokens,
)
from scanhook.store import queries as q
from scanhook.store.base import Store
from scanhook.store.migrate import upgrade_postgresql
from scanhook.store.postgres_engine import (
    DEFAULT_POOL_SIZE,
    PgRunner,
    libpq_conninfo,
    make_postgres_engine,
    postgres_label,
    postgres_url,
)
from scanhook.store.postgres_leader import Leadership
from scanhook.store.postgres_listen import Listener
from scanhook.store.records import (
    ApiToken,
    AttemptOutcome,
    ClaimedDelivery,
    DeliveryRecord,
    DeliveryStatus,
    Endpoint,
    EndpointSecret,
    EventRecord,
    NewEvent,
    PublishResult,
    StorePolicy,
)
from scanhook.store.schedule_records import NoticeRecord, ScheduleRecord

__all__ = ["PostgresStore"]

#: Claim rounds when endpoints were skipped because other workers held them for a moment.
CLAIM_ROUNDS = 3


class PostgresStore(Store):
    """A scanhook database on PostgreSQL, ``postgresql://user:password@host:port/database``."""

    def __init__(
        self, url: str, policy: StorePolicy | None = None, *, pool_size: int = DEFAULT_POOL_SIZE
    ) -> None:
        self.policy = policy or StorePolicy()
        self.url = postgres_url(url)
        self.label = postgres_label(self.url)
        self._engine = make_postgres_engine(self.url, pool_size)
        self._db = PgRunner(self._engine, self.label, pool_size)
        self._listener = Listener(libpq_conninfo(self.url), self.label)
        self._leadership = Leadership(libpq_conninfo(self.url), self.label)
        # Workers start their turns at different endpoints.
        self._rotation = claiming.Rotation()

    # -- lifecycle ------------------------------------------------------------------------------
    async def upgrade(self) -> None:
        url = self.url.render_as_string(hide_password=False)
        await self._db.call("upgrade", lambda: upgrade_postgresql(url))

    async def close(self) -> None:
        await self._leadership.close()
        await self._listener.close()
        await self._db.close()

    async def ping(self) -> None:
        await self._db.transaction("ping", lambda c: c.execute(text("SELECT 1")).scalar())

    # -- endpoints ------------------------------------------------------------------------------
    async def create_endpoint(self, endpoint: Endpoint) -> Endpoint:
        now = time.time()
        return await self._db.transaction(
            "create_endpoint", lambda c: operating.create_endpoint(c, endpoint, now)
        )

    async def get_endpoint(self, endpoint_id: str) -> Endpoint:
        return await self._db.transaction(
            "get_endpoint", lambda c: operating.get_endpoint(c, endpoint_id)
        )

    async def list_endpoints(self, *, after: str | None = None, limit: int = 100) -> list[Endpoint]:
        return await self._db.transaction(
            "list_endpoints", lambda c: operating.list_endpoints(c, after, limit)
        )

    async def update_endpoint(self, endpoint: Endpoint) -> Endpoint:
        now = time.time()
        return await self._db.transaction(
            "update_endpoint",
            lambda c: operating.update_endpoint(c, endpoint, now),
            notify=endpoint.enabled,
        )

    async def delete_endpoint(self, endpoint_id: str) -> None:
        now = time.time()

        def work(c: Connection) -> None:
            # Endpoint row first, as claims and records lock it first: no deadlock with them.
            c.execute(q.ENDPOINT_TO_LOCK, {"id": endpoint_id})
            operating.delete_endpoint(c, endpoint_id, now)

        await self._db.transaction("delete_endpoint", work)

    async def set_endpoint_enabled(
        self, endpoint_id: str, enabled: bool, reason: str | None = None
    ) -> Endpoint:
        now = time.time()
        return await self._db.transaction(
            "set_endpoint_enabled",
            lambda c: operating.set_endpoint_enabled(c, endpoint_id, enabled, reason, now),
            notify=enabled,
        )

    async def set_endpoint_secrets(
        self, endpoint_id: str, secrets: Sequence[EndpointSecret]
    ) -> Endpoint:
        now = time.time()
        return await self._db.transaction(
            "set_endpoint_secrets",
            lambda c: operating.set_endpoint_secrets(c, endpoint_id, secrets, now),
        )

    # -- events ---------------------------------------------------------------------------------
    async def publish(self, events: Sequence[NewEvent]) -> list[PublishResult]:
        if not events:
            return []
        return await self._db.transaction(
            "publish", lambda c: publishing.publish(c, events, self.policy), notify=True
        )

    async def get_event(self, event_id: str) -> EventRecord:
        return await self._db.transaction("get_event", lambda c: operating.get_event(c, event_id))

    # -- the engine -----------------------------------------------------------------------------
    async def claim(
        self, worker_id: str, now: float, lease: float, limit: int
    ) -> list[ClaimedDelivery]:
        """Up to :data:`CLAIM_ROUNDS` claim transactions: another round only when this one came
        short and skipped endpoints that other workers held at that moment."""
        claimed: list[ClaimedDelivery] = []
        for attempt in range(CLAIM_ROUNDS):
            rotation = self._rotation
            want = limit - len(claimed)
            result = await self._db.transaction(
                "claim",
                functools.partial(
                    claiming.claim_round,
                    worker_id=worker_id,
                    now=now,
                    lease=lease,
                    limit=want,
                    rotation=rotation,
                ),
                durable=False,
            )
            claimed.extend(result.deliveries)
            if len(claimed) >= limit or result.contended == 0:
                break
            await asyncio.sleep(0.002 * (attempt + 1) * random.random())
        return claimed

    async def record(self, outcomes: Sequence[AttemptOutcome]) -> None:
        if outcomes:
            await self._db.transaction(
                "record", lambda c: recording.record(c, outcomes, self.policy)
            )

    async def release(self, delivery_ids: Sequence[str]) -> None:
        if delivery_ids:
            await self._db.transaction(
                "release", lambda c: recording.release(c, delivery_ids), notify=True
            )

    async def next_due_at(self) -> float | None:
        now = time.time()
        return await self._db.transaction("next_due_at", lambda c: claiming.next_due_at(c, now))

    async def wait_for_work(self, seconds: float) -> None:
        await self._listener.wait(seconds)

    async def try_lead(self, name: str) -> bool:
        """An advisory lock per job on this store's leader connection (see
        :mod:`scanhook.store.postgres_leader`)."""
        return await self._leadership.try_lead(name)

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
        return await self._db.transaction(
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
        return await self._db.transaction(
            "get_delivery", lambda c: operating.get_delivery(c, delivery_id)
        )

    async def retry_delivery(self, delivery_id: str, now: float) -> DeliveryRecord:
        return await self._db.transaction(
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
        return await self._db.transaction(
            "replay", lambda c: operating.replay(c, endpoint_id, since, status, now), notify=True
        )

    async def stats(self, now: float) -> dict[str, object]:
        return await self._db.transaction("stats", lambda c: operating.stats(c, now))

    async def prune(self, older_than: float, batch_size: int = 1000) -> int:
        """Each batch is its own short transaction, so claims and publishes go between."""
        removed = 0
        while True:
            deliveries, others = await self._db.transaction(
                "prune",
                lambda c: operating.prune_batch(c, older_than, batch_size, self.policy),
            )
            removed += deliveries
            if deliveries == 0 and others == 0:
                return removed

    # -- API tokens -----------------------------------------------------------------------------
    async def create_token(self, token: ApiToken) -> ApiToken:
        return await self._db.transaction("create_token", lambda c: tokens.create_token(c, token))

    async def list_tokens(self) -> list[ApiToken]:
        return await self._db.transaction("list_tokens", tokens.list_tokens)

    async def find_token(self, token_hash: str) -> ApiToken | None:
        return await self._db.transaction("find_token", lambda c: tokens.find_token(c, token_hash))

    async def touch_token(self, token_id: str, now: float) -> None:
        await self._db.transaction("touch_token", lambda c: tokens.touch_token(c, token_id, now))

    async def revoke_token(self, token_id: str, now: float) -> ApiToken:
        return await self._db.transaction(
            "revoke_token", lambda c: tokens.revoke_token(c, token_id, now)
        )

    # -- ticket lifecycle across systems --------------------------------------------------------
    async def get_remote_ref(self, endpoint_id: str, correlation_key: str) -> str | None:
        return await self._db.transaction(
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
        await self._db.transaction(
            "put_remote_ref",
            lambda c: remote_refs.put_remote_ref(
                c, endpoint_id, correlation_key, remote_id, delivery_id, now
            ),
        )

    async def note_attention(self, delivery_id: str, number: int, note: str, now: float) -> None:
        await self._db.transaction(
            "note_attention",
            lambda c: remote_refs.note_attention(c, delivery_id, number, note, now),
        )

    async def attention_notes(self, delivery_ids: Sequence[str]) -> dict[str, dict[int, str]]:
        return await self._db.transaction(
            "attention_notes", lambda c: remote_refs.attention_notes(c, delivery_ids)
        )

    # -- schedules ------------------------------------------------------------------------------
    async def create_schedule(self, schedule: ScheduleRecord) -> ScheduleRecord:
        return await self._db.transaction(
            "create_schedule", lambda c: schedules.create_schedule(c, schedule)
        )

    async def get_schedule(
        self, schedule_id: str, *, include_deleted: bool = False
    ) -> ScheduleRecord:
        return await self._db.transaction(
            "get_schedule",
            lambda c: schedules.get_schedule(c, schedule_id, include_deleted=include_deleted),
        )

    async def list_schedules(
        self, *, after: str | None = None, limit: int = 100
    ) -> list[ScheduleRecord]:
        return await self._db.transaction(
            "list_schedules", lambda c: schedules.list_schedules(c, after, limit)
        )

    async def active_schedules(self) -> list[ScheduleRecord]:
        return await self._db.transaction("active_schedules", schedules.active_schedules)

    async def update_schedule(
        self, schedule_id: str, spec: ScheduleSpec, now: float, *, move_watermark: bool
    ) -> ScheduleRecord:
        return await self._db.transaction(
            "update_schedule",
            lambda c: schedules.update_schedule(
                c, schedule_id, spec, now, move_watermark=move_watermark
            ),
        )

    async def delete_schedule(self, schedule_id: str, now: float) -> None:
        await self._db.transaction(
            "delete_schedule", lambda c: schedules.delete_schedule(c, schedule_id, now)
        )

    async def list_notices(
        self, schedule_id: str, *, after: str | None = None, limit: int = 100
    ) -> list[NoticeRecord]:
        return await self._db.transaction(
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
        """Published events wake the workers of every process (``NOTIFY`` with the commit)."""
        return await self._db.transaction(
            "record_notices",
            lambda c: schedules.record_notices(
                c, schedule_id, revision, notices, events, through, self.policy
            ),
            notify=bool(events),
        )
