from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from scanhook.schedules.recurrence import (
    CronRecurrence,
    RRuleRecurrence,
    explicit_zone,
    parse_recurrence,
)

STOCKHOLM = "Europe/Stockholm"
NEW_YORK = "America/New_York"


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def local(moments: list[datetime], zone: str) -> list[str]:
    return [m.astimezone(ZoneInfo(zone)).strftime("%m-%d %H:%M%z") for m in moments]


DAILY_0230 = ["30 2 * * *", "DTSTART:20260101T023000\nRRULE:FREQ=DAILY"]


@pytest.mark.parametrize("text", DAILY_0230)
def test_spring_forward_in_stockholm_fires_at_the_shifted_wall_time(text: str) -> None:
    recurrence = parse_recurrence(text, STOCKHOLM)
    got = list(recurrence.occurrences(utc(2026, 3, 27), count=4))
    assert local(got, STOCKHOLM) == [
        "03-27 02:30+0100",
        "03-28 02:30+0100",
        "03-29 03:30+0200",  # 02:30 does not exist on 29 March 2026: one hour later
        "03-30 02:30+0200",
    ]
    assert got[2] == utc(2026, 3, 29, 1, 30)


@pytest.mark.parametrize("text", DAILY_0230)
def test_fall_back_in_stockholm_fires_once_at_the_first_0230(text: str) -> None:
    recurrence = parse_recurrence(text, STOCKHOLM)
    got = list(recurrence.occurrences(utc(2026, 10, 24), count=3))
    assert got == [utc(2026, 10, 24, 0, 30), utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 1, 30)]
    assert local(got, STOCKHOLM) == ["10-24 02:30+0200", "10-25 02:30+0200", "10-26 02:30+0100"]


@pytest.mark.parametrize(
    "text",
    [
        "30 2 * * *",
        "DTSTART;TZID=America/New_York:20260101T023000\nRRULE:FREQ=DAILY",
    ],
)
def test_spring_forward_in_new_york(text: str) -> None:
    got = list(parse_recurrence(text, NEW_YORK).occurrences(utc(2026, 3, 7), count=3))
    assert local(got, NEW_YORK) == ["03-07 02:30-0500", "03-08 03:30-0400", "03-09 02:30-0400"]


@pytest.mark.parametrize("text", ["30 1 * * *", "DTSTART:20260101T013000\nRRULE:FREQ=DAILY"])
def test_fall_back_in_new_york_fires_once(text: str) -> None:
    got = list(parse_recurrence(text, NEW_YORK).occurrences(utc(2026, 10, 31), count=3))
    # 01:30 happens twice on 1 November 2026 (05:30 and 06:30 UTC): only the first.
    assert got == [utc(2026, 10, 31, 5, 30), utc(2026, 11, 1, 5, 30), utc(2026, 11, 2, 6, 30)]


@pytest.mark.parametrize("text", ["30 * * * *", "DTSTART:20260101T003000\nRRULE:FREQ=HOURLY"])
def test_hourly_schedules_hit_each_wall_time_once_across_both_changes(text: str) -> None:
    recurrence = parse_recurrence(text, STOCKHOLM)
    spring = list(recurrence.occurrences(utc(2026, 3, 28, 23, 0), count=4))
    assert local(spring, STOCKHOLM) == [
        "03-29 00:30+0100",
        "03-29 01:30+0100",
        "03-29 03:30+0200",  # 02:30 → 03:30, the same instant as the real 03:30: once
        "03-29 04:30+0200",
    ]
    autumn = list(recurrence.occurrences(utc(2026, 10, 24, 23, 0), count=3))
    assert local(autumn, STOCKHOLM) == ["10-25 01:30+0200", "10-25 02:30+0200", "10-25 03:30+0100"]


def test_a_skipped_calendar_day_is_not_doubled() -> None:
    # Samoa skipped 30 December 2011 (UTC-10 → UTC+14): noon that day is noon on the 31st.
    got = list(
        parse_recurrence("0 12 * * *", "Pacific/Apia").occurrences(utc(2011, 12, 29), count=3)
    )
    assert local(got, "Pacific/Apia") == [
        "12-29 12:00-1000",
        "12-31 12:00+1400",
        "01-01 12:00+1400",
    ]


def test_occurrences_are_strictly_after_and_until_is_inclusive() -> None:
    recurrence = parse_recurrence("0 * * * *", "UTC")
    got = list(recurrence.occurrences(utc(2026, 5, 1, 10), until=utc(2026, 5, 1, 13)))
    assert got == [utc(2026, 5, 1, 11), utc(2026, 5, 1, 12), utc(2026, 5, 1, 13)]
    assert list(recurrence.occurrences(utc(2026, 5, 1, 10), count=0)) == []
    assert len(list(recurrence.occurrences(utc(2026, 5, 1), count=2, until=utc(2027, 1, 1)))) == 2


def test_an_unbounded_call_is_lazy() -> None:
    iterator = parse_recurrence("* * * * *", "UTC").occurrences(utc(2026, 1, 1))
    assert next(iterator) == utc(2026, 1, 1, 0, 1)
    assert next(iterator) == utc(2026, 1, 1, 0, 2)


def test_cron_weekdays_day_or_and_nicknames() -> None:
    weekdays = parse_recurrence("0 9 * * mon-fri", "UTC")
    got = list(weekdays.occurrences(utc(2026, 5, 1), count=3))  # Friday 1 May 2026
    assert got == [utc(2026, 5, 1, 9), utc(2026, 5, 4, 9), utc(2026, 5, 5, 9)]
    # Day of month and day of week both restricted: either matches (crontab(5)).
    either = parse_recurrence("0 0 13 * fri", "UTC")
    assert list(either.occurrences(utc(2026, 2, 12), count=3)) == [
        utc(2026, 2, 13),
        utc(2026, 2, 20),
        utc(2026, 2, 27),
    ]
    daily = parse_recurrence("@daily", "UTC")
    assert isinstance(daily, CronRecurrence)
    assert daily.expression == "0 0 * * *"
    assert daily.text == "@daily"


def test_rrule_weekly_from_the_contract_example() -> None:
    recurrence = parse_recurrence("DTSTART:20261201T023000\nRRULE:FREQ=WEEKLY;BYDAY=MO", STOCKHOLM)
    assert isinstance(recurrence, RRuleRecurrence)
    got = list(recurrence.occurrences(utc(2026, 1, 1), count=2))
    # 1 December 2026 is a Tuesday: the first Monday after it, 02:30 CET.
    assert got == [utc(2026, 12, 7, 1, 30), utc(2026, 12, 14, 1, 30)]


def test_rrule_count_until_and_exdate() -> None:
    counted = parse_recurrence("DTSTART:20260601T080000\nRRULE:FREQ=DAILY;COUNT=3", "UTC")
    assert list(counted.occurrences(utc(2026, 1, 1))) == [
        utc(2026, 6, 1, 8),
        utc(2026, 6, 2, 8),
        utc(2026, 6, 3, 8),
    ]
    text = (
        "DTSTART;TZID=Europe/Stockholm:20260601T080000\n"
        "RRULE:FREQ=DAILY;UNTIL=20260604T060000Z\n"
        "EXDATE:20260602T080000"
    )
    until = parse_recurrence(text, STOCKHOLM)
    assert local(list(until.occurrences(utc(2026, 1, 1))), STOCKHOLM) == [
        "06-01 08:00+0200",
        "06-03 08:00+0200",
        "06-04 08:00+0200",
    ]
    whole_day = parse_recurrence(
        "DTSTART:20260601T230000\nRRULE:FREQ=DAILY;UNTIL=20260602", STOCKHOLM
    )
    assert len(list(whole_day.occurrences(utc(2026, 1, 1)))) == 2


def test_the_documented_rrule_examples() -> None:
    fortnightly = parse_recurrence(
        "DTSTART;TZID=America/New_York:20260105T220000\nRRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=MO",
        NEW_YORK,
    )
    assert list(fortnightly.occurrences(utc(2026, 11, 1), count=2)) == [
        utc(2026, 11, 10, 3),  # Monday 9 November, 22:00 EST
        utc(2026, 11, 24, 3),
    ]
    last_weekday = parse_recurrence(
        "DTSTART:20260101T010000\nRRULE:FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1\n"
        "EXDATE:20261231T010000",
        "UTC",
    )
    assert list(last_weekday.occurrences(utc(2026, 11, 1), count=2)) == [
        utc(2026, 11, 30, 1),
        utc(2027, 1, 29, 1),  # Thursday 31 December 2026 is excluded
    ]


def test_rfc5545_text_is_case_insensitive_and_may_be_folded() -> None:
    recurrence = parse_recurrence(
        "dtstart:20260601T080000\r\nRRULE:FREQ=WEEKLY;\r\n BYDAY=MO,WE", "UTC"
    )
    assert list(recurrence.occurrences(utc(2026, 6, 1), count=2)) == [
        utc(2026, 6, 1, 8),
        utc(2026, 6, 3, 8),
    ]


def test_explicit_zone() -> None:
    assert explicit_zone("DTSTART;TZID=Europe/Stockholm:20260101T000000\nRRULE:FREQ=DAILY") == (
        "Europe/Stockholm"
    )
    assert explicit_zone("DTSTART:20260101T000000Z\nRRULE:FREQ=DAILY") == "UTC"
    assert explicit_zone("DTSTART:20260101T000000\nRRULE:FREQ=DAILY") is None
    assert explicit_zone("0 0 * * *") is None


@pytest.mark.parametrize(
    ("text", "tz", "problem"),
    [
        ("", "UTC", "empty"),
        ("30 2 * *", "UTC", "has 4 field"),
        ("0 30 2 * * *", "UTC", "has 6 field"),
        ("61 2 * * *", "UTC", "not a valid cron expression"),
        ("0 0 31 2 *", "UTC", "never happens"),
        ("H 2 * * *", "UTC", "hashed/random"),
        ("@reboot", "UTC", "unknown cron nickname"),
        ("RRULE:FREQ=DAILY", "UTC", "needs a DTSTART"),
        ("FREQ=DAILY", "UTC", "no ':'"),
        ("DTSTART:20260101T000000", "UTC", "at least one RRULE"),
        ("DTSTART:20260101T000000\nRRULE:BYDAY=MO", "UTC", "no FREQ"),
        ("DTSTART:20260101T000000\nRRULE:FREQ=FORTNIGHTLY", "UTC", "not valid"),
        ("DTSTART:20260101T000000\nRRULE:FREQ=SECONDLY", "UTC", "whole minutes"),
        ("DTSTART:20260101T000030\nRRULE:FREQ=DAILY", "UTC", "has seconds"),
        ("DTSTART:20260101\nRRULE:FREQ=DAILY", "UTC", "is a date"),
        ("DTSTART:20261301T000000\nRRULE:FREQ=DAILY", "UTC", "not a real date-time"),
        ("DTSTART:20260101T000000\nRRULE:FREQ=DAILY;COUNT=2;UNTIL=20270101", "UTC", "both COUNT"),
        ("DTSTART:20260101T000000\nDTSTART:20260101T000000\nRRULE:FREQ=DAILY", "UTC", "more than"),
        ("DTSTART:20260101T000000\nRDATE:20260105T000000\nRRULE:FREQ=DAILY", "UTC", "RDATE"),
        (
            "DTSTART;TZID=Mars/Olympus:20260101T000000\nRRULE:FREQ=DAILY",
            "UTC",
            "unknown IANA time zone 'Mars/Olympus'",
        ),
        (
            "DTSTART;TZID=Europe/Stockholm:20260101T000000\nRRULE:FREQ=DAILY",
            "America/New_York",
            "DTSTART is in Europe/Stockholm but the schedule's timezone is America/New_York",
        ),
        ("DTSTART:20260101T000000Z\nRRULE:FREQ=DAILY", STOCKHOLM, "DTSTART is in UTC"),
        ("0 2 * * *", "Europe/Nowhere", "unknown IANA time zone"),
    ],
)
def test_errors_say_what_is_wrong(text: str, tz: str, problem: str) -> None:
    with pytest.raises(ValueError, match=re.escape(problem)):
        parse_recurrence(text, tz)


def test_a_utc_dtstart_is_fine_for_a_utc_schedule() -> None:
    recurrence = parse_recurrence("DTSTART:20260101T000000Z\nRRULE:FREQ=DAILY", "UTC")
    assert recurrence.timezone == "UTC"


def test_naive_bounds_are_refused() -> None:
    recurrence = parse_recurrence("0 0 * * *", "UTC")
    with pytest.raises(ValueError, match="after must be a timezone-aware"):
        recurrence.occurrences(datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="until must be a timezone-aware"):
        recurrence.occurrences(utc(2026, 1, 1), until=datetime(2026, 2, 1))
