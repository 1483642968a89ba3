"""The delivery worker: claim due deliveries in batches, send them concurrently, record the
attempts in batches, schedule retries.

One loop runs the cycle: ``Store.record_and_claim`` records the outcomes that came in since the
last cycle and, in the same transaction, claims due deliveries for the slots that freed
(the store enforces per-endpoint limits, circuits, rate limits and order); one task per claimed
delivery sends it. A finished attempt wakes the loop, and so does a publish in the same process;
outcomes that finish while a cycle's write is under way go together into the next one (no fixed
delay). A poll every ``poll_interval`` (or PostgreSQL's NOTIFY) covers other processes.

Beside the cycle, the worker tells the store it is alive (:meth:`Store.register_worker` before
its first claim, then :meth:`Store.keep_worker_alive` every ``heartbeat_every``): that is when
what a dead worker left ``sending`` is taken back, at once rather than when its leases run out,
and a take-back wakes the cycle. Its outcomes name it (``leased_by``), so that a late outcome of
an attempt whose delivery another worker has taken back since moves nothing.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable, Sequence
from datetime import UTC, tzinfo

import structlog

from scanhook.delivery.destinations import DestinationSender
from scanhook.delivery.http import HttpClient, HttpResult
from scanhook.delivery.request import delivery_headers
from scanhook.delivery.retry import RetryPolicy
from scanhook.errors import ScanhookError
from scanhook.store.base import Store
from scanhook.store.ids import new_id
from scanhook.store.liveness import HEARTBEAT_EVERY
from scanhook.store.records import AttemptOutcome, ClaimedDelivery

__all__ = ["Worker"]

log = structlog.get_logger("scanhook.worker")

RESPONSE_BODY_LIMIT = 4096
_RETRY_AFTER_STATUSES = frozenset({429, 503})


class Worker:
    """Delivers what the store says is due, until stopped."""

    def __init__(
        self,
        store: Store,
        client: HttpClient,
        retry: RetryPolicy,
        *,
        user_agent: str,
        request_timeout: float = 15.0,
        lease: float = 60.0,
        claim_batch: int = 128,
        max_concurrency: int = 1000,
        poll_interval: float = 1.0,
        clock: Callable[[], float] = time.time,
        worker_id: str | None = None,
        on_recorded: Callable[[Sequence[AttemptOutcome]], None] | None = None,
        tz: tzinfo = UTC,
        destinations: DestinationSender | None = None,
        heartbeat_every: float = HEARTBEAT_EVERY,
    ) -> None:
        self.id = worker_id or new_id("wrk")
        self._store = store
        self._client = client
        self._retry = retry
        self._user_agent = user_agent
        self._request_timeout = request_timeout
        self._lease = lease
        self._claim_batch = claim_batch
        self._max_concurrency = max_concurrency
        self._poll_interval = poll_interval
        self._heartbeat_every = heartbeat_every
        self._clock = clock
        self._on_recorded = on_recorded
        # Endpoints with a format other than raw, or with auth; raw ones go directly.
        self._destinations = destinations or DestinationSender(
            store, client, user_agent=user_agent, tz=tz
        )
        self._wake = asyncio.Event()
        self._acks: list[AttemptOutcome] = []
        # Claimed and not yet recorded: delivery id -> its sending task.
        self._inflight: dict[str, asyncio.Task[None]] = {}
        # The earliest retry this worker scheduled that may not be due yet (see _idle_time).
        self._soonest_retry = math.inf
        # The store call of the cycle under way, and the outcomes it records (see _drain).
        self._cycle: tuple[asyncio.Future[list[ClaimedDelivery]], list[AttemptOutcome]] | None
        self._cycle = None

    # -- control ----------------------------------------------------------------------------------
    def wake(self) -> None:
        """Look for due deliveries now (called after a publish in this process)."""
        self._wake.set()

    @property
    def in_flight(self) -> int:
        return len(self._inflight)

    async def run(self, stop: asyncio.Event, grace: float = 10.0) -> None:
        """Deliver until ``stop`` is set; then let attempts in flight finish for up to ``grace``
        seconds, record them, and give the rest back to the store."""
        await self._announce()
        stopper = asyncio.create_task(self._relay_stop(stop))
        heartbeat = asyncio.create_task(self._keep_alive(), name=f"scanhook-heartbeat-{self.id}")
        try:
            await self._cycle_loop(stop)
        finally:
            stopper.cancel()
            try:
                await self._drain(grace)
            finally:
                # Alive until everything it held is recorded or given back.
                heartbeat.cancel()
                await asyncio.gather(heartbeat, return_exceptions=True)
                await self._retire()

    async def _relay_stop(self, stop: asyncio.Event) -> None:
        await stop.wait()
        self._wake.set()

    # -- being alive ------------------------------------------------------------------------------
    async def _announce(self) -> None:
        """Register with the store, taking back what dead workers left (before the first claim,
        so that it takes those first). A failure is logged: the heartbeat registers later."""
        try:
            taken = await self._store.register_worker(self.id, self._clock())
        except ScanhookError as exc:
            log.warning("could not register the worker; retrying", worker=self.id, error=str(exc))
            return
        self._took_back(taken)

    async def _keep_alive(self) -> None:
        failing = False
        while True:
            await asyncio.sleep(self._heartbeat_every)
            try:
                taken = await self._store.keep_worker_alive(self.id, self._clock())
            except ScanhookError as exc:
                if not failing:  # once per outage, not every second
                    log.warning("worker heartbeat failed; retrying", worker=self.id, error=str(exc))
                failing = True
                continue
            if failing:
                log.info("worker heartbeat works again", worker=self.id)
                failing = False
            self._took_back(taken)

    def _took_back(self, taken: int) -> None:
        if taken:
            log.info("took back deliveries a dead worker left in flight", count=taken)
            self._wake.set()

    async def _retire(self) -> None:
        try:
            await self._store.unregister_worker(self.id)
        except ScanhookError as exc:
            log.warning("could not unregister the worker", worker=self.id, error=str(exc))

    # -- the cycle: record what finished, claim what is due ---------------------------------------
    async def _cycle_loop(self, stop: asyncio.Event) -> None:
        backoff = 0.0
        while not stop.is_set():
            self._wake.clear()
            batch, self._acks = self._acks, []
            # The slots of ``batch`` are free once it is recorded, in the same transaction.
            limit = min(self._claim_batch, self._max_concurrency - len(self._inflight) + len(batch))
            if not batch and limit <= 0:
                await self._sleep(stop, self._poll_interval)  # an outcome wakes us
                continue
            try:
                claimed = await self._record_and_claim(batch, max(0, limit))
                backoff = 0.0
            except ScanhookError as exc:
                # Keep the outcomes and try again; if this process dies first, the leases
                # expire and the deliveries are sent again (at least once).
                self._acks[:0] = batch
                backoff = min(max(backoff * 2, 0.1), 5.0)
                log.warning(
                    "recording or claiming failed; retrying",
                    error=str(exc),
                    outcomes=len(batch),
                    retry_in=backoff,
                )
                await self._sleep(stop, backoff)
                continue
            for delivery in claimed:
                self._inflight[delivery.id] = asyncio.create_task(self._attempt(delivery))
            if self._acks or (limit > 0 and len(claimed) == limit):
                continue  # more finished meanwhile, or there may be more due right now
            await self._sleep(stop, await self._idle_time())

    async def _record_and_claim(
        self, batch: list[AttemptOutcome], limit: int
    ) -> list[ClaimedDelivery]:
        """One store round trip; shielded, so that a cancelled worker still learns what was
        recorded (its drain waits for it) instead of taking it for unrecorded."""
        cycle = asyncio.ensure_future(
            self._store.record_and_claim(batch, self.id, self._clock(), self._lease, limit)
        )
        self._cycle = (cycle, batch)
        try:
            claimed = await asyncio.shield(cycle)
        finally:
            if cycle.done():  # else cancelled while the write goes on: _drain finishes it
                self._cycle = None
        self._recorded(batch)
        return claimed

    def _recorded(self, batch: Sequence[AttemptOutcome]) -> None:
        if not batch:
            return
        for outcome in batch:
            self._inflight.pop(outcome.delivery_id, None)
            if outcome.next_attempt_at is not None:
                self._soonest_retry = min(self._soonest_retry, outcome.next_attempt_at)
        if self._on_recorded is not None:
            self._on_recorded(batch)

    async def _idle_time(self) -> float:
        if self._inflight:
            # Each outcome recorded wakes the loop, so while attempts are in flight only a
            # retry this worker scheduled can fall due unnoticed: wait for it or a wake-up,
            # without asking the store (a reader round trip per cycle; bench/README.md, Run G).
            # Other processes' work is covered by the poll (or PostgreSQL's NOTIFY).
            wait = self._soonest_retry - self._clock()
            if wait > 0:
                return min(self._poll_interval, wait)
            self._soonest_retry = math.inf  # it fell due: the store knows what comes next
        try:
            due = await self._store.next_due_at()
        except ScanhookError:
            return self._poll_interval
        if due is None:
            return self._poll_interval
        wait = due - self._clock()
        # A due time in the past means what is due is held (endpoint full, circuit, order):
        # a recorded outcome or a publish wakes us; the poll covers the rest.
        return self._poll_interval if wait <= 0 else min(self._poll_interval, wait)

    async def _sleep(self, stop: asyncio.Event, seconds: float) -> None:
        """Until a wake-up in this process (publish, recorded outcomes, stop), a wake-up from the
        database (PostgreSQL's NOTIFY from other processes), or ``seconds``."""
        if stop.is_set() or self._wake.is_set():
            return
        woken = asyncio.ensure_future(self._wake.wait())
        notified = asyncio.ensure_future(self._store.wait_for_work(seconds))
        try:
            # FIRST_COMPLETED: asyncio.wait's default waits for both, i.e. the whole poll.
            await asyncio.wait(
                {woken, notified}, timeout=seconds, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            for task in (woken, notified):
                task.cancel()
            await asyncio.gather(woken, notified, return_exceptions=True)

    # -- one attempt ------------------------------------------------------------------------------
    async def _attempt(self, delivery: ClaimedDelivery) -> None:
        """Send one delivery and queue its outcome for the next cycle. Raw endpoints without
        ``auth`` or secret headers are sent here (the hot path); the others through
        ``destinations``."""
        endpoint = delivery.endpoint
        started = self._clock()
        timeout = max(0.1, min(endpoint.timeout or self._request_timeout, self._lease * 0.8))
        # Credentials (auth, secret headers) need scrubbing from what the receiver answers.
        raw = endpoint.format == "raw" and endpoint.auth is None and not endpoint.secret_headers
        final = False
        try:
            if raw:
                headers = delivery_headers(delivery, started, self._user_agent)
                result = await self._client.send(endpoint.url, headers, delivery.body, timeout)
            else:
                sent = await self._destinations.attempt(delivery, started, timeout)
                result, final = sent.result, sent.final
        except Exception as exc:  # a bug must not strand the delivery: record it as a failure
            log.exception("attempt failed unexpectedly", delivery_id=delivery.id)
            # A formatted or authenticated attempt's exception text may hold a credential.
            detail = f": {exc}" if raw else ""
            result = HttpResult(
                status_code=None,
                body=b"",
                duration_ms=(self._clock() - started) * 1000.0,
                error_kind="other",
                error=f"internal error: {type(exc).__name__}{detail}",
                retry_after=None,
            )
        self._acks.append(self._decide(delivery, started, result, final=final))
        self._wake.set()

    def _decide(
        self, delivery: ClaimedDelivery, started: float, result: HttpResult, *, final: bool = False
    ) -> AttemptOutcome:
        body = result.body[:RESPONSE_BODY_LIMIT].decode("utf-8", "replace") if result.body else None
        common = {
            "delivery_id": delivery.id,
            "endpoint_id": delivery.endpoint.id,
            "number": delivery.attempt,
            "started_at": started,
            "duration_ms": result.duration_ms,
            "status_code": result.status_code,
            "response_body": body,
            "leased_by": self.id,
        }
        if result.succeeded:
            # error: None, or a note such as "skipped: …" (a format chose to send nothing).
            return AttemptOutcome(succeeded=True, error=result.error, **common)  # type: ignore[arg-type]
        retry_after = result.retry_after if result.status_code in _RETRY_AFTER_STATUSES else None
        if result.error_kind == "policy":
            # The policy gives the same answer on every attempt: fail now, with its reason
            # (a retry by hand or a replay tries again, e.g. after the operator allowed it).
            final = True
            log.warning(
                "delivery refused by the network policy",
                delivery_id=delivery.id,
                endpoint_id=delivery.endpoint.id,
                reason=result.refusal,
                error=result.error,
            )
        delay = None if final else self._retry.delay_after(delivery.attempt, retry_after)
        finished = started + result.duration_ms / 1000.0
        return AttemptOutcome(
            succeeded=False,
            error_kind=result.error_kind or "other",
            error=result.error,
            next_attempt_at=None if delay is None else finished + delay,
            disable_reason=(
                "the receiver answered 410 Gone: it asked to stop receiving"
                if result.status_code == 410
                else None
            ),
            refusal=result.refusal,
            **common,  # type: ignore[arg-type]
        )

    # -- stopping ---------------------------------------------------------------------------------
    async def _record_remaining(self, attempts: int = 5) -> None:
        for attempt in range(attempts):
            batch, self._acks = self._acks, []
            if not batch:
                return
            try:
                await self._store.record(batch)
            except ScanhookError as exc:
                self._acks[:0] = batch
                log.warning("recording attempts failed; retrying", error=str(exc), count=len(batch))
                if attempt + 1 < attempts:
                    await asyncio.sleep(0.5)
                continue
            self._recorded(batch)

    async def _drain(self, grace: float) -> None:
        """Stop: let attempts in flight finish within ``grace`` (cancel the rest), record every
        outcome, and give what has none back to the store."""
        never_started: list[str] = []
        if self._cycle is not None:
            # The worker was cancelled during a write: learn how it ended before going on.
            (cycle, batch), self._cycle = self._cycle, None
            try:
                claimed = await cycle
            except ScanhookError:
                self._acks[:0] = batch
            else:
                self._recorded(batch)
                never_started = [delivery.id for delivery in claimed]
        tasks = [task for task in self._inflight.values() if not task.done()]
        if tasks:
            log.info("waiting for attempts in flight", count=len(tasks), grace=grace)
            _, pending = await asyncio.wait(tasks, timeout=grace)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending)
        await self._record_remaining()
        unrecorded = {outcome.delivery_id for outcome in self._acks}
        if unrecorded:
            # The store is failing: these were attempted; their leases expire and they are
            # sent again (at least once).
            log.warning("could not record attempts before stopping", count=len(unrecorded))
        unfinished = [d for d in self._inflight if d not in unrecorded] + never_started
        if unfinished:
            try:
                await self._store.release(unfinished, self.id)
                log.info("released unfinished deliveries", count=len(unfinished))
            except ScanhookError as exc:
                log.warning(
                    "could not release unfinished deliveries; their leases will expire",
                    error=str(exc),
                    count=len(unfinished),
                )
        self._inflight.clear()
