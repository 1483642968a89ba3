from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from scanhook.schedules.wallclock import instant, instants

STOCKHOLM = ZoneInfo("Europe/Stockholm")


def test_a_nonexistent_wall_time_moves_forward_by_the_gap() -> None:
    # 2026-03-29 02:00 CET → 03:00 CEST: 02:30 is read with +01:00, i.e. 03:30 CEST.
    assert instant(datetime(2026, 3, 29, 2, 30), STOCKHOLM) == datetime(
        2026, 3, 29, 1, 30, tzinfo=UTC
    )


def test_a_repeated_wall_time_is_its_first_occurrence() -> None:
    # 2026-10-25 03:00 CEST → 02:00 CET: 02:30 happens at 00:30 and 01:30 UTC; the first wins.
    assert instant(datetime(2026, 10, 25, 2, 30), STOCKHOLM) == datetime(
        2026, 10, 25, 0, 30, tzinfo=UTC
    )


def test_instants_resorts_and_deduplicates_across_the_gap() -> None:
    walls = [datetime(2026, 3, 29, 1, 45)] + [
        datetime(2026, 3, 29, hour, minute) for hour in (2, 3) for minute in (0, 15, 30, 45)
    ]
    got = [m.astimezone(STOCKHOLM).strftime("%H:%M%z") for m in instants(walls, STOCKHOLM)]
    # 02:00–02:45 do not exist and become 03:00–03:45 CEST, the same instants as the real ones.
    assert got == ["01:45+0100", "03:00+0200", "03:15+0200", "03:30+0200", "03:45+0200"]


def test_instant_refuses_an_aware_time() -> None:
    with pytest.raises(ValueError, match="naive"):
        instant(datetime(2026, 1, 1, tzinfo=UTC), STOCKHOLM)
