"""Recurrences: when a schedule's scans start, as a five-field cron expression or RFC 5545 text.

Both kinds are computed as wall-clock times in one IANA zone and turned into UTC instants by
:mod:`scanhook.schedules.wallclock` (DST: a nonexistent time moves forward by the gap, a repeated
time happens once, at its first occurrence).

Cron (``"30 2 * * *"``): minute, hour, day of month, month, day of week, as in crontab(5), with
day-of-month and day-of-week OR-ed when both are restricted; the nicknames ``@yearly``,
``@annually``, ``@monthly``, ``@weekly``, ``@daily``, ``@midnight`` and ``@hourly`` stand for their
five fields. Hashed (``H``) and random (``R``) fields and seconds/year fields are refused.

RFC 5545 text (``"DTSTART:20261201T023000\\nRRULE:FREQ=WEEKLY;BYDAY=MO"``): one ``DTSTART``
(required: it fixes the time of day and the earliest date; it is itself an occurrence only when it
matches the rule), one or more ``RRULE`` lines, and any ``EXDATE`` lines. ``DTSTART`` is floating
(read in the schedule's zone) or carries ``TZID=`` / a ``Z`` suffix, which must then name the
schedule's zone. ``UNTIL`` may be UTC (``…Z``), floating (schedule zone) or a date (through the end
of that local day). Occurrences are whole minutes: ``FREQ=SECONDLY``, ``BYSECOND`` and seconds in
``DTSTART`` are refused.
"""

from __future__ import annotations

import abc
import re
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta, tzinfo
from typing import Literal
from zoneinfo import ZoneInfo

from dateutil.rrule import rrule, rruleset, rrulestr

from scanhook.notifications.timefmt import load_zone
from scanhook.schedules.wallclock import instants, offset_bounds

__all__ = [
    "CronRecurrence",
    "RRuleRecurrence",
    "Recurrence",
    "explicit_zone",
    "parse_recurrence",
    "zone_name",
]

# Wall times from a minute before the earliest one whose instant can be after `after` are
# generated (see `_occurrences`), so that no reordering across a DST change hides an occurrence.
_MARGIN = timedelta(minutes=1)

_CRON_NICKNAMES = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_CRON_FIELDS = ("minute", "hour", "day of month", "month", "day of week")
_HASHED_OR_RANDOM = re.compile(r"^[HR](\(|/|$)", re.IGNORECASE)
_RFC5545_MARK = re.compile(r"\b(DTSTART|RRULE|EXDATE|RDATE|EXRULE)\b|FREQ=", re.IGNORECASE)
_DATETIME = re.compile(r"(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(Z?)")
_DATE = re.compile(r"(\d{4})(\d{2})(\d{2})")


def zone_name(zone: tzinfo) -> str:
    """The IANA name of ``zone`` (``"UTC"`` for UTC)."""
    if zone is UTC:
        return "UTC"
    if isinstance(zone, ZoneInfo):
        return zone.key
    return str(zone)


def _same_zone(a: tzinfo, b: tzinfo) -> bool:
    names = {zone_name(a), zone_name(b)}
    return len(names) == 1 or names <= {"UTC", "Etc/UTC", "Etc/UCT", "UCT", "Etc/Zulu", "Zulu"}


class Recurrence(abc.ABC):
    """When a schedule's scans start: a rule read in one time zone."""

    kind: Literal["cron", "rrule"]

    def __init__(self, text: str, zone: tzinfo) -> None:
        #: The recurrence as given.
        self.text = text
        #: The zone in which the rule's wall-clock times are read.
        self.zone = zone

    @property
    def timezone(self) -> str:
        """The IANA name of :attr:`zone`."""
        return zone_name(self.zone)

    @abc.abstractmethod
    def _walls(self, start: datetime) -> Iterator[datetime]:
        """Naive wall-clock times strictly after the naive ``start``, ascending."""

    def occurrences(
        self, after: datetime, *, count: int | None = None, until: datetime | None = None
    ) -> Iterator[datetime]:
        """Occurrences strictly after ``after`` as aware UTC datetimes, ascending, lazily.

        Stops after ``count`` occurrences and/or at ``until`` (inclusive); with neither it goes on
        for as long as the rule does. ``after`` and ``until`` must be aware.
        """
        _require_aware("after", after)
        if until is not None:
            _require_aware("until", until)
        if count is not None and count < 0:
            raise ValueError(f"count must be >= 0, got {count}")
        return self._occurrences(after.astimezone(UTC), count, until)

    def _occurrences(
        self, after: datetime, count: int | None, until: datetime | None
    ) -> Iterator[datetime]:
        if count == 0:
            return
        # A wall time w is the instant w - offset(w); it is after `after` only if
        # w > after + offset(w) >= after + the lowest offset near it.
        naive = after.replace(tzinfo=None)
        low, _ = offset_bounds(naive, self.zone)  # `naive` is within a day of its wall time
        start = naive + low - _MARGIN
        emitted = 0
        for moment in instants(self._walls(start), self.zone):
            if moment <= after:
                continue
            if until is not None and moment > until:
                return
            yield moment
            emitted += 1
            if count is not None and emitted >= count:
                return

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.text!r}, {self.timezone!r})"


def _require_aware(name: str, value: datetime) -> None:
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got {value!r}")


class CronRecurrence(Recurrence):
    """A five-field cron expression read in :attr:`zone`."""

    kind: Literal["cron", "rrule"] = "cron"

    def __init__(self, text: str, zone: tzinfo, expression: str) -> None:
        super().__init__(text, zone)
        #: The five fields (a nickname replaced by its fields).
        self.expression = expression

    def _walls(self, start: datetime) -> Iterator[datetime]:
        from croniter import croniter
        from croniter.croniter import CroniterBadDateError

        itr = croniter(self.expression, start, ret_type=datetime, day_or=True)
        while True:
            try:
                wall = itr.get_next(datetime)
            except CroniterBadDateError:
                return
            yield wall.replace(tzinfo=None)


class RRuleRecurrence(Recurrence):
    """RFC 5545 ``DTSTART``/``RRULE``/``EXDATE`` text read in :attr:`zone`."""

    kind: Literal["cron", "rrule"] = "rrule"

    def __init__(self, text: str, zone: tzinfo, rules: rruleset, dtstart: datetime) -> None:
        super().__init__(text, zone)
        self._rules = rules
        #: The first wall-clock time, naive.
        self.dtstart = dtstart

    def _walls(self, start: datetime) -> Iterator[datetime]:
        for value in self._rules.xafter(start.replace(tzinfo=self.zone)):
            if value.tzinfo is not self.zone:  # pragma: no cover - every rule is built in self.zone
                value = value.astimezone(self.zone)
            yield value.replace(tzinfo=None, fold=0)


def parse_recurrence(text: object, tz: str | tzinfo = "UTC") -> Recurrence:
    """The recurrence of ``text`` (cron or RFC 5545), read in the IANA zone ``tz``.

    Raises ValueError saying what is wrong with the text (or the zone).
    """
    zone = load_zone(tz) if isinstance(tz, str) else tz
    if not isinstance(text, str):
        raise ValueError(f"a recurrence is a string, got {type(text).__name__}")
    if not text.strip():
        raise ValueError("empty: expected a cron expression such as '30 2 * * *' or RFC 5545 text")
    if _RFC5545_MARK.search(text):
        return _parse_rfc5545(text, zone)
    return _parse_cron(text, zone)


def explicit_zone(text: str) -> str | None:
    """The zone named by an RFC 5545 ``DTSTART`` (its ``TZID``, or ``"UTC"`` for a ``Z`` time), if
    any; ``None`` for cron, floating times and text that does not parse."""
    if not isinstance(text, str) or not _RFC5545_MARK.search(text):
        return None
    for name, params, value in _lines(text):
        if name == "DTSTART":
            if "TZID" in params:
                return params["TZID"]
            if value.upper().endswith("Z"):
                return "UTC"
    return None


# --- cron -------------------------------------------------------------------------------------


def _parse_cron(text: str, zone: tzinfo) -> CronRecurrence:
    stripped = text.strip()
    expression = _CRON_NICKNAMES.get(stripped.lower(), stripped)
    if stripped.startswith("@") and expression is stripped:
        raise ValueError(
            f"unknown cron nickname {stripped!r}: expected one of " + ", ".join(_CRON_NICKNAMES)
        )
    fields = expression.split()
    if len(fields) != len(_CRON_FIELDS):
        raise ValueError(
            f"{text!r} has {len(fields)} field(s): a cron expression has five "
            f"({', '.join(_CRON_FIELDS)}), e.g. '30 2 * * *'; for other rules use RFC 5545 "
            "'DTSTART:…\\nRRULE:…'"
        )
    for name, field in zip(_CRON_FIELDS, fields, strict=True):
        if _HASHED_OR_RANDOM.match(field):
            raise ValueError(
                f"{text!r}: hashed/random cron fields ({field!r} in {name}) are not supported"
            )
    normalized = " ".join(fields)
    # croniter loads on first use: a command that reads no schedule starts without it.
    from croniter import croniter
    from croniter.croniter import CroniterBadDateError, CroniterError

    try:
        itr = croniter(normalized, datetime(2000, 1, 1), ret_type=datetime, day_or=True)
        itr.get_next(datetime)
    except CroniterBadDateError:
        raise ValueError(f"{text!r} never happens (no such date)") from None
    except (CroniterError, ValueError, TypeError, KeyError) as exc:
        raise ValueError(f"{text!r} is not a valid cron expression: {exc}") from None
    return CronRecurrence(text, zone, normalized)


# --- RFC 5545 ---------------------------------------------------------------------------------


def _lines(text: str) -> list[tuple[str, dict[str, str], str]]:
    """``(NAME, {PARAM: value}, value)`` of each content line, folded lines joined."""
    raw = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    joined: list[str] = []
    for line in raw:
        if line[:1] in (" ", "\t") and joined and line.strip():
            joined[-1] += line[1:]
        elif line.strip():
            joined.append(line.strip())
    result: list[tuple[str, dict[str, str], str]] = []
    for line in joined:
        head, sep, value = line.partition(":")
        if not sep:
            raise ValueError(f"line {line!r} has no ':' (expected e.g. 'RRULE:FREQ=DAILY')")
        name, *param_texts = head.split(";")
        params: dict[str, str] = {}
        for param in param_texts:
            key, eq, pvalue = param.partition("=")
            if not eq:
                raise ValueError(f"line {line!r}: parameter {param!r} has no '='")
            params[key.strip().upper()] = pvalue.strip().strip('"')
        result.append((name.strip().upper(), params, value.strip()))
    return result


def _parse_local(value: str, what: str) -> tuple[datetime, bool]:
    """A naive datetime of ``YYYYMMDDTHHMMSS[Z]`` and whether it was UTC (``Z``)."""
    match = _DATETIME.fullmatch(value.upper())
    if not match:
        raise ValueError(f"{what} {value!r} is not a date-time: expected e.g. 20261201T023000")
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    try:
        moment = datetime(year, month, day, hour, minute, second)
    except ValueError as exc:
        raise ValueError(f"{what} {value!r} is not a real date-time: {exc}") from None
    return moment, bool(match.group(7))


def _zone_of(params: dict[str, str], is_utc: bool, what: str, default: tzinfo) -> tzinfo:
    if "TZID" in params:
        if is_utc:
            raise ValueError(f"{what} has both TZID and a 'Z' (UTC) time; give one")
        try:
            return load_zone(params["TZID"])
        except ValueError as exc:
            raise ValueError(f"{what}: {exc}") from None
    return UTC if is_utc else default


def _parse_dtstart(params: dict[str, str], value: str, zone: tzinfo) -> datetime:
    unknown = set(params) - {"TZID", "VALUE"}
    if unknown:
        raise ValueError(f"DTSTART: unsupported parameter {sorted(unknown)[0]}")
    if params.get("VALUE", "DATE-TIME").upper() != "DATE-TIME" or _DATE.fullmatch(value):
        raise ValueError(
            f"DTSTART {value!r} is a date: a scan schedule needs a time of day, "
            "e.g. DTSTART:20261201T023000"
        )
    wall, is_utc = _parse_local(value, "DTSTART")
    if wall.second:
        raise ValueError(f"DTSTART {value!r} has seconds: occurrences are whole minutes")
    named = _zone_of(params, is_utc, "DTSTART", zone)
    if not _same_zone(named, zone):
        raise ValueError(
            f"DTSTART is in {zone_name(named)} but the schedule's timezone is {zone_name(zone)}: "
            f"set timezone to {zone_name(named)!r} or give DTSTART as a floating local time"
        )
    return wall


def _parse_until(value: str, zone: tzinfo) -> datetime:
    if _DATE.fullmatch(value):
        day, _ = _parse_local(value + "T000000", "UNTIL")
        return datetime.combine(day.date(), time(23, 59, 59), tzinfo=zone)
    wall, is_utc = _parse_local(value, "UNTIL")
    return wall.replace(tzinfo=UTC if is_utc else zone)


def _parse_rrule_line(value: str, dtstart: datetime, zone: tzinfo) -> rrule:
    parts: dict[str, str] = {}
    for pair in value.split(";"):
        key, eq, pvalue = pair.partition("=")
        if not eq or not key.strip():
            raise ValueError(f"RRULE part {pair!r} is not NAME=VALUE")
        key = key.strip().upper()
        if key in parts:
            raise ValueError(f"RRULE gives {key} twice")
        parts[key] = pvalue.strip().upper()
    if "FREQ" not in parts:
        raise ValueError("RRULE has no FREQ (e.g. RRULE:FREQ=WEEKLY;BYDAY=MO)")
    if parts["FREQ"] == "SECONDLY" or "BYSECOND" in parts:
        raise ValueError("RRULE: occurrences are whole minutes; FREQ=SECONDLY/BYSECOND refused")
    if "COUNT" in parts and "UNTIL" in parts:
        raise ValueError("RRULE gives both COUNT and UNTIL; RFC 5545 allows one of them")
    until_text = parts.pop("UNTIL", None)
    rest = ";".join(f"{k}={v}" for k, v in parts.items())
    try:
        rule = rrulestr("RRULE:" + rest, dtstart=dtstart.replace(tzinfo=zone))
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"RRULE {value!r} is not valid: {exc}") from None
    assert isinstance(rule, rrule)
    if until_text is not None:
        rule = rule.replace(until=_parse_until(until_text, zone))
    return rule


def _parse_exdate(params: dict[str, str], value: str, zone: tzinfo) -> list[datetime]:
    unknown = set(params) - {"TZID", "VALUE"}
    if unknown or params.get("VALUE", "DATE-TIME").upper() != "DATE-TIME":
        raise ValueError("EXDATE: only date-times, with an optional TZID, are supported")
    result = []
    for item in value.split(","):
        wall, is_utc = _parse_local(item.strip(), "EXDATE")
        named = _zone_of(params, is_utc, "EXDATE", zone)
        moment = wall.replace(tzinfo=named)
        # The rule's values carry `zone`; an EXDATE in the same zone is compared as a wall time.
        result.append(moment if named is zone else moment.astimezone(zone))
    return result


def _parse_rfc5545(text: str, zone: tzinfo) -> RRuleRecurrence:
    dtstart: datetime | None = None
    rule_values: list[str] = []
    exdates: list[tuple[dict[str, str], str]] = []
    for name, params, value in _lines(text):
        if name == "DTSTART":
            if dtstart is not None:
                raise ValueError("more than one DTSTART line")
            dtstart = _parse_dtstart(params, value, zone)
        elif name == "RRULE":
            if params:
                raise ValueError(f"RRULE: unsupported parameter {sorted(params)[0]}")
            rule_values.append(value)
        elif name == "EXDATE":
            exdates.append((params, value))
        else:
            raise ValueError(f"unsupported line {name}: expected DTSTART, RRULE and EXDATE lines")
    if dtstart is None:
        raise ValueError(
            "RFC 5545 text needs a DTSTART line (it fixes the time of day and the first date), "
            "e.g. 'DTSTART:20261201T023000\\nRRULE:FREQ=WEEKLY;BYDAY=MO'"
        )
    if not rule_values:
        raise ValueError("RFC 5545 text needs at least one RRULE line, e.g. 'RRULE:FREQ=DAILY'")
    rules = rruleset()
    for value in rule_values:
        rules.rrule(_parse_rrule_line(value, dtstart, zone))
    for params, value in exdates:
        for moment in _parse_exdate(params, value, zone):
            rules.exdate(moment)
    return RRuleRecurrence(text, zone, rules, dtstart)
