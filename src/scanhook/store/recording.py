"""Recording attempts and giving leases back, in the caller's transaction, with bulk statements;
and telling operators, once the record has committed, what changed: a circuit opened, an
endpoint disabled or recovered, a delivery that failed for good.

Each change is found by comparing an endpoint's health before and after the transaction that
made it, so it is logged once, by the process whose record made it, however many attempts and
workers there are.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Literal

import structlog
from sqlalchemy.engine import Connection

from scanhook.store import queries as q
from scanhook.store.driver_sql import executemany
from scanhook.store.records import AttemptOutcome, StorePolicy
from scanhook.store.rules import Health, apply_outcome, delivery_status_after, failure_summary

__all__ = ["HealthChange", "record", "release", "report"]

log = structlog.get_logger("scanhook.delivery")


@dataclasses.dataclass(frozen=True, slots=True)
class HealthChange:
    """An endpoint's change of state made by one record: its circuit opened, it was disabled,
    or its open circuit closed on a success (it recovered)."""

    endpoint_id: str
    change: Literal["circuit_opened", "disabled", "recovered"]
    reason: str | None = None
    until: float | None = None


def record(
    connection: Connection, outcomes: Sequence[AttemptOutcome], policy: StorePolicy
) -> list[HealthChange]:
    """Insert the attempts, move the deliveries on, update the endpoints' health; return how
    the endpoints' states changed (for :func:`report`, once committed).

    The endpoint rows are locked first, in id order, and deliveries are updated in id order: on
    PostgreSQL concurrent records then never deadlock, and never lose each other's health
    updates (a claim skips a locked endpoint rather than waiting, so it is never in the cycle).
    """
    if not outcomes:
        return []
    endpoint_ids = sorted({o.endpoint_id for o in outcomes})
    health = {
        row.id: Health(
            enabled=bool(row.enabled),
            disabled_reason=row.disabled_reason,
            consecutive_failures=row.consecutive_failures,
            failing_since=row.failing_since,
            last_success_at=row.last_success_at,
            circuit_open_until=row.circuit_open_until,
            circuit_opened_at=row.circuit_opened_at,
            circuit_failed_probes=row.circuit_failed_probes,
            circuit_reason=row.circuit_reason,
        )
        for row in connection.execute(q.ENDPOINTS_TO_RECORD, {"ids": endpoint_ids})
    }
    ordered = sorted(outcomes, key=lambda o: (o.delivery_id, o.number))
    # The two per-row statements go straight to the driver (no per-row bind processing).
    executemany(
        connection,
        q.insert_attempt_ignoring_duplicates(connection.dialect.name),
        [
            {
                "delivery_id": o.delivery_id,
                "number": o.number,
                "started_at": o.started_at,
                "duration_ms": o.duration_ms,
                "status_code": o.status_code,
                "error_kind": o.error_kind,
                "error": o.error,
                "response_body": o.response_body,
            }
            for o in ordered
        ],
    )
    executemany(
        connection,
        q.SET_DELIVERY_OUTCOME,
        [
            {
                "b_id": o.delivery_id,
                "b_leased_by": o.leased_by,
                "b_status": delivery_status_after(o),
                "b_number": o.number,
                "b_next_attempt_at": None if o.succeeded else o.next_attempt_at,
                "b_status_code": o.status_code,
                "b_error": None if o.succeeded else o.error,
                "b_now": o.started_at + o.duration_ms / 1000.0,
            }
            for o in ordered
        ],
    )
    before = {endpoint_id: dataclasses.replace(h) for endpoint_id, h in health.items()}
    for outcome in sorted(outcomes, key=lambda o: o.started_at + o.duration_ms / 1000.0):
        state = health.get(outcome.endpoint_id)
        if state is not None:  # None: the endpoint was deleted meanwhile
            apply_outcome(state, outcome, policy)
    if health:
        executemany(
            connection,
            q.SET_ENDPOINT_HEALTH,
            [
                {
                    "b_id": endpoint_id,
                    "b_enabled": h.enabled,
                    "b_disabled_reason": h.disabled_reason,
                    "b_consecutive_failures": h.consecutive_failures,
                    "b_failing_since": h.failing_since,
                    "b_last_success_at": h.last_success_at,
                    "b_circuit_open_until": h.circuit_open_until,
                    "b_circuit_opened_at": h.circuit_opened_at,
                    "b_circuit_failed_probes": h.circuit_failed_probes,
                    "b_circuit_reason": h.circuit_reason,
                }
                for endpoint_id, h in health.items()
            ],
        )
    return [
        change
        for endpoint_id, h in health.items()
        for change in _changes(endpoint_id, before[endpoint_id], h)
    ]


def _changes(endpoint_id: str, old: Health, new: Health) -> list[HealthChange]:
    found = []
    # A disabled endpoint's circuit is moot: disabling is the news.
    disabled = old.enabled and not new.enabled
    opened = old.circuit_open_until is None and new.circuit_open_until is not None
    if opened and new.enabled:
        found.append(
            HealthChange(endpoint_id, "circuit_opened", new.circuit_reason, new.circuit_open_until)
        )
    if disabled:
        found.append(HealthChange(endpoint_id, "disabled", new.disabled_reason))
    if old.circuit_open_until is not None and new.circuit_open_until is None and new.enabled:
        found.append(HealthChange(endpoint_id, "recovered"))
    return found


def report(outcomes: Sequence[AttemptOutcome], changes: Sequence[HealthChange]) -> None:
    """Log, after the record committed, each change of an endpoint's state and each delivery
    that failed for good (no attempt left, or its endpoint disabled): a warning each, and an
    info line for a recovery. Endpoints are named by id (a URL may hold credentials)."""
    for outcome in outcomes:
        if delivery_status_after(outcome) == "failed":
            log.warning(
                "delivery failed for good",
                delivery=outcome.delivery_id,
                endpoint=outcome.endpoint_id,
                attempts=outcome.number,
                last=failure_summary(outcome),
            )
    for change in changes:
        if change.change == "circuit_opened":
            until = datetime.fromtimestamp(change.until or 0.0, UTC)
            log.warning(
                "circuit opened: deliveries to the endpoint pause",
                endpoint=change.endpoint_id,
                until=until.isoformat(timespec="seconds"),
                reason=change.reason,
            )
        elif change.change == "disabled":
            log.warning("endpoint disabled", endpoint=change.endpoint_id, reason=change.reason)
        else:
            log.info("endpoint recovered: circuit closed", endpoint=change.endpoint_id)


def release(
    connection: Connection, delivery_ids: Sequence[str], worker_id: str | None = None
) -> None:
    """Leased deliveries (those ``worker_id`` still leases, if given) go back to pending; their
    next_attempt_at (already passed) stays, so they are due at once."""
    if delivery_ids:
        connection.execute(
            q.RELEASE,
            {"ids": list(delivery_ids), "b_leased_by": worker_id, "now": time.time()},
        )
