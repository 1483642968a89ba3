"""The embedded backend: a SQLite file in WAL mode, every commit fsync'd.

Two lanes (one thread and one connection each): the writer, whose transactions are ``BEGIN
IMMEDIATE`` and run one at a time, and a reader for queries, which WAL lets run beside the
writer. The transaction bodies live in the dialect-neutral modules ``publishing``, ``claiming``,
``recording`` and ``operating``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import text

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
from scanhook.store.base import Store
from scanhook.store.lane import Lane
from scanhook.store.migrate import upgrade_sqlite
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
from scanhook.store.sqlite_engine import make_sqlite_engine, sqlite_path

__all__ = ["SqliteStore"]


class SqliteStore(Store):
    """A scanhook database in one SQLite file, ``sqlite:///path`` (``sqlite:////abs/path``)."""

    def __init__(self, url: str, policy: StorePolicy | None = None) -> None:
        self.policy = policy or StorePolicy()
        self.path = sqlite_path(url)
        label = f"SQLite database {self.path}"
        self._writer_engine = make_sqlite_engine(self.path, writer=True)
        self._reader_engine = make_sqlite_engine(self.path, writer=False)
        self._writer = Lane(self._writer_engine, "scanhook-sqlite-writer", label)
        self._reader = Lane(self._reader_engine, "scanhook-sqlite-reader", label)
        self._rotation = claiming.Rotation()

    # -- lifecycle ------------------------------------------------------------------------------
    async def upgrade(self) -> None:
        def run() -> None:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            upgrade_sqlite(self._writer_engine, self.path)

        await self._writer.call("upgrade", run)

    async def close(self) -> None:
        try:
            await self._writer.close()
            await self._reader.close()
        finally:
            self._writer_engine.dispose()
            self._reader_engine.dispose()

    async def ping(self) -> None:
        await self._reader.transaction(
            "ping", lambda c: c.execute(text("SELECT count(*) FROM sqlite_master")).scalar()
        )

    # -- endpoints ------------------------------------------------------------------------------
    async def create_endpoint(self, endpoint: Endpoint) -> Endpoint:
        now = time.time()
        return await self._writer.transaction(
            "create_endpoint", lambda c: operating.create_endpoint(c, endpoint, now)
        )

    async def get_endpoint(self, endpoint_id: str) -> Endpoint:
        return await self._reader.transaction(
            "get_endpoint", lambda c: operating.get_endpoint(c, endpoint_id)
        )

    async def list_endpoints(self, *, after: str | None = None, limit: int = 100) -> list[Endpoint]:
        return await self._reader.transaction(
            "list_endpoints", lambda c: operating.list_endpoints(c, after, limit)
        )

    async def update_endpoint(self, endpoint: Endpoint) -> Endpoint:
        now = time.time()
        return await self._writer.transaction(
            "update_endpoint", lambda c: operating.update_endpoint(c, endpoint, now)
        )

    async def delete_endpoint(self, endpoint_id: str) -> None:
        now = time.time()
        await self._writer.transaction(
            "delete_endpoint", lambda c: operating.delete_endpoint(c, endpoint_id, now)
        )

    async def set_endpoint_enabled(
        self, endpoint_id: str, enabled: bool, reason: str | None = None
    ) -> Endpoint:
        now = time.time()
        return await self._writer.transaction(
            "set_endpoint_enabled",
            lambda c: operating.set_endpoint_enabled(c, endpoint_id, enabled, reason, now),
        )

    async def set_endpoint_secrets(
        self, endpoint_id: str, secrets: Sequence[EndpointSecret]
    ) -> Endpoint:
        now = time.time()
        return await self._writer.transaction(
            "set_endpoint_secrets",
            lambda c: operating.set_endpoint_secrets(c, endpoint_id, secrets, now),
        )

    # -- events ---------------------------------------------------------------------------------
    async def publish(self, events: Sequence[NewEvent]) -> list[PublishResult]:
        return await self._writer.transaction(
            "publish", lambda c: publishing.publish(c, events, self.policy)
        )

    async def get_event(self, event_id: str) -> EventRecord:
        return await self._reader.transaction(
            "get_event", lambda c: operating.get_event(c, event_id)
        )

    # -- the engine -----------------------------------------------------------------------------
    async def claim(
        self, worker_id: str, now: float, lease: float, limit: int
    ) -> list[ClaimedDelivery]:
        rotation = self._rotation
        return await self._writer.transaction(
            "claim", lambda c: claiming.claim(c, worker_id, now, lease, limit, rotation)
        )

    async def record(self, outcomes: Sequence[AttemptOutcome]) -> None:
        await self._writer.transaction(
            "record", lambda c: recording.record(c, outcomes, self.policy)
        )

    async def release(self, delivery_ids: Sequence[str]) -> None:
        await self._writer.transaction("release", lambda c: recording.release(c, delivery_ids))

    async def next_due_at(self) -> float | None:
        now = time.time()
        return await self._reader.transaction("next_due_at", lambda c: claiming.next_due_at(c, now))

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
        return await self._reader.transaction(
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
        return await self._reader.transaction(
            "get_delivery", lambda c: operating.get_delivery(c, delivery_id)
        )

    async def retry_delivery(self, delivery_id: str, now: float) -> DeliveryRecord:
        return await self._writer.transaction(
            "retry_delivery", lambda c: operating.retry_delivery(c, delivery_id, now)
        )

    async def replay(
        self,
        endpoint_id: str,
        *,
        since: float | None,
        status: DeliveryStatus | None,
        now: float,
    ) -> int:
        return await self._writer.transaction(
            "replay", lambda c: operating.replay(c, endpoint_id, since, status, now)
        )

    async def stats(self, now: float) -> dict[str, object]:
        return await self._reader.transaction("stats", lambda c: operating.stats(c, now))

    async def prune(self, older_than: float, batch_size: int = 1000) -> int:
        """Each batch is its own short write transaction, so claims and publishes go between."""
        removed = 0
        while True:
            deliveries, others = await self._writer.transaction(
                "prune",
                lambda c: operating.prune_batch(c, older_than, batch_size, self.policy),
            )
            removed += deliveries
            if deliveries == 0 and others == 0:
                return removed

    # -- API tokens -----------------------------------------------------------------------------
    async def create_token(self, token: ApiToken) -> ApiToken:
        return await self._writer.transaction(
            "create_token", lambda c: tokens.create_token(c, token)
        )

    async def list_tokens(self) -> list[ApiToken]:
        return await self._reader.transaction("list_tokens", tokens.list_tokens)

    async def find_token(self, token_hash: str) -> ApiToken | None:
        return await self._reader.transaction(
            "find_token", lambda c: tokens.find_token(c, token_hash)
        )

    async def touch_token(self, token_id: str, now: float) -> None:
        await self._writer.transaction(
            "touch_token", lambda c: tokens.touch_token(c, token_id, now)
        )

    async def revoke_token(self, token_id: str, now: float) -> ApiToken:
        return await self._writer.transaction(
            "revoke_token", lambda c: tokens.revoke_token(c, token_id, now)
        )

    # -- ticket lifecycle across systems --------------------------------------------------------
    async def get_remote_ref(self, endpoint_id: str, correlation_key: str) -> str | None:
        return await self._reader.transaction(
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
        await self._writer.transaction(
            "put_remote_ref",
            lambda c: remote_refs.put_remote_ref(
                c, endpoint_id, correlation_key, remote_id, delivery_id, now
            ),
        )

    async def note_attention(self, delivery_id: str, number: int, note: str, now: float) -> None:
        await self._writer.transaction(
            "note_attention",
            lambda c: remote_refs.note_attention(c, delivery_id, number, note, now),
        )

    async def attention_notes(self, delivery_ids: Sequence[str]) -> dict[str, dict[int, str]]:
        return await self._reader.transaction(
            "attention_notes", lambda c: remote_refs.attention_notes(c, delivery_ids)
        )

    # -- schedules ------------------------------------------------------------------------------
    async def create_schedule(self, schedule: ScheduleRecord) -> ScheduleRecord:
        return await self._writer.transaction(
            "create_schedule", lambda c: schedules.create_schedule(c, schedule)
        )

    async def get_schedule(
        self, schedule_id: str, *, include_deleted: bool = False
    ) -> ScheduleRecord:
        return await self._reader.transaction(
            "get_schedule",
            lambda c: schedules.get_schedule(c, schedule_id, include_deleted=include_deleted),
        )

    async def list_schedules(
        self, *, after: str | None = None, limit: int = 100
    ) -> list[ScheduleRecord]:
        return await self._reader.transaction(
            "list_schedules", lambda c: schedules.list_schedules(c, after, limit)
        )

    async def active_schedules(self) -> list[ScheduleRecord]:
        return await self._reader.transaction("active_schedules", schedules.active_schedules)

    async def update_schedule(
        self, schedule_id: str, spec: ScheduleSpec, now: float, *, move_watermark: bool
    ) -> ScheduleRecord:
        return await self._writer.transaction(
            "update_schedule",
            lambda c: schedules.update_schedule(
                c, schedule_id, spec, now, move_watermark=move_watermark
            ),
        )

    async def delete_schedule(self, schedule_id: str, now: float) -> None:
        await self._writer.transaction(
            "delete_schedule", lambda c: schedules.delete_schedule(c, schedule_id, now)
        )

    async def list_notices(
        self, schedule_id: str, *, after: str | None = None, limit: int = 100
    ) -> list[NoticeRecord]:
        return await self._reader.transaction(
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
        return await self._writer.transaction(
            "record_notices",
            lambda c: schedules.record_notices(
                c, schedule_id, revision, notices, events, through, self.policy
            ),
        )
