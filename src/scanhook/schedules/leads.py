"""Leads: how long before an occurrence its ``scheduled_scan`` notice is sent.

A lead is written as a duration: a number and a unit (``s``, ``m``, ``h``, ``d``, ``w``), or several
of them (``1h30m``), e.g. ``"24h"``, ``"1h"``, ``"15m"``, ``"0s"`` (announce at the start).
Fractions are allowed when the whole is a whole number of seconds (``"1.5h"``).

:func:`parse_lead` is written here because ``scanhook.delivery.retry.parse_duration`` did not exist
yet when the schedules were built; it accepts the same spellings as the retry schedule of contract
§4 (``0.2s``, ``5m``, ``2h``) plus days and weeks, but a lead must be whole seconds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal, InvalidOperation

__all__ = ["MAX_LEAD", "Lead", "parse_lead"]

#: The longest lead accepted: an announcement more than a year ahead helps nobody.
MAX_LEAD = timedelta(days=366)

_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PART = re.compile(r"(\d+(?:\.\d+)?)([smhdw])")
_WHOLE = re.compile(r"(?:\d+(?:\.\d+)?[smhdw])+")


def parse_lead(text: object) -> timedelta:
    """The duration of the lead ``text`` (``"24h"``, ``"1h30m"``, ``"0s"``).

    Raises ValueError saying what is wrong: not a string, no unit, an unknown unit, a negative or
    fractional-second value, or more than :data:`MAX_LEAD`.
    """
    if not isinstance(text, str):
        raise ValueError(f"a lead is a duration string such as '1h', got {type(text).__name__}")
    if not _WHOLE.fullmatch(text):
        hint = " (add a unit: s, m, h, d or w)" if re.fullmatch(r"\d+(\.\d+)?", text) else ""
        raise ValueError(
            f"{text!r} is not a duration: expected a number and a unit such as '24h', '15m', "
            f"'0s' or '1h30m'{hint}"
        )
    seconds = Decimal(0)
    for number, unit in _PART.findall(text):
        try:
            seconds += Decimal(number) * _UNIT_SECONDS[unit]
        except InvalidOperation:  # pragma: no cover - the pattern admits only decimals
            raise ValueError(f"{text!r} is not a duration") from None
    if seconds != seconds.to_integral_value():
        raise ValueError(f"{text!r} is not a whole number of seconds")
    lead = timedelta(seconds=int(seconds))
    if lead > MAX_LEAD:
        raise ValueError(f"{text!r} is longer than the longest lead, {MAX_LEAD.days} days")
    return lead


@dataclass(frozen=True, slots=True)
class Lead:
    """A lead as given (``text``) and its length in whole seconds."""

    text: str
    seconds: int

    @classmethod
    def parse(cls, text: object) -> Lead:
        """The lead of ``text``; ValueError as :func:`parse_lead`."""
        lead = parse_lead(text)
        assert isinstance(text, str)
        return cls(text=text, seconds=int(lead.total_seconds()))

    @property
    def delta(self) -> timedelta:
        return timedelta(seconds=self.seconds)
