"""The engine's rules that every backend applies inside its transactions, as pure functions:
an endpoint's token bucket, its circuit, and how an attempt's outcome moves its health."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from scanhook.store.records import AttemptOutcome, DeliveryStatus, StorePolicy

__all__ = [
    "CircuitState",
    "Health",
    "apply_outcome",
    "bucket_burst",
    "bucket_tokens",
    "circuit_pause",
    "circuit_state",
    "delivery_status_after",
    "failure_summary",
    "token_ready_at",
]

#: closed: deliveries flow; open: nothing is sent until the pause ends; half-open: the pause
#: has ended and one probe at a time goes, until one succeeds.
CircuitState = Literal["closed", "open", "half-open"]

#: How much of an attempt's error a circuit's reason quotes.
_REASON_ERROR_CHARS = 200


def bucket_burst(rate: float) -> float:
    """The bucket's size: one second's worth of requests, at least one."""
    return max(1.0, rate)


def bucket_tokens(tokens: float | None, updated_at: float | None, rate: float, now: float) -> float:
    """Tokens available at ``now`` (a bucket never used is full)."""
    burst = bucket_burst(rate)
    if tokens is None or updated_at is None:
        return burst
    return min(burst, tokens + max(0.0, now - updated_at) * rate)


def token_ready_at(
    tokens: float | None, updated_at: float | None, rate: float, now: float
) -> float:
    """When the bucket next holds a whole token (``now`` when it does already)."""
    available = bucket_tokens(tokens, updated_at, rate, now)
    if available >= 1.0 or rate <= 0:
        return now
    return now + (1.0 - available) / rate


def delivery_status_after(outcome: AttemptOutcome) -> DeliveryStatus:
    """succeeded; failed when no next attempt is planned; else pending."""
    if outcome.succeeded:
        return "succeeded"
    return "failed" if outcome.next_attempt_at is None else "pending"


def circuit_state(open_until: float | None, now: float) -> CircuitState:
    """The state at ``now`` of a circuit that is open until ``open_until`` (None: closed)."""
    if open_until is None:
        return "closed"
    return "open" if open_until > now else "half-open"


def circuit_pause(steps: Sequence[float], failed_probes: int) -> float:
    """How long a circuit pauses when it opens (``failed_probes`` 0) and after its n-th failed
    probe: the retry schedule's step n (its last step once past the end), never shorter than an
    earlier step. So the first pause is the first step and none is longer than the longest."""
    return max(steps[: max(0, failed_probes) + 1])


def failure_summary(outcome: AttemptOutcome) -> str:
    """A failed attempt in a few words: ``HTTP 500``, ``timeout: …``."""
    if outcome.status_code is not None and outcome.error_kind in (None, "http"):
        return f"HTTP {outcome.status_code}"
    kind = outcome.error_kind or "error"
    if not outcome.error:
        return kind
    error = outcome.error
    if len(error) > _REASON_ERROR_CHARS:
        error = error[: _REASON_ERROR_CHARS - 1] + "…"
    return f"{kind}: {error}"


@dataclass(slots=True)
class Health:
    """An endpoint's health fields, changed in place by :func:`apply_outcome`."""

    enabled: bool
    disabled_reason: str | None
    consecutive_failures: int
    failing_since: float | None
    last_success_at: float | None
    circuit_open_until: float | None
    circuit_opened_at: float | None = None
    circuit_failed_probes: int = 0
    circuit_reason: str | None = None

    def close_circuit(self) -> None:
        self.circuit_open_until = None
        self.circuit_opened_at = None
        self.circuit_failed_probes = 0
        self.circuit_reason = None


def _when(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _move_circuit(health: Health, outcome: AttemptOutcome, policy: StorePolicy) -> None:
    """The circuit after one more failure (the streak already counts it).

    Closed: it opens at ``policy.circuit_threshold`` failures in a row, for the schedule's first
    step, unless the endpoint had a success within that step (it is failing some deliveries, not
    down). Open or half-open: only a failed probe, an attempt that started after the pause in
    force had ended, moves the pause one step on; an attempt that was already in flight when the
    circuit opened started before it, and changes nothing.
    """
    ended = outcome.started_at + outcome.duration_ms / 1000.0
    steps = policy.circuit_steps
    if health.circuit_open_until is None:
        if health.consecutive_failures < policy.circuit_threshold:
            return
        if health.last_success_at is not None and ended - health.last_success_at < steps[0]:
            return
        health.circuit_opened_at = ended
        health.circuit_failed_probes = 0
    else:
        opened = health.circuit_opened_at
        if outcome.started_at < health.circuit_open_until or (
            opened is not None and outcome.started_at < opened
        ):
            return
        health.circuit_failed_probes += 1
        if opened is None:  # opened before the circuit kept its opening time
            health.circuit_opened_at = ended
    health.circuit_open_until = ended + circuit_pause(steps, health.circuit_failed_probes)
    health.circuit_reason = (
        f"{health.consecutive_failures} consecutive failures; last: {failure_summary(outcome)}"
    )


def apply_outcome(health: Health, outcome: AttemptOutcome, policy: StorePolicy) -> None:
    """Move ``health`` on by one attempt's outcome.

    A success clears the failure streak, ``failing_since`` and closes the circuit. A failure
    lengthens the streak, sets ``failing_since`` when unset, and may open the circuit or, as a
    failed probe, lengthen its pause (:func:`_move_circuit`; the pauses are the retry schedule's
    steps, :func:`circuit_pause`). An endpoint failing for ``policy.disable_after`` without a
    success is disabled, and ``outcome.disable_reason`` disables it at once.
    """
    ended = outcome.started_at + outcome.duration_ms / 1000.0
    if outcome.succeeded:
        health.consecutive_failures = 0
        health.failing_since = None
        health.close_circuit()
        health.last_success_at = max(health.last_success_at or ended, ended)
    else:
        health.consecutive_failures += 1
        if health.failing_since is None:
            health.failing_since = outcome.started_at
        _move_circuit(health, outcome, policy)
        if health.enabled and ended - health.failing_since >= policy.disable_after:
            health.enabled = False
            health.disabled_reason = (
                f"failing without a success since {_when(health.failing_since)}"
                f" (more than {policy.disable_after:g} s)"
            )
    if outcome.disable_reason is not None:
        health.enabled = False
        health.disabled_reason = outcome.disable_reason
