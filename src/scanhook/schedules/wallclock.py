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
can coincide with one (02:30 → 03:30 = 03:30), :func:`instants` re-sorts and de-duplicates.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta, tzinfo

__all__ = ["instant", "instants"]

# A tzinfo's utcoffset is strictly less than a day (the datetime module enforces it), so a wall time
# w is always an instant later than w - 1 day read as UTC.
_MAX_OFFSET = timedelta(days=1)


def instant(wall: datetime, zone: tzinfo) -> datetime:
    """The UTC instant of the naive wall-clock time ``wall`` in ``zone`` (rules above)."""
    if wall.tzinfo is not None:
        raise ValueError("a wall-clock time is naive; got an aware datetime")
    return wall.replace(tzinfo=zone, fold=0).astimezone(UTC)


def instants(walls: Iterable[datetime], zone: tzinfo) -> Iterator[datetime]:
    """The UTC instants of ascending naive wall times ``walls``, ascending and without repeats.

    Lazy: it reads at most about a day of wall times ahead of what it yields.
    """
    pending: list[datetime] = []  # naive UTC instants, a heap
    last: datetime | None = None
    for wall in walls:
        heapq.heappush(pending, instant(wall, zone).replace(tzinfo=None))
        # Every later wall time w' >= wall is an instant > wall - 1 day, so anything at or before
        # that bound can be yielded now.
        bound = wall - _MAX_OFFSET
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
