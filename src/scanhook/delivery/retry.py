"""When to try a failed delivery again: durations, the retry schedule and ``Retry-After``."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from datetime import UTC
from email.utils import parsedate_to_datetime

from scanhook.durations import parse_duration, parse_whole_number

__all__ = [
    "DEFAULT_SCHEDULE",
    "RetryPolicy",
    "parse_duration",
    "parse_retry_after",
    "parse_schedule",
]

#: Delays after the first, second, … failed attempt (docs/operators.md).
DEFAULT_SCHEDULE = "5s,5m,30m,2h,5h,10h,10h"


def parse_schedule(text: str) -> tuple[float, ...]:
    """The delays of a comma-separated schedule such as ``5s,5m,30m``; each must be > 0."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError("retry schedule: empty; expected comma-separated durations, e.g. '5s,5m'")
    delays: list[float] = []
    for index, part in enumerate(text.split(","), start=1):
        if not part.strip():
            raise ValueError(f"retry schedule {text!r}: step {index} is empty")
        try:
            delay = parse_duration(part)
        except ValueError as exc:
            raise ValueError(f"retry schedule step {index}: {exc}") from None
        if delay <= 0:
            raise ValueError(f"retry schedule step {index}: {part.strip()!r} must be longer than 0")
        delays.append(delay)
    return tuple(delays)


def parse_retry_after(value: str, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (delta-seconds or an HTTP-date), never
    negative; None when the value is neither (or a number of more than 18 digits)."""
    text = value.strip()
    if not text or len(text) > 64:
        return None
    if text.isdigit():  # any digits: the ASCII ones of at most 18 are read, others are not
        seconds = parse_whole_number(text)
        return None if seconds is None else float(seconds)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:  # RFC 9110 dates are GMT; "-0000" parses as naive
        when = when.replace(tzinfo=UTC)
    try:
        return max(0.0, when.timestamp() - now)
    except (OverflowError, OSError, ValueError):
        return None


class RetryPolicy:
    """The delay before the next attempt, from a schedule with ± ``jitter`` (a fraction)."""

    __slots__ = ("_longest", "_rng", "jitter", "schedule")

    def __init__(
        self,
        schedule: Sequence[float] | str = DEFAULT_SCHEDULE,
        jitter: float = 0.2,
        rng: random.Random | None = None,
    ) -> None:
        steps = parse_schedule(schedule) if isinstance(schedule, str) else tuple(schedule)
        if not steps:
            raise ValueError("retry schedule: needs at least one step")
        for index, step in enumerate(steps, start=1):
            if not (math.isfinite(step) and step > 0):
                raise ValueError(f"retry schedule step {index}: {step!r} must be longer than 0")
        if not (math.isfinite(jitter) and 0 <= jitter < 1):
            raise ValueError(f"jitter: {jitter!r} must be at least 0 and below 1")
        self.schedule: tuple[float, ...] = steps
        self.jitter = float(jitter)
        self._longest = max(steps)
        self._rng = rng if rng is not None else random.Random()

    @property
    def max_attempts(self) -> int:
        """Attempts in all: the first one and one after every step."""
        return len(self.schedule) + 1

    def delay_after(self, attempt: int, retry_after: float | None = None) -> float | None:
        """Seconds to wait after failed attempt number ``attempt`` (1-based), or None when the
        schedule is exhausted. A ``retry_after`` replaces the scheduled delay, capped by the
        longest step; its jitter only ever lengthens it (up to that cap)."""
        if attempt < 1:
            raise ValueError(f"attempt: {attempt} must be 1 or more")
        if attempt > len(self.schedule):
            return None
        if retry_after is not None and math.isfinite(retry_after):
            base = min(max(retry_after, 0.0), self._longest)
            return min(base * (1.0 + self._rng.uniform(0.0, self.jitter)), self._longest)
        base = self.schedule[attempt - 1]
        return base * (1.0 + self._rng.uniform(-self.jitter, self.jitter))
