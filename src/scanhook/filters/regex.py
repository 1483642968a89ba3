"""Compiling the pattern of ``matches`` once, refusing patterns that could run for ages.

Python's ``re`` backtracks and has no time limit, so a pattern such as ``(a+)+$`` can take
exponential time on a short input. Patterns are limited in length, and the common catastrophic
shape — a repeated group that itself contains a repetition — is refused.
"""

from __future__ import annotations

import re
import warnings

__all__ = ["MAX_PATTERN_LENGTH", "compile_pattern"]

MAX_PATTERN_LENGTH = 256
_QUANTIFIER = re.compile(r"[*+]|\{\d*,?\d*\}")


def _quantifier_at(pattern: str, index: int) -> str | None:
    """The repeating quantifier (``*``, ``+``, ``{m,n}``) that starts at ``index``, if any."""
    match = _QUANTIFIER.match(pattern, index)
    if match is None:
        return None
    text = match.group()
    if text in ("{}", "{,}"):
        return None
    if text.startswith("{") and text.strip("{}").isdigit() and int(text.strip("{}")) <= 1:
        return None  # {0} and {1} do not repeat
    return text


def _skip_class(pattern: str, index: int) -> int:
    """The index just after the character class that starts at ``index`` (``[``)."""
    index += 1
    if index < len(pattern) and pattern[index] == "^":
        index += 1
    if index < len(pattern) and pattern[index] == "]":
        index += 1
    while index < len(pattern) and pattern[index] != "]":
        index += 2 if pattern[index] == "\\" else 1
    return index + 1


def nested_repetition(pattern: str) -> bool:
    """True when a repeated group of ``pattern`` contains a repetition, as in ``(a+)+``."""
    stack: list[bool] = [False]  # per open group: does it contain a repetition?
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            index += 2
            after = index
        elif char == "[":
            index = _skip_class(pattern, index)
            after = index
        elif char == "(":
            stack.append(False)
            index += 1
            continue
        elif char == ")" and len(stack) > 1:
            inner = stack.pop()
            index += 1
            quantifier = _quantifier_at(pattern, index)
            if quantifier is not None and inner:
                return True
            stack[-1] = stack[-1] or inner or quantifier is not None
            continue
        else:
            index += 1
            after = index
        if _quantifier_at(pattern, after) is not None:
            stack[-1] = True
    return False


def compile_pattern(pattern: str) -> re.Pattern[str]:
    """``pattern`` compiled; ValueError saying why it is refused."""
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise ValueError(
            f"regular expression is too long ({len(pattern)} characters, at most "
            f"{MAX_PATTERN_LENGTH})"
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # e.g. FutureWarning: possible nested set
            compiled = re.compile(pattern)
    except (re.error, RecursionError, OverflowError, Warning) as exc:
        raise ValueError(f"invalid regular expression: {exc}") from None
    if nested_repetition(pattern):
        raise ValueError(
            "regular expression repeats a group that itself repeats (like '(a+)+'), "
            "which can take exponential time; simplify it"
        )
    return compiled
