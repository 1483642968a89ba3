"""Wire formats of time: ``YYYY-MM-DD HH:MM`` timestamps, ``YYYY-MM-DD`` dates, ``HH:MM`` durations.

Timestamps are held as aware UTC datetimes cut to the minute (the wire has no seconds), read and
written in a display time zone (default UTC). A naive input is a time in the display zone.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "WIRE_DATE_PATTERN",
    "WIRE_DURATION_PATTERN",
    "WIRE_TIMESTAMP_PATTERN",
    "format_date",
    "format_duration",
    "format_timestamp",
    "load_zone",
    "parse_date",
    "parse_duration",
    "parse_timestamp",
]

# ASCII digits only: ``\d`` would also match other scripts' digits in Python.
WIRE_TIMESTAMP_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}$"
WIRE_DATE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
WIRE_DURATION_PATTERN = r"^[0-9]{2,}:[0-5][0-9]$"
_WIRE_TIMESTAMP = re.compile(WIRE_TIMESTAMP_PATTERN)
_WIRE_DATE = re.compile(WIRE_DATE_PATTERN)
_DURATION = re.compile(WIRE_DURATION_PATTERN)


def load_zone(name: str) -> tzinfo:
    """The IANA time zone ``name``; ValueError names it when it does not exist."""
    if name.upper() == "UTC":
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown IANA time zone {name!r}") from exc


def parse_timestamp(value: object, tz: tzinfo = UTC) -> datetime:
    """A timestamp from the wire format, ISO 8601 (with or without a zone) or a ``datetime``.

    Naive values are read in ``tz``. The result is aware, in UTC, cut to the minute.
    """
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        text = value.strip()
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(
                f"{value!r} is not a timestamp: expected 'YYYY-MM-DD HH:MM' or ISO 8601"
            ) from None
        if not _WIRE_TIMESTAMP.match(text) and "T" not in text and " " not in text:
            raise ValueError(f"{value!r} is a date, not a timestamp: expected 'YYYY-MM-DD HH:MM'")
    else:
        raise ValueError(f"expected a timestamp string, got {type(value).__name__}")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    try:
        return moment.astimezone(UTC).replace(second=0, microsecond=0)
    except OverflowError:
        raise ValueError(f"{value!r} is out of the range of timestamps") from None


def format_timestamp(value: datetime, tz: tzinfo = UTC) -> str:
    """``value`` in the wire format, in the display zone ``tz``."""
    local = value.astimezone(tz)
    # Not strftime: its %Y does not pad years before 1000 on every platform.
    return f"{local.year:04d}-{local.month:02d}-{local.day:02d} {local.hour:02d}:{local.minute:02d}"


def parse_date(value: object) -> date:
    """A date from ``YYYY-MM-DD`` or a ``date`` (a ``datetime`` is refused: it is not a date)."""
    if isinstance(value, datetime):
        raise ValueError("expected a date 'YYYY-MM-DD', got a timestamp")
    if isinstance(value, date):
        return value
    if isinstance(value, str) and _WIRE_DATE.fullmatch(value.strip()):
        try:
            return date.fromisoformat(value.strip())
        except ValueError as exc:
            raise ValueError(f"{value!r} is not a real date: {exc}") from None
    raise ValueError(f"{value!r} is not a date: expected 'YYYY-MM-DD'")


def format_date(value: date) -> str:
    """``value`` as ``YYYY-MM-DD``."""
    return value.isoformat()


def format_duration(value: timedelta) -> str:
    """``HH:MM``, hours zero-padded to two digits and not wrapped at 24."""
    minutes = int(value.total_seconds()) // 60
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def parse_duration(value: object) -> str:
    """A duration in the wire format from ``HH:MM`` or a ``timedelta``."""
    if isinstance(value, timedelta):
        if value < timedelta(0):
            raise ValueError("a duration cannot be negative")
        return format_duration(value)
    if isinstance(value, str) and _DURATION.fullmatch(value):
        return value
    raise ValueError(f"{value!r} is not a duration: expected 'HH:MM' such as '00:57' or '27:05'")
