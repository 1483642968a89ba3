"""Sample notifications: valid, deterministic per seed, and plausible."""

from __future__ import annotations

import random
import re
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from scanhook.notifications import (
    EVENT_TYPES,
    FinishedScan,
    ScheduledScan,
    Ticket,
    encode,
    parse,
    sample,
    samples,
)
from scanhook.notifications.samples import DUE_DAYS, SAMPLE_KINDS, SEED_NOW, SEVERITY_WEIGHTS

NOW = datetime(2026, 5, 4, 13, 37, tzinfo=UTC)
HOST = re.compile(r"^[a-z0-9-]+\.[a-z0-9.-]+\.[a-z]+$")
OWNER = re.compile(r"^[a-z]+\.[a-z]+@example\.com$")


@pytest.mark.parametrize("kind", SAMPLE_KINDS)
def test_samples_are_valid_and_survive_the_wire(kind: str) -> None:
    notes = samples(kind, 60, seed=1)
    assert len(notes) == 60
    for note in notes:
        assert parse(encode(note)) == note


def test_same_seed_same_bytes_other_seed_other_bytes() -> None:
    first = [encode(n) for n in samples("mixed", 50, seed=42)]
    again = [encode(n) for n in samples("mixed", 50, seed=42)]
    other = [encode(n) for n in samples("mixed", 50, seed=43)]
    assert first == again
    assert first != other


def test_seeded_samples_are_anchored_at_a_fixed_time() -> None:
    for note in samples("finished_scan", 20, seed=5):
        assert isinstance(note, FinishedScan)
        assert note.finished <= SEED_NOW
        assert note.finished > SEED_NOW - timedelta(hours=2)


def test_unseeded_samples_happen_now() -> None:
    before = datetime.now(UTC) - timedelta(minutes=1)
    (note,) = samples("scheduled_scan", 1)
    assert isinstance(note, ScheduledScan)
    assert before < note.starts_at <= datetime.now(UTC) + timedelta(hours=25)


def test_sample_uses_the_given_rng_and_now() -> None:
    one = sample("ticket.opened", random.Random(3), now=NOW)
    two = sample("ticket.opened", random.Random(3), now=NOW)
    assert one == two
    assert isinstance(one, Ticket)
    assert one.due_date == NOW.date() + timedelta(days=DUE_DAYS[one.severity])


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("scheduled_scan", {"scheduled_scan"}),
        ("finished_scan", {"finished_scan"}),
        ("ticket", {"ticket.opened", "ticket.closed"}),
        ("ticket.opened", {"ticket.opened"}),
        ("ticket.closed", {"ticket.closed"}),
        ("mixed", set(EVENT_TYPES)),
    ],
)
def test_kinds_give_their_event_types(kind: str, expected: set[str]) -> None:
    assert {n.event_type for n in samples(kind, 200, seed=11)} == expected


def test_all_gives_each_event_type_in_turn() -> None:
    assert [n.event_type for n in samples("all", 8, seed=0)] == list(EVENT_TYPES) * 2


def test_unknown_kinds_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown sample kind 'tickets'"):
        samples("tickets", 1)
    with pytest.raises(ValueError, match="unknown notification type 'all'"):
        sample("all", random.Random(0))
    with pytest.raises(ValueError, match="count"):
        samples("ticket", -1)


def test_severities_follow_the_documented_distribution() -> None:
    tickets = [n for n in samples("ticket", 4000, seed=2024) if isinstance(n, Ticket)]
    counts = Counter(t.severity for t in tickets)
    total = sum(SEVERITY_WEIGHTS.values())
    for severity, weight in SEVERITY_WEIGHTS.items():
        share = counts[severity] / len(tickets)
        assert abs(share - weight / total) < 0.03, (severity, share)


def test_tickets_look_real() -> None:
    tickets = [n for n in samples("ticket", 500, seed=8) if isinstance(n, Ticket)]
    statuses = Counter(t.status for t in tickets)
    assert statuses["Open"] > 150
    assert statuses["Closed (Fixed)"] > 0.8 * (len(tickets) - statuses["Open"])
    assert all(HOST.match(t.asset_name) for t in tickets), [t.asset_name for t in tickets][:5]
    assert all(OWNER.match(t.owner) for t in tickets)
    assert all(t.asset_link.startswith("https://sc.example.com/assets/view/") for t in tickets)
    assert any("CVE-2021-44228" in t.vulnerability_name for t in tickets)
    critical = {t.vulnerability_name for t in tickets if t.severity == "Critical"}
    info = {t.vulnerability_name for t in tickets if t.severity == "Info"}
    assert critical
    assert info
    assert not critical & info
    assert len({t.number for t in tickets}) > 0.95 * len(tickets)


def test_due_dates_follow_severity() -> None:
    for note in samples("ticket.opened", 300, seed=9, now=NOW):
        assert isinstance(note, Ticket)
        days = (note.due_date - NOW.date()).days
        # samples spread over the hours before now: a ticket's day may be the day before
        assert days in (DUE_DAYS[note.severity] - 1, DUE_DAYS[note.severity])


def test_finished_scans_look_real() -> None:
    scans = [n for n in samples("finished_scan", 1000, seed=3) if isinstance(n, FinishedScan)]
    assert {s.type for s in scans} == {"network", "web application"}
    without_critical = sum(1 for s in scans if s.critical_cnt == 0)
    assert without_critical > 0.75 * len(scans)  # critical findings are rare
    assert sum(1 for s in scans if s.medium_cnt > 0) > 0.7 * len(scans)
    assert sum(1 for s in scans if s.low_cnt > 0) > 0.7 * len(scans)
    assert (
        sum(s.low_cnt for s in scans)
        > sum(s.high_cnt for s in scans)
        > sum(s.critical_cnt for s in scans)
    )
    with_errors = [s for s in scans if s.errors]
    assert 0.05 * len(scans) < len(with_errors) < 0.3 * len(scans)
    assert any("\n\n" in s.errors for s in with_errors)
    assert all(s.status in ("Completed", "Aborted") for s in scans)
    assert Counter(s.status for s in scans)["Completed"] > 0.9 * len(scans)
    hours = [int(s.duration.split(":")[0]) for s in scans]
    assert min(hours) == 0
    assert max(hours) >= 24  # a long web application scan now and then
    for s in scans:
        assert s.started <= s.finished
        minutes = int((s.finished - s.started).total_seconds()) // 60
        assert s.duration == f"{minutes // 60:02d}:{minutes % 60:02d}"
        assert s.link.startswith("https://sc.example.com/scans/scans/view/")


def test_scheduled_scans_start_ahead_on_a_quarter_hour() -> None:
    for note in samples("scheduled_scan", 200, seed=4, now=NOW):
        assert isinstance(note, ScheduledScan)
        assert NOW - timedelta(hours=11) < note.starts_at <= NOW + timedelta(hours=24, minutes=15)
        assert note.starts_at.minute % 15 == 0
        assert note.link.startswith("https://sc.example.com/scans/schedules/view/")
