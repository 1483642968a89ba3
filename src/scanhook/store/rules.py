"""The engine's rules that every backend applies inside its transactions, as pure functions:
an endpoint's token bucket and how an attempt's outcome moves an endpoint's health."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from scanhook.store.records import AttemptOutcome, DeliveryStatus, StorePolicy

__all__ = [
    "Health",
    "apply_outcome",
    "bucket_burst",
    "bucket_tokens",
    "delivery_status_after",
    "token_ready_at",
]

#: Caps the doubling of an open circuit's hold (2**60 seconds is beyond any circuit_max).
_MAX_DOUBLINGS = 60


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


@dataclass(slots=True)
class Health:
    """An endpoint's health fields, changed in place by :func:`apply_outcome`."""

    enabled: bool
    disabled_reason: str | None
    consecutive_failures: int
    failing_since: float | None
    last_success_at: float | None
    circuit_open_until: float | None


def _when(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def apply_outcome(health: Health, outcome: AttemptOutcome, policy: StorePolicy) -> None:
    """Move ``health`` on by one attempt's outcome.

    A success clears the failure streak, ``failing_since`` and the circuit. A failure lengthens
    the streak, sets ``failing_since`` when unset, and from ``policy.circuit_threshold`` failures
    on opens the circuit for ``min(circuit_max, circuit_base * 2**(streak - threshold))`` seconds
    from the attempt's end. An endpoint failing for ``policy.disable_after`` without a success is
    disabled, and ``outcome.disable_reason`` disables it at once.
    """
    ended = outcome.started_at + outcome.duration_ms / 1000.0
    if outcome.succeeded:
        health.consecutive_failures = 0
        health.failing_since = None
        health.circuit_open_until = None
        health.last_success_at = max(health.last_success_at or ended, ended)
    else:
        health.consecutive_failures += 1
        if health.failing_since is None:
            health.failing_since = outcome.started_at
        over = health.consecutive_failures - policy.circuit_threshold
        if over >= 0:
            hold = min(policy.circuit_max, policy.circuit_base * 2.0 ** min(over, _MAX_DOUBLINGS))
            health.circuit_open_until = ended + hold
        if health.enabled and ended - health.failing_since >= policy.disable_after:
            health.enabled = False
            health.disabled_reason = (
                f"failing without a success since {_when(health.failing_since)}"
                f" (more than {policy.disable_after:g} s)"
            )
    if outcome.disable_reason is not None:
        health.enabled = False
        health.disabled_reason = outcome.disable_reason
