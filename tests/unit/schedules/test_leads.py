from __future__ import annotations

from datetime import timedelta

import pytest

from scanhook.schedules.leads import MAX_LEAD, Lead, parse_lead


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0s", timedelta(0)),
        ("30s", timedelta(seconds=30)),
        ("15m", timedelta(minutes=15)),
        ("1h", timedelta(hours=1)),
        ("24h", timedelta(days=1)),
        ("2d", timedelta(days=2)),
        ("3600", timedelta(hours=1)),
        ("1h30m", timedelta(minutes=90)),
        ("1.5h", timedelta(minutes=90)),
        ("366d", MAX_LEAD),
    ],
)
def test_parse_lead_accepts_durations(text: str, expected: timedelta) -> None:
    assert parse_lead(text) == expected
    assert Lead.parse(text) == Lead(text, int(expected.total_seconds()))


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("1x", "cannot read '1x'"),
        ("-1h", "cannot read '-1h'"),
        ("1w", "cannot read '1w'"),
        ("", "empty"),
        ("0.2s", "whole number of seconds"),
        ("367d", "longer than the longest lead"),
        (3600, "got int"),
        (None, "got NoneType"),
    ],
)
def test_parse_lead_says_what_is_wrong(value: object, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        parse_lead(value)


def test_lead_keeps_the_text_as_given() -> None:
    lead = Lead.parse("60m")
    assert lead.text == "60m"
    assert lead.seconds == 3600
    assert lead.delta == timedelta(hours=1)
