from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from scanhook.notifications import encode, parse
from scanhook.schedules import (
    DEFAULT_GRACE,
    Notice,
    Plan,
    ScheduleSpec,
    due_notices,
    notice_key,
    parse_patch,
    parse_recurrence,
    parse_schedule,
    render_next,
    to_notification,
    upcoming_notices,
)

STOCKHOLM = ZoneInfo("Europe/Stockholm")


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def spec(**changes: Any) -> ScheduleSpec:
    data: dict[str, Any] = {
        "name": "Nightly scan",
        "type": "network",
        "link": "https://sc.example.com/scans/schedules/view/42",
        "recurrence": "30 2 * * *",
        "timezone": "Europe/Stockholm",
    }
    data.update(changes)
    return parse_schedule(data)


def plan(**changes: Any) -> Plan:
    return Plan.from_spec("sch_1", spec(**changes))


def triples(notices: list[Notice]) -> list[tuple[str, str, str]]:
    return [
        (
            f"{n.send_at.astimezone(STOCKHOLM):%m-%d %H:%M}",
            f"{n.occurrence.astimezone(STOCKHOLM):%m-%d %H:%M}",
            n.lead,
        )
        for n in notices
    ]


@pytest.mark.parametrize("recurrence", ["30 2 * * *", "DTSTART:20260101T023000\nRRULE:FREQ=DAILY"])
def test_upcoming_merges_occurrences_and_leads_in_send_order(recurrence: str) -> None:
    got = upcoming_notices(
        plan(recurrence=recurrence, leads=["24h", "1h", "0s"]), after=utc(2026, 5, 1), count=7
    )
    # After midnight UTC (02:00 CEST): today's 02:30 run's 1h notice is past, its 0s one is not.
    assert triples(got) == [
        ("05-01 02:30", "05-01 02:30", "0s"),
        ("05-01 02:30", "05-02 02:30", "24h"),
        ("05-02 01:30", "05-02 02:30", "1h"),
        ("05-02 02:30", "05-02 02:30", "0s"),
        ("05-02 02:30", "05-03 02:30", "24h"),
        ("05-03 01:30", "05-03 02:30", "1h"),
        ("05-03 02:30", "05-03 02:30", "0s"),
    ]
    assert all(n.send_at == n.occurrence - timedelta(seconds=n.lead_seconds) for n in got)
    assert [n.order for n in got] == sorted(n.order for n in got)


def test_leads_longer_than_the_period() -> None:
    hourly = plan(recurrence="0 * * * *", timezone="UTC", leads=["3h", "30m"])
    got = upcoming_notices(hourly, after=utc(2026, 5, 1, 12), count=6)
    assert [(n.send_at, n.occurrence, n.lead) for n in got] == [
        (utc(2026, 5, 1, 12, 30), utc(2026, 5, 1, 13), "30m"),
        (utc(2026, 5, 1, 13), utc(2026, 5, 1, 16), "3h"),
        (utc(2026, 5, 1, 13, 30), utc(2026, 5, 1, 14), "30m"),
        (utc(2026, 5, 1, 14), utc(2026, 5, 1, 17), "3h"),
        (utc(2026, 5, 1, 14, 30), utc(2026, 5, 1, 15), "30m"),
        (utc(2026, 5, 1, 15), utc(2026, 5, 1, 18), "3h"),
    ]
    # Every (occurrence, lead) is there once: the 3h notices of 13:00–15:00 were sent before 12:00.
    assert len({n.key for n in got}) == 6


def test_upcoming_across_spring_forward_with_a_24h_lead() -> None:
    got = upcoming_notices(plan(leads=["24h"]), after=utc(2026, 3, 27, 12), count=3)
    # 24h (elapsed time) before 03:30 CEST on the 29th is 02:30 CET on the 28th; the 28th's own
    # 24h notice (27th, 01:30 UTC) is before `after`.
    assert [(n.send_at, n.occurrence) for n in got] == [
        (utc(2026, 3, 28, 1, 30), utc(2026, 3, 29, 1, 30)),
        (utc(2026, 3, 29, 0, 30), utc(2026, 3, 30, 0, 30)),
        (utc(2026, 3, 30, 0, 30), utc(2026, 3, 31, 0, 30)),
    ]


def test_disabled_schedule_yields_nothing() -> None:
    off = plan(enabled=False)
    assert upcoming_notices(off, after=utc(2026, 5, 1), count=10) == []
    assert due_notices(off, since=utc(2026, 5, 1), now=utc(2026, 6, 1)) == ([], [])


def test_count_must_be_a_non_negative_integer() -> None:
    assert upcoming_notices(plan(), after=utc(2026, 5, 1), count=0) == []
    with pytest.raises(ValueError, match="count must be an integer >= 0"):
        upcoming_notices(plan(), after=utc(2026, 5, 1), count=-1)


# --- the scheduler's passes -------------------------------------------------------------------


def test_due_notices_is_the_half_open_window_since_now() -> None:
    daily = plan(timezone="UTC", leads=["1h", "0s"])  # runs at 02:30 UTC
    at_0130 = due_notices(daily, since=utc(2026, 5, 1, 1), now=utc(2026, 5, 1, 1, 30))
    assert [(n.send_at, n.lead) for n in at_0130.to_send] == [(utc(2026, 5, 1, 1, 30), "1h")]
    assert at_0130.skipped == []
    # The next pass starts where this one ended: the 1h notice is not due again.
    later = due_notices(daily, since=utc(2026, 5, 1, 1, 30), now=utc(2026, 5, 1, 2, 30))
    assert [n.lead for n in later.to_send] == ["0s"]
    assert due_notices(daily, since=utc(2026, 5, 1, 3), now=utc(2026, 5, 1, 3)) == ([], [])


def test_a_clock_stepping_minute_by_minute_sends_each_notice_exactly_once() -> None:
    daily = plan(leads=["24h", "1h", "0s"])
    sent: list[str] = []
    since = utc(2026, 3, 27)
    now = since
    while now < utc(2026, 3, 31):
        now += timedelta(minutes=7)
        due = due_notices(daily, since=since, now=now)
        assert due.skipped == []
        sent.extend(n.key for n in due.to_send)
        since = now
    assert len(sent) == len(set(sent))
    expected = [
        n.key
        for n in upcoming_notices(daily, after=utc(2026, 3, 27), count=100)
        if n.send_at <= now
    ]
    assert sent == expected
    # Runs of 27–30 March × 3 leads, less the 27th's 24h notice (sent on the 26th), plus the 24h
    # and 1h notices of the 31st's run (00:30 UTC, after the last pass at 00:01).
    assert len(sent) == 4 * 3 - 1 + 2


def test_catch_up_within_and_beyond_the_grace_window() -> None:
    hourly = plan(recurrence="0 * * * *", timezone="UTC", leads=["0s"])
    # Down from 10:30 to 14:20: the 11:00–13:00 notices are over an hour late, 14:00 is not.
    due = due_notices(hourly, since=utc(2026, 5, 1, 10, 30), now=utc(2026, 5, 1, 14, 20))
    assert [n.occurrence.hour for n in due.skipped] == [11, 12, 13]
    assert [n.occurrence.hour for n in due.to_send] == [14]
    # Exactly `grace` late is still sent; a custom grace widens the window.
    edge = due_notices(hourly, since=utc(2026, 5, 1, 10, 30), now=utc(2026, 5, 1, 14))
    assert [n.occurrence.hour for n in edge.to_send] == [13, 14]
    assert timedelta(hours=1) == DEFAULT_GRACE
    wide = due_notices(
        hourly,
        since=utc(2026, 5, 1, 10, 30),
        now=utc(2026, 5, 1, 14, 20),
        grace=timedelta(hours=3),
    )
    assert [n.occurrence.hour for n in wide.to_send] == [12, 13, 14]
    none = due_notices(
        hourly, since=utc(2026, 5, 1, 10, 30), now=utc(2026, 5, 1, 14, 20), grace=timedelta(0)
    )
    assert none.to_send == []


def test_due_across_the_autumn_change_announces_the_repeated_hour_once() -> None:
    daily = plan(leads=["1h", "0s"])
    due = due_notices(
        daily, since=utc(2026, 10, 24, 12), now=utc(2026, 10, 26, 12), grace=timedelta(days=3)
    )
    assert triples(due.to_send) == [
        ("10-25 01:30", "10-25 02:30", "1h"),
        ("10-25 02:30", "10-25 02:30", "0s"),
        ("10-26 01:30", "10-26 02:30", "1h"),
        ("10-26 02:30", "10-26 02:30", "0s"),
    ]


def test_editing_a_recurrence_affects_only_notices_after_the_edit() -> None:
    before = spec(timezone="UTC", leads=["24h", "0s"])
    edited_at = utc(2026, 5, 1, 12)
    after = parse_patch({"recurrence": "0 18 * * *"}).apply(before)
    old, new = Plan.from_spec("sch_1", before), Plan.from_spec("sch_1", after)
    # The scheduler ran the old rule up to the edit, then the new rule from the edit on.
    first = due_notices(old, since=utc(2026, 5, 1), now=utc(2026, 5, 1, 3))
    assert due_notices(old, since=utc(2026, 5, 1, 3), now=edited_at) == ([], [])
    second = due_notices(new, since=edited_at, now=utc(2026, 5, 3), grace=timedelta(days=2))
    assert [(n.occurrence, n.lead) for n in first.to_send] == [
        (utc(2026, 5, 1, 2, 30), "0s"),
        (utc(2026, 5, 2, 2, 30), "24h"),
    ]
    assert [(n.occurrence, n.lead) for n in second.to_send] == [
        (utc(2026, 5, 1, 18), "0s"),  # its 24h notice fell before the edit: not sent
        (utc(2026, 5, 2, 18), "24h"),
        (utc(2026, 5, 2, 18), "0s"),
        (utc(2026, 5, 3, 18), "24h"),
    ]
    assert all(n.send_at > edited_at for n in second.to_send)
    assert second.skipped == []


def test_naive_and_negative_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="since must be a timezone-aware"):
        due_notices(plan(), since=datetime(2026, 1, 1), now=utc(2026, 1, 2))
    with pytest.raises(ValueError, match="grace cannot be negative"):
        due_notices(plan(), since=utc(2026, 1, 1), now=utc(2026, 1, 2), grace=timedelta(-1))
    with pytest.raises(ValueError, match="after must be a timezone-aware"):
        upcoming_notices(plan(), after=datetime(2026, 1, 1), count=1)


# --- keys, notifications and rendering --------------------------------------------------------


def test_notice_keys_are_stable_and_unique() -> None:
    occurrence = utc(2026, 12, 7, 1, 30)
    key = notice_key("sch_1", occurrence, "1h")
    assert key == "sch_1/20261207T013000Z/3600s"
    # The same notice however it is written: another zone, the lead as seconds or as "60m".
    assert notice_key("sch_1", occurrence.astimezone(STOCKHOLM), 3600) == key
    assert notice_key("sch_1", occurrence, "60m") == key
    assert Notice("sch_1", occurrence, "1h", 3600).key == key
    # Different schedule, occurrence or lead: different key.
    assert (
        len(
            {
                key,
                notice_key("sch_2", occurrence, "1h"),
                notice_key("sch_1", occurrence + timedelta(minutes=1), "1h"),
                notice_key("sch_1", occurrence, "24h"),
                notice_key("sch_1", occurrence, "0s"),
            }
        )
        == 5
    )
    many = upcoming_notices(
        plan(recurrence="*/5 * * * *", leads=["1h", "5m", "0s"]), after=utc(2026, 5, 1), count=500
    )
    assert len({n.key for n in many}) == 500
    with pytest.raises(ValueError, match="schedule_id"):
        notice_key("", occurrence, "1h")
    with pytest.raises(ValueError, match="occurrence must be a timezone-aware"):
        notice_key("sch_1", datetime(2026, 1, 1), "1h")


def test_to_notification_starts_at_the_occurrence() -> None:
    schedule = spec(type="web application")
    notice = upcoming_notices(Plan.from_spec("sch_1", schedule), after=utc(2026, 5, 1), count=1)[0]
    notification = to_notification(schedule, notice)
    assert notification.starts_at == notice.occurrence
    assert json.loads(encode(notification, STOCKHOLM)) == {
        "scheduled_scan": {
            "name": "Nightly scan",
            "type": "web application",
            "starts_at": notice.occurrence.astimezone(STOCKHOLM).strftime("%Y-%m-%d %H:%M"),
            "link": "https://sc.example.com/scans/schedules/view/42",
        }
    }
    assert parse(encode(notification)) == notification


def test_render_next_has_the_contract_shape() -> None:
    notices = upcoming_notices(plan(leads=["1h"]), after=utc(2026, 3, 28, 12), count=2)
    assert render_next(notices) == {
        "notices": [
            {"send_at": "2026-03-29T00:30:00+00:00", "starts_at": "2026-03-29 01:30", "lead": "1h"},
            {"send_at": "2026-03-29T23:30:00+00:00", "starts_at": "2026-03-30 00:30", "lead": "1h"},
        ]
    }
    assert render_next(notices, STOCKHOLM)["notices"][0] == {
        "send_at": "2026-03-29T01:30:00+01:00",
        "starts_at": "2026-03-29 03:30",
        "lead": "1h",
    }


def test_plan_build_from_a_recurrence_and_leads() -> None:
    built = Plan.build("sch_9", parse_recurrence("0 12 * * *", "UTC"), ["2h"])
    assert [n.send_at for n in upcoming_notices(built, after=utc(2026, 5, 1), count=2)] == [
        utc(2026, 5, 1, 10),
        utc(2026, 5, 2, 10),
    ]
    with pytest.raises(ValueError, match="cannot read 'soon'"):
        Plan.build("sch_9", parse_recurrence("0 12 * * *", "UTC"), ["soon"])
