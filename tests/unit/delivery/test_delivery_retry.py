"""Durations, retry schedules, jitter and Retry-After."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from email.utils import format_datetime

import pytest

from scanhook.delivery.retry import (
    DEFAULT_SCHEDULE,
    RetryPolicy,
    parse_duration,
    parse_retry_after,
    parse_schedule,
)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("500ms", 0.5),
        ("0.2s", 0.2),
        ("5s", 5.0),
        ("5m", 300.0),
        ("2h", 7200.0),
        ("1d", 86400.0),
        (" 10h ", 36000.0),
        ("1h30m", 5400.0),
        ("7", 7.0),
        ("5S", 5.0),
    ],
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize(
    ("text", "bad"),
    [("5x", "'5x'"), ("abc", "'abc'"), ("-5s", "'-5s'"), ("5s5", "'5'"), ("", "empty")],
)
def test_parse_duration_names_the_bad_part(text: str, bad: str) -> None:
    with pytest.raises(ValueError, match=bad):
        parse_duration(text)


def test_parse_schedule() -> None:
    assert parse_schedule(DEFAULT_SCHEDULE) == (5, 300, 1800, 7200, 18000, 36000, 36000)
    assert parse_schedule("0.2s, 500ms") == (0.2, 0.5)
    with pytest.raises(ValueError, match="step 2 is empty"):
        parse_schedule("5s,,5m")
    with pytest.raises(ValueError, match="step 1: '0s' must be longer than 0"):
        parse_schedule("0s")
    with pytest.raises(ValueError, match=r"step 2: .*'soon'"):
        parse_schedule("5s,soon")
    with pytest.raises(ValueError, match="empty"):
        parse_schedule("  ")


def test_schedule_is_followed_with_jitter_within_bounds() -> None:
    policy = RetryPolicy("10s,1m,1h", jitter=0.2, rng=random.Random(7))
    assert policy.max_attempts == 4
    for _ in range(200):
        for attempt, base in ((1, 10.0), (2, 60.0), (3, 3600.0)):
            delay = policy.delay_after(attempt)
            assert delay is not None
            assert base * 0.8 <= delay <= base * 1.2
    delays = {RetryPolicy("10s", rng=random.Random(seed)).delay_after(1) for seed in range(20)}
    assert len(delays) > 10  # jitter really varies


def test_without_jitter_the_schedule_is_exact() -> None:
    policy = RetryPolicy([1.0, 2.0], jitter=0)
    assert [policy.delay_after(1), policy.delay_after(2)] == [1.0, 2.0]


def test_schedule_exhaustion() -> None:
    policy = RetryPolicy(DEFAULT_SCHEDULE, rng=random.Random(1))
    assert policy.delay_after(7) is not None
    assert policy.delay_after(8) is None
    assert policy.delay_after(8, retry_after=5) is None
    with pytest.raises(ValueError, match="attempt"):
        policy.delay_after(0)


def test_retry_after_replaces_the_step_capped_by_the_longest_and_never_jittered_below() -> None:
    policy = RetryPolicy("5s,1m,10m", jitter=0.2, rng=random.Random(3))
    for _ in range(100):
        delay = policy.delay_after(1, retry_after=120)
        assert delay is not None
        assert 120 <= delay <= 144
        assert policy.delay_after(1, retry_after=86400) == 600  # capped by the longest step
        short = policy.delay_after(3, retry_after=2)
        assert short is not None
        assert 2 <= short <= 2.4


def test_retry_policy_refuses_bad_settings() -> None:
    with pytest.raises(ValueError, match="at least one"):
        RetryPolicy([])
    with pytest.raises(ValueError, match="step 2"):
        RetryPolicy([1.0, 0.0])
    with pytest.raises(ValueError, match="jitter"):
        RetryPolicy("5s", jitter=1.5)


def test_parse_retry_after() -> None:
    now = 1_700_000_000.0
    assert parse_retry_after("120", now) == 120
    assert parse_retry_after(" 0 ", now) == 0
    later = format_datetime(datetime.fromtimestamp(now + 90, tz=UTC), usegmt=True)
    assert parse_retry_after(later, now) == pytest.approx(90)
    earlier = format_datetime(datetime.fromtimestamp(now - 90, tz=UTC), usegmt=True)
    assert parse_retry_after(earlier, now) == 0
    for garbage in ("", "soon", "-5", "1.5.5", "Mon, 99 Foo 2020"):
        assert parse_retry_after(garbage, now) is None


@pytest.mark.parametrize("hostile", ["²", "١٢٠", "9" * 5000, "1" * 19])
def test_retry_after_that_is_not_a_bounded_ascii_number_is_ignored(hostile: str) -> None:
    # "²".isdigit() is True but int("²") raises; 5,000 digits exceed int()'s digit limit.
    assert parse_retry_after(hostile, 1_700_000_000.0) is None
