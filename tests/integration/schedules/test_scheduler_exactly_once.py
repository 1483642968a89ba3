"""Exactly once, downtime and changes: a restarted Hub and concurrent schedulers publish each
notice once (the unique key in storage, not memory); after downtime notices within the grace
window are sent and older ones are recorded as skipped; disabling, editing and deleting affect
only later notices; and a notice reaches a loopback receiver through the engine."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

import pytest
from engine_support import Receiver, receiving, wait_for
from schedkit import Clock, MakeHub, at, count_rows, notices, run_until, sent_keys
from standardwebhooks import Webhook

from scanhook.errors import NotFound
from scanhook.hub import Hub
from scanhook.notifications import ScheduledScan, encode
from scanhook.store import NewEvent
from scanhook.store.ids import new_id
from scanhook.store.schedule_records import NoticeRecord

HOURLY = {
    "name": "Hourly scan",
    "type": "network",
    "link": "https://sc.example.com/scans/schedules/view/7",
    "recurrence": "0 * * * *",
}


def _hm(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%H:%M")


def _log(records: list[NoticeRecord]) -> list[tuple[str, str, str]]:
    return [(_hm(n.send_at), n.lead, n.status) for n in records]


async def test_a_restarted_hub_publishes_nothing_twice(
    make_hub: MakeHub, clock: Clock, db_url: str
) -> None:
    first = make_hub()
    schedule = await first.add_schedule({**HOURLY, "leads": ["10m", "0s"]})
    before = sent_keys(await run_until(first, clock, "2026-03-01 02:00", step=300))
    assert len(before) == 4  # 00:50, 01:00, 01:50, 02:00
    await first.close()

    # A new process on the same database, at the same moment and later.
    second = make_hub()
    again = await second.run_scheduler_pass()
    assert again.sent == []
    assert again.skipped == []
    after = sent_keys(await run_until(second, clock, "2026-03-01 03:00", step=300))
    assert len(after) == 2  # 02:50, 03:00
    log = await notices(second, schedule.id)
    assert [n.key for n in log] == before + after
    assert count_rows(db_url, "events") == 6
    assert len({n.event_id for n in log}) == 6


async def test_the_unique_key_refuses_a_notice_recorded_before(hub: Hub, clock: Clock) -> None:
    """Two schedulers that computed the same notices from the same watermark (or one that
    restarts after a crash): the second records and publishes nothing."""
    schedule = await hub.add_schedule({**HOURLY, "leads": ["0s"]})
    clock.set("2026-03-01 01:00")
    record = await hub.store.get_schedule(schedule.id)
    key = f"{schedule.id}/20260301T010000Z/0s"

    async def attempt() -> list[NoticeRecord] | None:
        scan = ScheduledScan(
            name="Hourly scan",
            type="network",
            starts_at=datetime.fromtimestamp(clock.now, UTC),
            link=HOURLY["link"],
        )
        event = NewEvent(
            id=new_id("evt"),
            type="scheduled_scan",
            body=encode(scan),
            notification=scan,
            created_at=time.time(),
        )
        notice = NoticeRecord(
            key=key,
            schedule_id=schedule.id,
            occurrence=clock.now,
            lead="0s",
            lead_seconds=0,
            send_at=clock.now,
            status="sent",
            event_id=event.id,
            created_at=clock.now,
        )
        return await hub.store.record_notices(
            schedule.id, record.revision, [notice], [event], clock.now
        )

    first = await attempt()
    second = await attempt()
    assert first is not None
    assert [n.key for n in first] == [key]
    assert second == []
    assert len(await notices(hub, schedule.id)) == 1
    # A pass computing the same notice from the old watermark adds nothing either.
    assert (await hub.run_scheduler_pass()).sent == []


async def test_a_pass_computed_before_an_edit_records_nothing(hub: Hub, clock: Clock) -> None:
    schedule = await hub.add_schedule({**HOURLY, "leads": ["0s"]})
    stale = await hub.store.get_schedule(schedule.id)
    await hub.update_schedule(schedule.id, {"name": "Renamed"})
    result = await hub.store.record_notices(schedule.id, stale.revision, [], [], clock.now + 60)
    assert result is None
    assert (await hub.store.get_schedule(schedule.id)).notices_through == clock.now


async def test_catch_up_sends_within_the_grace_window_and_skips_older(
    make_hub: MakeHub, clock: Clock
) -> None:
    hub = make_hub(schedule_grace="90m")
    schedule = await hub.add_schedule({**HOURLY, "leads": ["0s"]})
    clock.set("2026-03-01 05:30")  # down since 00:00
    result = await hub.run_scheduler_pass()
    assert [_hm(n.send_at) for n in result.skipped] == ["01:00", "02:00", "03:00"]
    assert [_hm(n.send_at) for n in result.sent] == ["04:00", "05:00"]
    log = await notices(hub, schedule.id)
    assert _log(log) == [
        ("01:00", "0s", "skipped"),
        ("02:00", "0s", "skipped"),
        ("03:00", "0s", "skipped"),
        ("04:00", "0s", "sent"),
        ("05:00", "0s", "sent"),
    ]
    assert all(n.event_id is None for n in log[:3])
    assert all(n.event_id is not None for n in log[3:])


async def test_long_downtime_catches_up_in_bounded_passes(hub: Hub, clock: Clock) -> None:
    schedule = await hub.add_schedule({**HOURLY, "recurrence": "* * * * *", "leads": ["0s"]})
    clock.set("2026-03-02 00:00")  # a day of minutely notices: 1,440
    first = await hub.run_scheduler_pass()
    assert len(first.skipped) == 500
    assert first.sent == []
    while (await hub.run_scheduler_pass()).skipped:
        pass
    log = await notices(hub, schedule.id)
    assert len(log) == 1440
    assert sum(n.status == "sent" for n in log) == 61  # late by at most the grace (1h): 23:00-00:00


async def test_disable_and_edit_affect_only_later_notices(hub: Hub, clock: Clock) -> None:
    schedule = await hub.add_schedule({**HOURLY, "leads": ["0s"]})
    await run_until(hub, clock, "2026-03-01 01:00", step=600)
    clock.set("2026-03-01 01:10")
    await hub.update_schedule(schedule.id, {"enabled": False})
    assert await hub.next_notices(schedule.id, 3) == []
    assert sent_keys(await run_until(hub, clock, "2026-03-01 04:00", step=600)) == []
    clock.set("2026-03-01 04:10")
    await hub.update_schedule(schedule.id, {"enabled": True})
    # Nothing is caught up on re-enabling.
    assert (await hub.run_scheduler_pass()).sent == []
    clock.set("2026-03-01 05:40")  # 05:00 became due, but no pass ran yet
    # New lead: the 06:00 run's notice (05:30) is before the edit: not sent. What was due
    # before the edit under the old rule (05:00) is still sent.
    await hub.update_schedule(schedule.id, {"leads": ["30m"]})
    await run_until(hub, clock, "2026-03-01 07:00", step=600)
    assert _log(await notices(hub, schedule.id)) == [
        ("01:00", "0s", "sent"),
        ("05:00", "0s", "sent"),
        ("06:30", "30m", "sent"),
    ]
    # A change of name only does not move anything.
    before = await hub.store.get_schedule(schedule.id)
    renamed = await hub.update_schedule(schedule.id, {"name": "Renamed"})
    assert renamed.notices_through == before.notices_through
    assert renamed.spec.name == "Renamed"
    assert renamed.revision == before.revision + 1


async def test_delete_stops_notices_and_keeps_the_log(hub: Hub, clock: Clock) -> None:
    schedule = await hub.add_schedule({**HOURLY, "leads": ["0s"]})
    await run_until(hub, clock, "2026-03-01 02:00", step=600)
    await hub.delete_schedule(schedule.id)
    with pytest.raises(NotFound):
        await hub.get_schedule(schedule.id)
    with pytest.raises(NotFound):
        await hub.delete_schedule(schedule.id)
    with pytest.raises(NotFound):
        await hub.update_schedule(schedule.id, {"name": "x"})
    assert await hub.list_schedules() == []
    assert sent_keys(await run_until(hub, clock, "2026-03-01 05:00", step=600)) == []
    assert _log(await notices(hub, schedule.id)) == [
        ("01:00", "0s", "sent"),
        ("02:00", "0s", "sent"),
    ]
    with pytest.raises(NotFound):
        await hub.schedule_notices("sch_never")


async def test_concurrent_schedulers_publish_each_notice_once(
    make_hub: MakeHub, clock: Clock, db_url: str
) -> None:
    """Two Hubs (two schedulers, each with its own connections) on one database pass at the
    same moments; every notice is published by exactly one of them."""
    one, two = make_hub(), make_hub()
    await one.start()
    await two.start()
    for minute in (0, 7, 13):
        await one.add_schedule(
            {**HOURLY, "recurrence": f"{minute}/5 * * * *", "leads": ["0s", "2m"]}
        )
    sent: list[str] = []
    for _ in range(60):
        clock.advance(60)
        results = await asyncio.gather(*(h.run_scheduler_pass() for h in (one, two, one, two)))
        for result in results:
            sent.extend(n.key for n in result.sent)
    assert len(sent) == len(set(sent))
    # Two notices per run up to 01:00: runs 00:05…01:00 (12), 00:07…00:57 (11), 00:13…00:58
    # (10); the 00:00 run's notices were due at or before the schedules were created.
    assert len(sent) == (12 + 11 + 10) * 2
    assert count_rows(db_url, "events") == len(sent)
    assert count_rows(db_url, "schedule_notices") == len(sent)


async def test_a_notice_is_delivered_through_the_engine(hub: Hub, clock: Clock) -> None:
    receiver, tickets = Receiver(), Receiver()
    async with receiving(receiver, tickets):
        endpoint = await hub.add_endpoint(receiver.url, event_types=["scheduled_scan"])
        await hub.add_endpoint(tickets.url, event_types=["ticket.*"])
        schedule = await hub.add_schedule(
            {**HOURLY, "recurrence": "30 9 * * *", "leads": ["1h"], "timezone": "Europe/Stockholm"}
        )
        async with hub.run_workers():
            clock.set("2026-03-01 07:29")
            hub.scheduler.wake()
            await asyncio.sleep(0.3)
            assert receiver.hits == []
            clock.set("2026-03-01 07:30")  # 08:30 CET = one hour before 09:30 CET
            hub.scheduler.wake()
            await wait_for(lambda: len(receiver.hits) == 1, within=10)
            await asyncio.sleep(0.3)
    assert len(receiver.hits) == 1
    assert tickets.hits == []
    hit = receiver.hits[0]
    assert hit.body == (
        b'{"scheduled_scan": {"name": "Hourly scan", "type": "network", '
        b'"starts_at": "2026-03-01 08:30", '
        b'"link": "https://sc.example.com/scans/schedules/view/7"}}'
    )
    assert hit.headers["scanhook-event-type"] == "scheduled_scan"
    secret = endpoint.secrets[0].value
    Webhook(secret).verify(hit.body, hit.headers)
    (notice,) = await notices(hub, schedule.id)
    assert notice.status == "sent"
    assert notice.send_at == at("2026-03-01 07:30").timestamp()
    assert notice.event_id is not None
    event = await hub.store.get_event(notice.event_id)
    assert [(d.endpoint_id, d.status) for d in event.deliveries] == [(endpoint.id, "succeeded")]
