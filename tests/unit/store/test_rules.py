"""store.rules: the token bucket and how outcomes move an endpoint's health."""

from __future__ import annotations

import pytest

from scanhook.store.records import AttemptOutcome, StorePolicy
from scanhook.store.rules import (
    Health,
    apply_outcome,
    bucket_tokens,
    delivery_status_after,
    token_ready_at,
)

POLICY = StorePolicy(circuit_threshold=2, circuit_base=10.0, circuit_max=35.0, disable_after=100.0)


def outcome(at: float, ok: bool, **kw: object) -> AttemptOutcome:
    return AttemptOutcome("dlv_1", "ep_1", 1, at, 1000.0, ok, **kw)  # type: ignore[arg-type]


def fresh() -> Health:
    return Health(True, None, 0, None, None, None)


def test_bucket_starts_full_refills_and_caps() -> None:
    assert bucket_tokens(None, None, 5.0, 0.0) == 5.0
    assert bucket_tokens(0.0, 10.0, 5.0, 10.5) == 2.5
    assert bucket_tokens(0.0, 10.0, 5.0, 100.0) == 5.0
    assert bucket_tokens(None, None, 0.2, 0.0) == 1.0  # burst at least one
    assert token_ready_at(0.5, 10.0, 0.5, 10.0) == 11.0
    assert token_ready_at(None, None, 0.5, 10.0) == 10.0


def test_delivery_status_after() -> None:
    assert delivery_status_after(outcome(0, True)) == "succeeded"
    assert delivery_status_after(outcome(0, False)) == "failed"
    assert delivery_status_after(outcome(0, False, next_attempt_at=5.0)) == "pending"


def test_circuit_opens_at_threshold_doubles_and_caps() -> None:
    h = fresh()
    apply_outcome(h, outcome(0.0, False), POLICY)
    assert (h.consecutive_failures, h.failing_since, h.circuit_open_until) == (1, 0.0, None)
    holds = []
    for t in (10.0, 20.0, 30.0, 40.0):
        apply_outcome(h, outcome(t, False), POLICY)
        assert h.circuit_open_until is not None
        holds.append(h.circuit_open_until - (t + 1.0))
    assert holds == pytest.approx([10.0, 20.0, 35.0, 35.0])
    apply_outcome(h, outcome(50.0, True), POLICY)
    assert (h.consecutive_failures, h.failing_since, h.circuit_open_until) == (0, None, None)
    assert h.last_success_at == 51.0


def test_disable_after_and_disable_reason() -> None:
    h = fresh()
    apply_outcome(h, outcome(0.0, False), POLICY)
    apply_outcome(h, outcome(98.0, False), POLICY)  # ends at 99: not yet
    assert h.enabled is True
    apply_outcome(h, outcome(99.0, False), POLICY)
    assert h.enabled is False
    assert h.disabled_reason == (
        "failing without a success since 1970-01-01 00:00:00 UTC (more than 100 s)"
    )
    h = fresh()
    apply_outcome(h, outcome(0.0, False, disable_reason="410 Gone"), POLICY)
    assert (h.enabled, h.disabled_reason) == (False, "410 Gone")
