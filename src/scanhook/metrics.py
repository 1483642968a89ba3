"""Prometheus metrics of one scanhook process, in a registry of its own.

Counted as they happen (from the attempts this process's workers record, through
:meth:`scanhook.Hub.add_attempt_listener`): attempts and finished deliveries by endpoint and
result, the attempt latency, and attempts the network policy refused, by reason. Read from the
database at scrape time (so every process shows the whole queue): deliveries by status, the age
of the oldest due delivery, endpoints in total, disabled and with an open circuit.

"At scrape time" does not mean at every scrape: counting the deliveries of every status reads
the whole table (0.7–1 s at 10 M rows, see bench/README.md), and a scrape must stay cheap
however often, and by however many, /metrics is scraped. So the counts are read again at most
every ``refresh_every`` seconds, by one background task, and a scrape answers at once with the
latest ones (only a process's first scrape waits for them). Each reading counts the queue
(``pending`` and ``sending``: their rows only, through the status index; the oldest due
delivery; the endpoints); the history (``succeeded`` and ``failed``, which grows with the
retention) is counted again only every :data:`FINISHED_EVERY` readings.
``scanhook_queue_counts_age_seconds`` says how old each group of counts is.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

import structlog
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from scanhook.errors import ScanhookError
from scanhook.store.base import Store
from scanhook.store.records import DELIVERY_STATUSES, AttemptOutcome, DeliveryStatus

__all__ = ["CONTENT_TYPE", "Metrics"]

CONTENT_TYPE = CONTENT_TYPE_LATEST
log = structlog.get_logger("scanhook.metrics")

#: How often, at most, the database's counts are read again (``SCANHOOK_METRICS_REFRESH``).
DEFAULT_REFRESH_EVERY = 15.0
#: The history's counts are read with every this many readings of the queue's.
FINISHED_EVERY = 20
ACTIVE: tuple[DeliveryStatus, ...] = ("pending", "sending")
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class Metrics:
    """The metrics of one process; ``registry`` is private to it (tests build many)."""

    def __init__(
        self,
        registry: CollectorRegistry | None = None,
        *,
        refresh_every: float = DEFAULT_REFRESH_EVERY,
        finished_every: int = FINISHED_EVERY,
    ) -> None:
        self.refresh_every = refresh_every
        self.finished_every = finished_every
        #: When the database's counts were last read (monotonic), and the Unix time they are of.
        self._refreshed_at: float | None = None
        self._counted_at = 0.0
        self._finished_at = 0.0
        self._readings = 0
        self._oldest_due: float | None = None
        self._refreshing: asyncio.Task[None] | None = None
        self._failure: ScanhookError | None = None
        self.registry = registry or CollectorRegistry(auto_describe=True)
        r = self.registry
        self.attempts = Counter(
            "scanhook_attempts",
            "Delivery attempts recorded by this process, by endpoint and result "
            "(succeeded, retrying, failed).",
            ["endpoint_id", "result"],
            registry=r,
        )
        self.deliveries = Counter(
            "scanhook_deliveries",
            "Deliveries finished by this process's attempts, by endpoint and final status.",
            ["endpoint_id", "status"],
            registry=r,
        )
        self.refused = Counter(
            "scanhook_destinations_refused",
            "Attempts the network policy refused (the delivery failed at once), by reason: "
            "loopback, private, link_local, metadata, multicast, reserved, ….",
            ["reason"],
            registry=r,
        )
        self.latency = Histogram(
            "scanhook_attempt_duration_seconds",
            "Duration of delivery attempts, from request start to response or failure.",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.queue = Gauge(
            "scanhook_queue_deliveries",
            "Deliveries in the database by status.",
            ["status"],
            registry=r,
        )
        self.oldest_due_age = Gauge(
            "scanhook_oldest_due_delivery_age_seconds",
            "How long the oldest due delivery (of an enabled endpoint) has waited; 0 when none.",
            registry=r,
        )
        self.endpoints = Gauge("scanhook_endpoints", "Endpoints configured.", registry=r)
        self.disabled = Gauge(
            "scanhook_endpoints_disabled", "Endpoints that are disabled.", registry=r
        )
        self.open_circuits = Gauge(
            "scanhook_endpoints_open_circuits",
            "Endpoints whose circuit is open (nothing is sent to them for now).",
            registry=r,
        )
        self.counts_age = Gauge(
            "scanhook_queue_counts_age_seconds",
            "How old the counts read from the database are: 'queue' (pending, sending, the "
            "oldest due delivery, endpoints) and 'finished' (succeeded, failed).",
            ["counts"],
            registry=r,
        )

    def record_attempts(self, outcomes: Sequence[AttemptOutcome]) -> None:
        """Count a batch of recorded attempts (a worker's ``on_recorded``)."""
        for outcome in outcomes:
            if outcome.succeeded:
                result = "succeeded"
            elif outcome.next_attempt_at is None:
                result = "failed"
            else:
                result = "retrying"
            self.attempts.labels(outcome.endpoint_id, result).inc()
            if result != "retrying":
                self.deliveries.labels(outcome.endpoint_id, result).inc()
            if outcome.error_kind == "policy":
                self.refused.labels(outcome.refusal or "other").inc()
            self.latency.observe(max(0.0, outcome.duration_ms / 1000.0))

    async def collect_store(self, store: Store) -> None:
        """Bring the database's gauges up to date for a scrape.

        When the counts are ``refresh_every`` seconds old, one background task reads them again
        (a scrape arriving meanwhile does not start another); the scrape uses the counts there
        are, so only the first one of a process waits for the database. The database's error
        is raised when there are no counts yet, or when the latest reading failed.
        """
        now = time.monotonic()
        stale = self._refreshed_at is None or now - self._refreshed_at >= self.refresh_every
        if stale and (self._refreshing is None or self._refreshing.done()):
            self._refreshing = asyncio.create_task(self.read_counts(store))
        if self._refreshed_at is None and self._refreshing is not None:
            await asyncio.shield(self._refreshing)
        if self._failure is not None:
            raise self._failure
        wall = time.time()
        oldest = self._oldest_due
        self.oldest_due_age.set(0.0 if oldest is None else max(0.0, wall - oldest))
        self.counts_age.labels("queue").set(max(0.0, wall - self._counted_at))
        self.counts_age.labels("finished").set(max(0.0, wall - self._finished_at))

    async def read_counts(self, store: Store) -> None:
        """One reading of the database's counts (what the background task runs): the queue's,
        and every ``finished_every``-th time (the first included) the history's too. A failure
        is kept for the next scrape to raise, and logged."""
        counted_at = time.time()
        finished = self._readings % self.finished_every == 0
        try:
            stats = await store.stats(counted_at, DELIVERY_STATUSES if finished else ACTIVE)
        except ScanhookError as exc:
            log.warning("could not read the queue's counts", error=str(exc))
            self._failure = exc
            return
        counts = stats["deliveries"]
        assert isinstance(counts, dict)
        for status, count in counts.items():
            self.queue.labels(status).set(float(count))
        age = stats.get("oldest_due_age")
        self._oldest_due = counted_at - float(age) if isinstance(age, int | float) else None
        endpoints = stats["endpoints"]
        assert isinstance(endpoints, dict)
        self.endpoints.set(float(endpoints["total"]))
        self.disabled.set(float(endpoints["disabled"]))
        self.open_circuits.set(float(endpoints["open_circuits"]))
        self._failure = None
        self._readings += 1
        if finished:
            self._finished_at = counted_at
        self._counted_at = counted_at
        self._refreshed_at = time.monotonic()

    async def close(self) -> None:
        """Stop a reading in progress (before the store it reads is closed)."""
        task, self._refreshing = self._refreshing, None
        if task is not None and not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    def render(self) -> bytes:
        """The Prometheus text exposition."""
        return generate_latest(self.registry)
