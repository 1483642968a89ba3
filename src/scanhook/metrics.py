"""Prometheus metrics of one scanhook process, in a registry of its own.

Counted as they happen (from the attempts this process's workers record, through
:meth:`scanhook.Hub.add_attempt_listener`): attempts and finished deliveries by endpoint and
result, the attempt latency, and attempts the network policy refused, by reason. Read from the
database at scrape time (so every process shows the whole queue): deliveries by status, the age
of the oldest due delivery, endpoints in total, disabled and with an open circuit.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from scanhook.store.base import Store
from scanhook.store.records import DELIVERY_STATUSES, AttemptOutcome

__all__ = ["CONTENT_TYPE", "Metrics"]

CONTENT_TYPE = CONTENT_TYPE_LATEST
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class Metrics:
    """The metrics of one process; ``registry`` is private to it (tests build many)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
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
        """Set the gauges from the database (at scrape time)."""
        stats = await store.stats(time.time())
        counts = stats["deliveries"]
        assert isinstance(counts, dict)
        for status in DELIVERY_STATUSES:
            self.queue.labels(status).set(float(counts.get(status, 0)))
        age = stats.get("oldest_due_age")
        self.oldest_due_age.set(float(age) if isinstance(age, int | float) else 0.0)
        endpoints = stats["endpoints"]
        assert isinstance(endpoints, dict)
        self.endpoints.set(float(endpoints["total"]))
        self.disabled.set(float(endpoints["disabled"]))
        self.open_circuits.set(float(endpoints["open_circuits"]))

    def render(self) -> bytes:
        """The Prometheus text exposition."""
        return generate_latest(self.registry)
