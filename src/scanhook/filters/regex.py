"""Compiling the pattern of ``matches`` with RE2, a regular-expression engine that runs in time
linear in the length of the text, whatever the pattern.

Python's ``re`` backtracks and has no time limit: ``(.|\\s)*!`` on a few dozen spaces runs for
seconds, and no syntactic check catches every such pattern. RE2 (``google-re2``) compiles a
pattern to an automaton instead, so a search reads the text once. The price is the constructs
that need backtracking — backreferences, lookahead and lookbehind, atomic groups, possessive
quantifiers, conditionals — which RE2 does not have: a pattern using one is refused, naming it.
Patterns are also bounded in length, and the compiled program in memory.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import re2  # type: ignore[import-untyped]  # google-re2 ships no type information

__all__ = [
    "MAX_FILTER_PROGRAM",
    "MAX_PATTERN_LENGTH",
    "MAX_PROGRAM_MEMORY",
    "MAX_PROGRAM_SIZE",
    "MAX_SEARCHED",
    "Pattern",
    "compile_pattern",
]

MAX_PATTERN_LENGTH = 256
#: A search costs at worst (when RE2 falls back from its DFA to its NFA) time proportional to
#: the text's length times the pattern's program size (RE2's count of instructions: ``.`` is 8,
#: ``a`` is 1, ``.{100}`` is 800). These bound it: per pattern, per filter (all its patterns
#: together), and the characters of a field that are searched. Worst case measured: about 25 ms
#: per filter on a 2-CPU machine; ordinary patterns (program size 5-50) take microseconds.
MAX_PROGRAM_SIZE = 1000
MAX_FILTER_PROGRAM = 2000
MAX_SEARCHED = 16_384
#: RE2's memory budget for one compiled pattern (its default is 8 MiB); a pattern whose
#: automaton would need more (``[^a]{500}[^b]{500}``) is refused at compile time.
MAX_PROGRAM_MEMORY = 2 * 1024 * 1024

#: Constructs of Python's ``re`` (and PCRE) that RE2 does not have, by how a pattern spells them.
_UNSUPPORTED: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(spelling), name)
    for spelling, name in (
        (r"\\[1-9]|\\g<|\(\?P=", "a backreference"),
        (r"\(\?<?[=!]", "a lookahead or lookbehind"),
        (r"\(\?>", "an atomic group"),
        (r"\(\?\(", "a conditional group"),
        (r"[*+?}]\+", "a possessive quantifier"),
        (r"\(\?#", "an inline comment"),
        (r"\(\?[aLux]", "a flag RE2 does not have (RE2 knows i, m, s and U)"),
        (r"\\Z", "'\\Z' (write '\\z' for the end of the text)"),
        (r"\\[uUN]", "a '\\u', '\\U' or '\\N' escape (write '\\x{…}' for a code point)"),
    )
)
_ESCAPED = re.compile(r"\\\\")  # a literal backslash cannot start any construct above


def _options() -> Any:
    options = re2.Options()
    options.log_errors = False  # the error goes into the refusal, not to stderr
    options.never_capture = True  # matches only asks whether there is a match
    options.max_mem = MAX_PROGRAM_MEMORY
    return options


_OPTIONS = _options()


@dataclass(frozen=True, slots=True)
class Pattern:
    """A compiled ``matches`` pattern; :meth:`search` runs in time linear in ``text``."""

    pattern: str
    _compiled: Any = field(repr=False, compare=False)

    @property
    def program_size(self) -> int:
        """RE2's size of the compiled program: what a search costs per character, at worst."""
        return int(self._compiled.programsize)

    def search(self, text: str) -> bool:
        """Whether the pattern is found anywhere in the first :data:`MAX_SEARCHED` characters
        of ``text`` (like ``re.search``)."""
        if len(text) > MAX_SEARCHED:  # the rest is not read; $ still means the text's end
            return self._compiled.search(text, 0, MAX_SEARCHED) is not None
        return self._compiled.search(text) is not None


def _unsupported(pattern: str) -> str | None:
    """The first construct of ``pattern`` that RE2 does not have, named and quoted, if any."""
    plain = _ESCAPED.sub("__", pattern)
    for spelling, name in _UNSUPPORTED:
        found = spelling.search(plain)
        if found is not None:
            return f"{name} ({found.group()!r} at character {found.start() + 1})"
    return None


def compile_pattern(pattern: str) -> Pattern:
    """``pattern`` compiled with RE2; ValueError saying why it is refused."""
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise ValueError(
            f"regular expression is too long ({len(pattern)} characters, at most "
            f"{MAX_PATTERN_LENGTH})"
        )
    try:
        compiled = re2.compile(pattern, _OPTIONS)
    except re2.error as exc:
        construct = _unsupported(pattern)
        if construct is not None:
            raise ValueError(
                f"regular expression uses {construct}, which the linear-time (RE2) syntax of "
                "'matches' does not support"
            ) from None
        reason = exc.args[0] if exc.args else exc
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        if reason == "pattern too large - compile failed":
            reason = f"{reason} (it needs more than {MAX_PROGRAM_MEMORY // 1024} KiB)"
        raise ValueError(f"invalid regular expression: {reason}") from None
    result = Pattern(pattern, compiled)
    if result.program_size > MAX_PROGRAM_SIZE:
        raise ValueError(
            f"regular expression is too complex (RE2 program size {result.program_size}, at "
            f"most {MAX_PROGRAM_SIZE}; a large repetition such as '.{{100}}' costs most)"
        )
    return result
