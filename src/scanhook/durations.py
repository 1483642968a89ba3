"""Durations as operators write them: ``500ms``, ``0.2s``, ``5m``, ``2h``, ``1d``, ``1h30m``.

One grammar for retry schedules, leases, retention and schedule leads; and the one reading of a
whole number that a peer sends in a header (``webhook-timestamp``, ``Retry-After``).
"""

from __future__ import annotations

import re

__all__ = ["parse_duration", "parse_whole_number"]

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)\s*(ms|s|m|h|d)", re.I)
_NUMBER = re.compile(r"\d+(?:\.\d*)?|\.\d+")
_ASCII_DIGITS = re.compile(r"[0-9]+")
#: Digits in the longest whole number read from a peer (well within a 64-bit integer).
MAX_DIGITS = 18


def parse_whole_number(text: str, max_digits: int = MAX_DIGITS) -> int | None:
    """The value of ``text`` (surrounding white space allowed) when it is 1 to ``max_digits``
    ASCII digits, else None. Other digits (``²``, ``٣``) and longer values are not read, so no
    hostile header can raise ValueError or cost more than a bounded conversion."""
    stripped = text.strip()
    if not 0 < len(stripped) <= max_digits or not _ASCII_DIGITS.fullmatch(stripped):
        return None
    return int(stripped)


def parse_duration(text: str) -> float:
    """Seconds in a duration such as ``500ms``, ``0.2s``, ``5s``, ``5m``, ``2h``, ``1d`` or
    ``1h30m``; a bare number is seconds. Raises ValueError naming the part it cannot read."""
    if not isinstance(text, str):
        raise ValueError(f"duration: expected text such as '5s', not {text!r}")
    stripped = text.strip()
    if not stripped:
        raise ValueError("duration: empty; expected e.g. '500ms', '5s', '5m', '2h' or '1d'")
    if _NUMBER.fullmatch(stripped):
        return float(stripped)
    total = 0.0
    pos = 0
    while pos < len(stripped):
        match = _PART.match(stripped, pos)
        if match is None:
            raise ValueError(
                f"duration {text!r}: cannot read {stripped[pos:]!r}; "
                "expected a number and a unit (ms, s, m, h, d), e.g. '5s' or '2h'"
            )
        total += float(match.group(1)) * _UNITS[match.group(2).lower()]
        pos = match.end()
        while pos < len(stripped) and stripped[pos].isspace():
            pos += 1
    return total
