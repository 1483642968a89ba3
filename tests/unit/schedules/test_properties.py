"""Properties that must hold for any schedule, zone and sequence of scheduler passes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from scanhook.schedules import Plan, due_notices, parse_recurrence

ZONES = ["UTC", "Europe/Stockholm", "America/New_York", "Australia/Lord_Howe", "Pacific/Apia"]
START = datetime(2026, 3, 20, tzinfo=UTC)

cron = st.builds(
    lambda minute, hour: f"{minute} {hour} * * *",
    st.sampled_from(["0", "30", "*/20", "15,45"]),
    st.sampled_from(["*", "1", "2", "3", "1-3", "*/5"]),
)
leads = st.lists(st.sampled_from(["0s", "10m", "1h", "2h", "24h", "3d"]), min_size=1, unique=True)
steps = st.lists(st.integers(min_value=1, max_value=600), min_size=1, max_size=40)


@settings(max_examples=60, deadline=None)
@given(text=cron, zone=st.sampled_from(ZONES), offset_days=st.sampled_from([0, 212]))
def test_occurrences_strictly_increase(text: str, zone: str, offset_days: int) -> None:
    after = START + timedelta(days=offset_days)  # around the March and the October changes
    got = list(parse_recurrence(text, zone).occurrences(after, until=after + timedelta(days=15)))
    assert got
    assert all(a < b for a, b in pairwise(got))
    assert all(m > after and m.tzinfo is UTC and m.second == 0 for m in got)


@settings(max_examples=60, deadline=None)
@given(text=cron, zone=st.sampled_from(ZONES), lead_texts=leads, minutes=steps)
def test_passes_over_any_partition_send_each_notice_once(
    text: str, zone: str, lead_texts: list[str], minutes: list[int]
) -> None:
    plan = Plan.build("sch_p", parse_recurrence(text, zone), lead_texts)
    since = START + timedelta(days=8)  # 28 March: the passes straddle Europe's spring change
    grace = timedelta(days=366)  # the whole window is within grace, so nothing is skipped
    sent = []
    now = since
    for step in minutes:
        now += timedelta(minutes=step * 7)
        due = due_notices(plan, since=since, now=now, grace=grace)
        assert due.skipped == []
        sent.extend(due.to_send)
        since = now
    whole = due_notices(plan, since=START + timedelta(days=8), now=now, grace=grace)
    assert [n.key for n in sent] == [n.key for n in whole.to_send]
    assert len({n.key for n in sent}) == len(sent)
