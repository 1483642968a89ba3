"""The scheduler on a real database (SQLite file, and PostgreSQL when configured) with a clock
the test moves: cron and RRULE schedules with several leads publish the right scheduled_scan
notifications at the right times, across DST changes, and wire timestamps use the display zone."""

from __future__ import annotations

from datetime import UTC, datetime

from schedkit import Clock, MakeHub, at, notices, payload, run_until, sent_keys

from scanhook.hub import Hub

LINK = "https://sc.example.com/scans/schedules/view/42"


def _schedule(recurrence: str, leads: list[str], **fields: object) -> dict[str, object]:
    return {
        "name": "Nightly network scan",
        "type": "network",
        "link": LINK,
        "recurrence": recurrence,
        "leads": leads,
        **fields,
    }


def _utc(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M")


async def test_cron_with_three_leads_publishes_each_notice_when_due(hub: Hub, clock: Clock) -> None:
    schedule = await hub.add_schedule(_schedule("0 12 * * *", ["24h", "1h", "0s"]))
    passes = await run_until(hub, clock, "2026-03-03 00:00", step=15 * 60)

    # Every notice was published by the pass at its send time, not before, not after.
    for moment, result in passes:
        for notice in result.sent:
            assert notice.send_at == moment
    sent = [n for _, r in passes for n in r.sent]
    assert [(_utc(n.send_at), _utc(n.occurrence), n.lead) for n in sent] == [
        # The 24h notice of the first run (28 Feb 12:00) was due before the schedule existed.
        ("2026-03-01 11:00", "2026-03-01 12:00", "1h"),
        ("2026-03-01 12:00", "2026-03-01 12:00", "0s"),
        ("2026-03-01 12:00", "2026-03-02 12:00", "24h"),
        ("2026-03-02 11:00", "2026-03-02 12:00", "1h"),
        ("2026-03-02 12:00", "2026-03-02 12:00", "0s"),
        ("2026-03-02 12:00", "2026-03-03 12:00", "24h"),
    ]
    assert all(n.status == "sent" and n.schedule_id == schedule.id for n in sent)
    for notice in sent:
        assert await payload(hub, notice.event_id) == {
            "name": "Nightly network scan",
            "type": "network",
            "starts_at": _utc(notice.occurrence),
            "link": LINK,
        }
    # The log holds exactly these, in send order.
    assert [n.key for n in await notices(hub, schedule.id)] == [n.key for n in sent]


async def test_rrule_in_a_zone_with_count_and_two_leads(hub: Hub, clock: Clock) -> None:
    # Mondays and Wednesdays 09:00 Stockholm (CET, UTC+1), three runs from Monday 2 March.
    schedule = await hub.add_schedule(
        _schedule(
            "DTSTART:20260302T090000\nRRULE:FREQ=WEEKLY;BYDAY=MO,WE;COUNT=3",
            ["2h", "30m"],
            timezone="Europe/Stockholm",
            type="web application",
        )
    )
    upcoming = await hub.next_notices(schedule.id, 3)
    assert [(n.send_at, n.lead) for n in upcoming] == [
        (at("2026-03-02 06:00"), "2h"),
        (at("2026-03-02 07:30"), "30m"),
        (at("2026-03-04 06:00"), "2h"),
    ]
    passes = await run_until(hub, clock, "2026-03-12 00:00", step=30 * 60)
    sent = [n for _, r in passes for n in r.sent]
    assert [(_utc(n.send_at), n.lead) for n in sent] == [
        ("2026-03-02 06:00", "2h"),
        ("2026-03-02 07:30", "30m"),
        ("2026-03-04 06:00", "2h"),
        ("2026-03-04 07:30", "30m"),
        ("2026-03-09 06:00", "2h"),
        ("2026-03-09 07:30", "30m"),
    ]
    for moment, result in passes:
        assert all(n.send_at == moment for n in result.sent)
    bodies = [await payload(hub, n.event_id) for n in sent]
    assert [b["starts_at"] for b in bodies] == [
        "2026-03-02 08:00",
        "2026-03-02 08:00",
        "2026-03-04 08:00",
        "2026-03-04 08:00",
        "2026-03-09 08:00",
        "2026-03-09 08:00",
    ]
    assert {b["type"] for b in bodies} == {"web application"}
    # COUNT=3 is exhausted: nothing more to come.
    assert await hub.next_notices(schedule.id, 5) == []


async def test_spring_forward_in_stockholm(make_hub: MakeHub, clock: Clock) -> None:
    """02:30 does not exist on 29 March 2026: the run is at 03:30 CEST, and the 24h lead
    before it is 24 elapsed hours. Wire timestamps are in the display zone (Stockholm here)."""
    hub = make_hub(display_timezone="Europe/Stockholm")
    clock.set("2026-03-27 00:00")
    schedule = await hub.add_schedule(
        _schedule("30 2 * * *", ["24h", "0s"], timezone="Europe/Stockholm")
    )
    passes = await run_until(hub, clock, "2026-03-31 00:00", step=30 * 60)
    sent = [n for _, r in passes for n in r.sent]
    at_start = [n for n in sent if n.lead == "0s"]
    assert [_utc(n.occurrence) for n in at_start] == [
        "2026-03-27 01:30",
        "2026-03-28 01:30",
        "2026-03-29 01:30",  # 03:30 CEST
        "2026-03-30 00:30",
    ]
    assert [(await payload(hub, n.event_id))["starts_at"] for n in at_start] == [
        "2026-03-27 02:30",
        "2026-03-28 02:30",
        "2026-03-29 03:30",
        "2026-03-30 02:30",
    ]
    day_ahead = {_utc(n.occurrence): _utc(n.send_at) for n in sent if n.lead == "24h"}
    assert day_ahead["2026-03-29 01:30"] == "2026-03-28 01:30"  # 02:30 CET on 28 March
    assert day_ahead["2026-03-30 00:30"] == "2026-03-29 00:30"
    assert len(await notices(hub, schedule.id)) == len(sent)


async def test_fall_back_in_stockholm_runs_once(make_hub: MakeHub, clock: Clock) -> None:
    """02:30 happens twice on 25 October 2026: the run is once, at the first (CEST)."""
    hub = make_hub(display_timezone="Europe/Stockholm")
    clock.set("2026-10-23 00:00")
    await hub.add_schedule(_schedule("30 2 * * *", ["0s"], timezone="Europe/Stockholm"))
    passes = await run_until(hub, clock, "2026-10-27 00:00", step=30 * 60)
    sent = [n for _, r in passes for n in r.sent]
    assert [_utc(n.occurrence) for n in sent] == [
        "2026-10-23 00:30",
        "2026-10-24 00:30",
        "2026-10-25 00:30",  # 02:30 CEST; not again at 02:30 CET (01:30 UTC)
        "2026-10-26 01:30",
    ]
    assert [(await payload(hub, n.event_id))["starts_at"] for n in sent] == [
        "2026-10-23 02:30",
        "2026-10-24 02:30",
        "2026-10-25 02:30",
        "2026-10-26 02:30",
    ]
    assert len(set(sent_keys(passes))) == 4
