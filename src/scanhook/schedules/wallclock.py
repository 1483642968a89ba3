"""From local wall-clock times to instants, the way a calendar does it across DST changes.

Recurrences are computed as wall-clock times in the schedule's zone ("every day at 02:30"); this
module turns them into UTC instants:

- a wall time that happens once is that instant;
- a wall time that happens twice (the fall-back hour) is the *first* of the two
  (PEP 495 ``fold=0``);
- a wall time that does not exist (the spring-forward gap) is read with the UTC offset in force
  *before* the gap, i.e. it moves forward by the length of the gap: 02:30 on a day whose clocks jump
  from 02:00 to 03:00 becomes 03:30 (RFC 5545 §3.3.5, and what calendar applications show).

Because a shifted wall time can land after a later, real one (02:45 → 03:45 comes after 03:00), and
can coincide with one (02:30 → 03:30 = 03:30), :func:`instants` re-sorts and de-duplicates. It reads
only as far ahead as the zone's offsets can reorder (:func:`offset_bounds`: an hour around a DST
change, nothing in UTC), so the next instant of an every-minute rule costs a few wall times, not a
day of them.
"""

from __future__ import annotations

import functools
import heapq
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta, tzinfo

__all__ = ["instant", "instants", "offset_bounds"]

# A tzinfo's utcoffset is strictly less than a day (the datetime module enforces it), so a wall time
# w is always an instant later than w - 1 day read as UTC.
_MAX_OFFSET = timedelta(days=1)
#: offset_bounds looks this far either side of a wall time, sampling every _SAMPLE (no zone in the
#: tz database keeps an offset for less than that).
_WINDOW = timedelta(days=2)
_SAMPLE = timedelta(minutes=30)
_HOUR = timedelta(hours=1)


@functools.lru_cache(maxsize=4096)
def _bounds(zone: tzinfo, hour: datetime) -> tuple[timedelta, timedelta]:
    offsets: list[timedelta] = []
    moment = hour - _WINDOW
    while moment <= hour + _WINDOW + _HOUR:
        for fold in (0, 1):
            offset = moment.replace(tzinfo=zone, fold=fold).utcoffset()
            if offset is None:  # pragma: no cover - every zone scanhook loads has offsets
                raise ValueError(f"zone {zone!r} has no UTC offset at {moment}")
            offsets.append(offset)
        moment += _SAMPLE
    return min(offsets), max(offsets)


def offset_bounds(wall: datetime, zone: tzinfo) -> tuple[timedelta, timedelta]:
    """The lowest and highest UTC offset of ``zone`` at wall times within two days of the naive
    ``wall`` (e.g. +01:00 and +02:00 near a Stockholm DST change; equal in UTC)."""
    return _bounds(zone, wall.replace(minute=0, second=0, microsecond=0, fold=0))


def instant(wall: datetime, zone: tzinfo) -> datetime:
    """The UTC instant of the naive wall-clock time ``wall`` in ``zone`` (rules above)."""
    if wall.tzinfo is not None:
        raise ValueError("a wall-clock time is naive; got an aware datetime")
    return wall.replace(tzinfo=zone, fold=0).astimezone(UTC)


def instants(walls: Iterable[datetime], zone: tzinfo) -> Iterator[datetime]:
    """The UTC instants of ascending naive wall times ``walls``, ascending and without repeats.

    Lazy: it reads ahead of what it yields only as far as the zone's offsets can reorder wall
    times (the spread of :func:`offset_bounds`; nothing in a zone without DST).
    """
    pending: list[datetime] = []  # naive UTC instants, a heap
    last: datetime | None = None
    for wall in walls:
        heapq.heappush(pending, instant(wall, zone).replace(tzinfo=None))
        # A later wall time w' >= wall within two days has an offset of at most `high`, so it is
        # an instant >= wall - high; one further on is an instant > w' - 1 day > wall + 1 day.
        # Anything at or before that bound can be yielded now.
        _, high = offset_bounds(wall, zone)
        bound = wall - min(high, _MAX_OFFSET)
        while pending and pending[0] <= bound:
            moment = heapq.heappop(pending)
            if moment != last:
                last = moment
                yield moment.replace(tzinfo=UTC)
    while pending:
        moment = heapq.heappop(pending)
        if moment != last:
            last = moment
            yield moment.replace(tzinfo=UTC)
