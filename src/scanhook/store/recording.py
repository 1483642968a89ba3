"""Recording attempts and giving leases back, in the caller's transaction, with bulk statements."""

from __future__ import annotations

import time
from collections.abc import Sequence

from sqlalchemy.engine import Connection

from scanhook.store import queries as q
from scanhook.store.driver_sql import executemany
from scanhook.store.records import AttemptOutcome, StorePolicy
from scanhook.store.rules import Health, apply_outcome, delivery_status_after

__all__ = ["record", "release"]


def record(connection: Connection, outcomes: Sequence[AttemptOutcome], policy: StorePolicy) -> None:
    """Insert the attempts, move the deliveries on, update the endpoints' health.

    The endpoint rows are locked first, in id order, and deliveries are updated in id order: on
    PostgreSQL concurrent records then never deadlock, and never lose each other's health
    updates (a claim skips a locked endpoint rather than waiting, so it is never in the cycle).
    """
    if not outcomes:
        return
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
