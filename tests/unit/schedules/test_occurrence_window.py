"""Occurrences after a time are found by walking wall times from just before it (the zone's
offsets near it bound how far); they must be exactly those that a walk from two days earlier finds,
whatever the zone does there: DST in either direction, a 30-minute DST (Lord Howe), a skipped day
(Apia, 30 December 2011)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import islice

from hypothesis import given, settings
from hypothesis import strategies as st

from scanhook.schedules import parse_recurrence

ZONES = [
    "UTC",
    "Europe/Stockholm",
    "America/New_York",
    "Australia/Lord_Howe",
    "Pacific/Apia",
    "Asia/Kolkata",
]
AROUND = [
    datetime(2026, 3, 29, 0, 0, tzinfo=UTC),
    datetime(2026, 10, 25, 0, 0, tzinfo=UTC),
    datetime(2026, 3, 8, 6, 0, tzinfo=UTC),
    datetime(2026, 11, 1, 5, 0, tzinfo=UTC),
    datetime(2026, 4, 4, 14, 0, tzinfo=UTC),
    datetime(2026, 10, 3, 15, 0, tzinfo=UTC),
    datetime(2011, 12, 29, 10, 0, tzinfo=UTC),
]
cron = st.sampled_from(
    ["* * * * *", "*/7 * * * *", "30 * * * *", "30 2 * * *", "0,30 1-3 * * *", "45 23 * * *"]
)


@settings(max_examples=80, deadline=None)
@given(
    text=cron,
    zone=st.sampled_from(ZONES),
    around=st.sampled_from(AROUND),
    shift=st.integers(min_value=-36 * 60, max_value=36 * 60),
)
def test_a_late_start_finds_what_an_early_start_finds(
    text: str, zone: str, around: datetime, shift: int
) -> None:
    rule = parse_recurrence(text, zone)
    after = around + timedelta(minutes=shift)
    got = list(islice(rule.occurrences(after), 20))
    early = rule.occurrences(after - timedelta(days=2))
    expected = list(islice((m for m in early if m > after), 20))
    assert got == expected
