"""The storage seam: everything the engine, the API and the CLI ask of a database.

One backend per database (``SqliteStore`` for the embedded default; PostgreSQL follows), all with
the same semantics, which ``tests/integration/store`` checks against each backend.
Every method is a coroutine; a backend runs blocking driver calls off the event loop.
Driver errors are wrapped in :class:`scanhook.errors.DatabaseError` with ``raise … from``.
"""

from __future__ import annotations

import abc
import asyncio
from collections.abc import Sequence

from scanhook.schedules import ScheduleSpec
from scanhook.store.records import (
    DELIVERY_STATUSES,
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
from scanhook.store.resealing import Resealed
from scanhook.store.schedule_records import NoticeRecord, ScheduleRecord

__all__ = ["Store"]


class Store(abc.ABC):
    """A scanhook database. Open with :func:`scanhook.store.open_store`."""

    policy: StorePolicy

    # -- lifecycle ------------------------------------------------------------------------------
    @abc.abstractmethod
    async def upgrade(self) -> None:
        """Bring the schema to the newest migration, under a lock (concurrent starts are safe)."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Release connections and threads."""

    @abc.abstractmethod
    async def ping(self) -> None:
        """Raise DatabaseError when the database does not answer."""

    # -- endpoints ------------------------------------------------------------------------------
    @abc.abstractmethod
    async def create_endpoint(self, endpoint: Endpoint) -> Endpoint: ...

    @abc.abstractmethod
    async def get_endpoint(self, endpoint_id: str) -> Endpoint:
        """Raise NotFound when there is no such endpoint."""

    @abc.abstractmethod
    async def list_endpoints(self, *, after: str | None = None, limit: int = 100) -> list[Endpoint]:
        """Endpoints ordered by id; ``after`` is the last id of the previous page."""

    @abc.abstractmethod
    async def update_endpoint(self, endpoint: Endpoint) -> Endpoint:
        """Write the configuration fields of ``endpoint`` (not its health); bump updated_at."""

    @abc.abstractmethod
    async def delete_endpoint(self, endpoint_id: str) -> None:
        """Delete it; its pending deliveries become failed with error "endpoint deleted"."""

    @abc.abstractmethod
    async def set_endpoint_enabled(
        self, endpoint_id: str, enabled: bool, reason: str | None = None
    ) -> Endpoint:
        """Enable (clears reason, failure streak and circuit; its pending deliveries resume) or
        disable with a reason."""

    @abc.abstractmethod
    async def set_endpoint_secrets(
        self, endpoint_id: str, secrets: Sequence[EndpointSecret]
    ) -> Endpoint: ...

    @abc.abstractmethod
    async def reseal_secrets(self) -> Resealed:
        """Seal every endpoint secret again with the first key of the store's key ring, in one
        transaction (a key rotation: the ring holds the new key first, then the old ones)."""

    # -- events ---------------------------------------------------------------------------------
    @abc.abstractmethod
    async def publish(self, events: Sequence[NewEvent]) -> list[PublishResult]:
        """Store the events and one pending delivery per matching enabled endpoint, all in one
        transaction that is durable (fsync'd) when this returns. An idempotency key seen within
        ``policy.idempotency_window`` returns the first event with ``duplicate=True``."""

    @abc.abstractmethod
    async def get_event(self, event_id: str) -> EventRecord:
        """The event with its deliveries and their attempts. Raise NotFound."""

    # -- the engine -----------------------------------------------------------------------------
    @abc.abstractmethod
    async def claim(
        self, worker_id: str, now: float, lease: float, limit: int
    ) -> list[ClaimedDelivery]:
        """Lease up to ``limit`` due deliveries: pending with next_attempt_at <= now, or sending
        with an expired lease. Per endpoint: enabled; an open circuit (circuit_open_until > now)
        gives nothing, a half-open one (circuit_open_until <= now) at most one in flight, its
        probe (the due delivery tried most); at most max_in_flight in flight (unexpired
        leases); rate_limit as a token bucket; an ordered endpoint only its oldest unfinished
        delivery, and only when none is in flight."""

    @abc.abstractmethod
    async def record(self, outcomes: Sequence[AttemptOutcome]) -> None:
        """In one transaction: insert the attempts, move the deliveries on (succeeded, failed, or
        pending at next_attempt_at), update the endpoints' health (streak; the circuit, paused
        for policy.circuit_steps, see rules.apply_outcome; auto-disable after
        policy.disable_after, disable_reason at once)."""

    async def record_and_claim(
        self,
        outcomes: Sequence[AttemptOutcome],
        worker_id: str,
        now: float,
        lease: float,
        limit: int,
    ) -> list[ClaimedDelivery]:
        """:meth:`record` the ``outcomes``, then :meth:`claim` up to ``limit`` (the slots the
        outcomes freed count): the worker's cycle, one round trip. The default makes the two
        calls; a backend may run both in one transaction (SQLite does: one commit per cycle)."""
        if outcomes:
            await self.record(outcomes)
        return await self.claim(worker_id, now, lease, limit) if limit > 0 else []

    @abc.abstractmethod
    async def release(self, delivery_ids: Sequence[str], worker_id: str | None = None) -> None:
        """Give leased deliveries back (pending, due now) without recording an attempt; with
        ``worker_id``, only those that worker still leases."""

    @abc.abstractmethod
    async def next_due_at(self) -> float | None:
        """The earliest time at which claim() could return something, or None."""

    # -- who is alive ---------------------------------------------------------------------------
    async def reserve_workers(self) -> None:
        """Make this process the one that runs delivery workers on the database, where the
        backend allows only one (SQLite): :class:`~scanhook.errors.WorkersRunElsewhere` when
        another live process runs them. The service's commands call it before they start; an
        embedding program that does not is only warned. The default (PostgreSQL: any number
        of worker processes) does nothing."""
        return None

    async def register_worker(self, worker_id: str, now: float) -> int:
        """Announce the worker ``worker_id`` (which ``claim`` writes into ``leased_by``), and take
        back at once what workers that are gone left ``sending``: their leases expire now, so
        the next claim takes those deliveries first, as they are (same id, same attempt count).
        Return how many were taken back. Call it before the worker's first claim, then
        :meth:`keep_worker_alive` every :data:`~scanhook.store.liveness.HEARTBEAT_EVERY` seconds
        until :meth:`unregister_worker`. The rows of a live worker are never taken back.

        The default (a backend that cannot tell who is alive) does nothing: a dead worker's
        deliveries are claimed again when their leases run out."""
        return 0

    async def keep_worker_alive(self, worker_id: str, now: float) -> int:
        """Refresh the worker's heartbeat (registering it again if it was taken for dead) and
        take back what workers that died meanwhile left ``sending``; how many were taken back."""
        return 0

    async def unregister_worker(self, worker_id: str) -> None:
        """The worker stopped (after giving back what it held): forget it."""
        return None

    # -- operating ------------------------------------------------------------------------------
    @abc.abstractmethod
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
        """Newest first; ``after`` is the last id of the previous page."""

    @abc.abstractmethod
    async def get_delivery(self, delivery_id: str) -> DeliveryRecord:
        """With its attempt log. Raise NotFound."""

    @abc.abstractmethod
    async def retry_delivery(self, delivery_id: str, now: float) -> DeliveryRecord:
        """Make a failed (or pending) delivery due now. Raise NotFound; ConflictError when it
        succeeded or is in flight."""

    @abc.abstractmethod
    async def replay(
        self,
        endpoint_id: str,
        *,
        since: float | None,
        status: DeliveryStatus | None,
        now: float,
    ) -> int:
        """Requeue the endpoint's matching finished deliveries (due now); return how many."""

    @abc.abstractmethod
    async def stats(
        self, now: float, statuses: Sequence[DeliveryStatus] = DELIVERY_STATUSES
    ) -> dict[str, object]:
        """``{"deliveries": {status: count}, "oldest_due_age": seconds|None, "endpoints":
        {"total", "disabled", "open_circuits"}}``, counting the deliveries of ``statuses`` only
        (every status reads the whole table; ``pending`` and ``sending`` read the queue's rows
        only)."""

    @abc.abstractmethod
    async def prune(self, older_than: float, batch_size: int = 1000) -> int:
        """Delete finished deliveries (with their attempts) and events left without deliveries
        created before ``older_than``, and expired idempotency keys, in small batches; return
        the number of deliveries removed."""

    # -- API tokens -----------------------------------------------------------------------------
    @abc.abstractmethod
    async def create_token(self, token: ApiToken) -> ApiToken:
        """Store a new token (its hash, never the token itself)."""

    @abc.abstractmethod
    async def list_tokens(self) -> list[ApiToken]:
        """Every token, revoked ones too, oldest first."""

    @abc.abstractmethod
    async def find_token(self, token_hash: str) -> ApiToken | None:
        """The token whose SHA-256 (hex) is ``token_hash``, revoked or not, or None."""

    @abc.abstractmethod
    async def touch_token(self, token_id: str, now: float) -> None:
        """Set the token's last_used_at to ``now``."""

    @abc.abstractmethod
    async def revoke_token(self, token_id: str, now: float) -> ApiToken:
        """Revoke it (a revoked token stays revoked, with its first revocation time).
        Raise NotFound."""

    # -- ticket lifecycle across systems --------------------------------------------
    @abc.abstractmethod
    async def get_remote_ref(self, endpoint_id: str, correlation_key: str) -> str | None:
        """The remote id (Jira issue key, ServiceNow sys_id) stored for the record that a
        delivery to ``endpoint_id`` created for ``correlation_key`` (``ticket/4711``), or None."""

    @abc.abstractmethod
    async def put_remote_ref(
        self,
        endpoint_id: str,
        correlation_key: str,
        remote_id: str,
        delivery_id: str,
        now: float,
    ) -> None:
        """Store (or replace) the remote id of ``correlation_key`` at ``endpoint_id``."""

    @abc.abstractmethod
    async def note_attention(self, delivery_id: str, number: int, note: str, now: float) -> None:
        """Record that attempt ``number`` of the delivery needs an operator's attention."""

    @abc.abstractmethod
    async def attention_notes(self, delivery_ids: Sequence[str]) -> dict[str, dict[int, str]]:
        """The attention notes of these deliveries: delivery id -> attempt number -> note."""

    # -- wake-ups -------------------------------------------------------------------------------
    async def wait_for_work(self, seconds: float) -> None:
        """Return when another process may have made deliveries due (a publish, retry, replay,
        release or enabling), or after ``seconds`` at the latest. A wake-up may be
        spurious; a claim tells. The default only sleeps (SQLite: the database has no channel;
        the workers' poll is the fallback). PostgreSQL returns on ``NOTIFY scanhook_due``."""
        await asyncio.sleep(max(0.0, seconds))

    # -- background jobs ------------------------------------------------------------------------
    async def try_lead(self, name: str) -> bool:
        """Whether this store leads the background job ``name`` (retention, the scheduler)
        among every process on the database, taking the lead when no one holds it. Call it
        before each run of the job: True again while the lead is kept, False once it was lost.
        PostgreSQL holds an advisory lock per job on a dedicated connection, released when the
        leader's connection closes (its process died), so another process takes over at its next
        call. The default (SQLite: one machine) always leads."""
        return True

    # -- schedules --------------------------------------------------------------------
    @abc.abstractmethod
    async def create_schedule(self, schedule: ScheduleRecord) -> ScheduleRecord: ...

    @abc.abstractmethod
    async def get_schedule(
        self, schedule_id: str, *, include_deleted: bool = False
    ) -> ScheduleRecord:
        """Raise NotFound when there is no such schedule (a deleted one counts as none unless
        ``include_deleted``)."""

    @abc.abstractmethod
    async def list_schedules(
        self, *, after: str | None = None, limit: int = 100
    ) -> list[ScheduleRecord]:
        """Schedules that are not deleted, ordered by id; ``after`` is the last id of the
        previous page."""

    @abc.abstractmethod
    async def active_schedules(self) -> list[ScheduleRecord]:
        """Every enabled schedule that is not deleted."""

    @abc.abstractmethod
    async def update_schedule(
        self, schedule_id: str, spec: ScheduleSpec, now: float, *, move_watermark: bool
    ) -> ScheduleRecord:
        """Write the spec and bump the revision; ``move_watermark`` moves ``notices_through`` to
        ``now`` (if later), so that the change affects only notices sent after it. NotFound."""

    @abc.abstractmethod
    async def delete_schedule(self, schedule_id: str, now: float) -> None:
        """Mark it deleted (it stops announcing; its notice log stays). NotFound."""

    @abc.abstractmethod
    async def list_notices(
        self, schedule_id: str, *, after: str | None = None, limit: int = 100
    ) -> list[NoticeRecord]:
        """The notice log of a schedule (deleted ones too) in send order; ``after`` is the key of
        the last notice of the previous page. NotFound when the schedule never existed."""

    @abc.abstractmethod
    async def record_notices(
        self,
        schedule_id: str,
        revision: int,
        notices: Sequence[NoticeRecord],
        events: Sequence[NewEvent],
        through: float,
    ) -> list[NoticeRecord] | None:
        """In one durable transaction: record ``notices`` under their unique keys, publish (as
        :meth:`publish` does) the event of each sent notice that this call recorded first, and
        move the schedule's watermark to ``through``. Exactly once per key, whoever calls.
        None, with nothing written, when the schedule is no longer at ``revision``."""
