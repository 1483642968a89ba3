"""Leads: how long before an occurrence its ``scheduled_scan`` notice is sent.

A lead is a duration in the grammar of the retry schedule (docs/operators.md), read by
:func:`scanhook.durations.parse_duration`: a number and a unit (``ms``, ``s``, ``m``, ``h``,
``d``) or several (``1h30m``), e.g. ``"24h"``, ``"1h"``, ``"15m"``, ``"0s"`` (announce at the
start); a bare number is seconds. A lead must also be a whole number of seconds and at most
:data:`MAX_LEAD`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from scanhook.durations import parse_duration

__all__ = ["MAX_LEAD", "Lead", "parse_lead"]

#: The longest lead accepted: an announcement more than a year ahead helps nobody.
MAX_LEAD = timedelta(days=366)


def parse_lead(text: object) -> timedelta:
    """The duration of the lead ``text`` (``"24h"``, ``"1h30m"``, ``"0s"``).

    Raises ValueError saying what is wrong: not a string, not a duration, not whole seconds, or
    longer than :data:`MAX_LEAD`.
    """
    if not isinstance(text, str):
        raise ValueError(f"a lead is a duration string such as '1h', got {type(text).__name__}")
    seconds = parse_duration(text)
    whole = round(seconds)
    if abs(seconds - whole) > 1e-6:
        raise ValueError(f"{text!r} is not a whole number of seconds")
    if whole > MAX_LEAD.total_seconds():
        raise ValueError(f"{text!r} is longer than the longest lead, {MAX_LEAD.days} days")
    return timedelta(seconds=whole)


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
