"""store.rules: the token bucket, the circuit's pause, and how outcomes move an endpoint's
health."""

from __future__ import annotations

import pytest

from scanhook.store.records import AttemptOutcome, StorePolicy
from scanhook.store.rules import (
    Health,
    apply_outcome,
    bucket_tokens,
    circuit_pause,
    circuit_state,
    delivery_status_after,
    failure_summary,
    token_ready_at,
)

#: Threshold 2; the pauses are the steps of a schedule 10 s, 20 s, 35 s.
POLICY = StorePolicy(circuit_threshold=2, circuit_steps=(10.0, 20.0, 35.0), disable_after=100.0)


def outcome(at: float, ok: bool, took: float = 1.0, **kw: object) -> AttemptOutcome:
    """An attempt that started at ``at`` and took ``took`` seconds."""
    return AttemptOutcome("dlv_1", "ep_1", 1, at, took * 1000.0, ok, **kw)  # type: ignore[arg-type]


def failed(at: float, took: float = 1.0, status: int = 500) -> AttemptOutcome:
    return outcome(at, False, took, status_code=status, error_kind="http", error=f"HTTP {status}")


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


def test_circuit_pause_is_the_schedule_step_of_its_failed_probes() -> None:
    steps = (0.2, 0.4, 2.0)
    assert [circuit_pause(steps, n) for n in range(6)] == [0.2, 0.4, 2.0, 2.0, 2.0, 2.0]
    # First pause at most the first step; none longer than the longest; never shrinking.
    assert [circuit_pause((10.0, 5.0, 20.0, 1.0), n) for n in range(5)] == [10, 10, 20, 20, 20]
    assert circuit_pause((3.0,), 1000) == 3.0


def test_circuit_state() -> None:
    assert circuit_state(None, 5.0) == "closed"
    assert circuit_state(6.0, 5.0) == "open"
    assert circuit_state(5.0, 5.0) == "half-open"
    assert circuit_state(4.0, 5.0) == "half-open"


def test_circuit_opens_at_the_threshold_for_the_first_step() -> None:
    h = fresh()
    apply_outcome(h, failed(0.0), POLICY)
    assert (h.consecutive_failures, h.failing_since, h.circuit_open_until) == (1, 0.0, None)
    apply_outcome(h, failed(2.0), POLICY)  # ends at 3
    assert (h.circuit_opened_at, h.circuit_open_until, h.circuit_failed_probes) == (3.0, 13.0, 0)
    assert h.circuit_reason == "2 consecutive failures; last: HTTP 500"


def test_failures_in_flight_when_it_opened_never_grow_the_pause() -> None:
    """Ten attempts go out together and all fail: the circuit opens at the second failure, and
    the eight that were already in flight (started before it opened) leave the pause alone."""
    h = fresh()
    for n in range(10):
        apply_outcome(h, failed(0.0, took=0.1 + n / 100), POLICY)
    assert h.consecutive_failures == 10
    assert h.circuit_opened_at == pytest.approx(0.11)
    assert h.circuit_open_until == pytest.approx(10.11)
    assert h.circuit_failed_probes == 0
    assert h.circuit_reason == "2 consecutive failures; last: HTTP 500"


def test_the_pause_grows_only_after_failed_probes_and_is_capped_by_the_longest_step() -> None:
    h = fresh()
    apply_outcome(h, failed(0.0), POLICY)
    apply_outcome(h, failed(0.0), POLICY)  # opens at 1, until 11
    # A late failure of an attempt that started while the circuit was open (e.g. claimed just
    # before the opening was recorded) is not a probe either.
    apply_outcome(h, failed(5.0, status=502), POLICY)
    assert (h.circuit_open_until, h.circuit_failed_probes) == (11.0, 0)
    for probe in range(4):
        start = h.circuit_open_until
        assert start is not None
        apply_outcome(h, failed(start), POLICY)  # a probe: started once the pause ended
        assert h.circuit_failed_probes == probe + 1
        assert h.circuit_open_until is not None
        assert h.circuit_open_until - (start + 1.0) == [20.0, 35.0, 35.0, 35.0][probe]
    assert h.circuit_opened_at == 1.0
    assert h.circuit_reason == "7 consecutive failures; last: HTTP 500"


def test_a_success_closes_the_circuit() -> None:
    h = fresh()
    for t in (0.0, 1.0, 12.0):
        apply_outcome(h, failed(t), POLICY)
    assert h.circuit_failed_probes == 1
    apply_outcome(h, outcome(40.0, True), POLICY)
    assert (h.consecutive_failures, h.failing_since, h.circuit_open_until) == (0, None, None)
    assert (h.circuit_opened_at, h.circuit_failed_probes, h.circuit_reason) == (None, 0, None)
    assert h.last_success_at == 41.0
    # Closed again: it opens anew at the threshold, for the first step.
    apply_outcome(h, failed(60.0), POLICY)
    apply_outcome(h, failed(60.0), POLICY)
    assert (h.circuit_open_until, h.circuit_failed_probes) == (71.0, 0)


def test_a_success_within_the_first_step_keeps_the_circuit_closed() -> None:
    """An endpoint that accepted a delivery less than the first step ago is failing some
    deliveries, not down: failures in a row do not pause it until that step has passed."""
    h = fresh()
    apply_outcome(h, outcome(0.0, True), POLICY)  # success at 1
    for t in (1.0, 2.0, 3.0, 8.0):  # ends 2..9: within 10 s of it
        apply_outcome(h, failed(t), POLICY)
    assert (h.consecutive_failures, h.circuit_open_until) == (4, None)
    apply_outcome(h, failed(10.0), POLICY)  # ends at 11: 10 s after the success
    assert h.circuit_open_until == 21.0
    assert h.circuit_reason == "5 consecutive failures; last: HTTP 500"


def test_failure_summary() -> None:
    assert failure_summary(failed(0.0, status=503)) == "HTTP 503"
    timeout = outcome(0.0, False, error_kind="timeout", error="no answer within 15 s")
    assert failure_summary(timeout) == "timeout: no answer within 15 s"
    long = failure_summary(outcome(0.0, False, error_kind="connect", error="x" * 1000))
    assert long == "connect: " + "x" * 199 + "…"
    assert failure_summary(outcome(0.0, False)) == "error"


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
