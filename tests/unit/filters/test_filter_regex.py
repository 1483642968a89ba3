"""``matches`` patterns: compiled with RE2, so no pattern can make a search take exponential
time; the constructs RE2 lacks are refused, naming them."""

from __future__ import annotations

import random
import time

import pytest

from scanhook.filters import FilterError, compile_filter
from scanhook.filters.regex import (
    MAX_PATTERN_LENGTH,
    MAX_PROGRAM_SIZE,
    MAX_SEARCHED,
    compile_pattern,
)
from scanhook.notifications import Notification, parse

#: Patterns that backtrack exponentially (or with a high power) in Python's ``re``, each with a
#: text that makes them do it: 30 characters already took ``re`` minutes for most of them.
CATASTROPHIC = [
    ("(a|a)*$", "a" * 30 + "!"),
    (r"(.|\s)*!", " " * 30),
    ("(?:x|x?)+y", "x" * 30),
    ("(a?){22}a{22}", "a" * 22),
    (r"\s*\s*\s*!", " " * 3000),
    ("(a+)+$", "a" * 30 + "!"),
    ("([a-z]+)*$", "a" * 30 + "!"),
]


@pytest.mark.parametrize(("pattern", "text"), CATASTROPHIC)
def test_a_catastrophic_pattern_searches_a_long_text_at_once(pattern: str, text: str) -> None:
    compiled = compile_pattern(pattern)
    hostile = text * 2000  # far longer than any field: still one pass over the text
    started = time.monotonic()
    compiled.search(hostile)
    assert time.monotonic() - started < 2.0  # re needs longer than the universe's age here


def test_the_issue_filter_runs_on_a_name_of_many_spaces() -> None:
    f = compile_filter('finished_scan.name matches "(.|\\\\s)*!"')
    scan = _scan(" " * 10_000)
    started = time.monotonic()
    assert f.matches(scan) is False
    assert time.monotonic() - started < 2.0
    shouted = _scan(" done!")
    assert f.matches(shouted) is True


@pytest.mark.parametrize(
    ("pattern", "text", "found"),
    [
        ("^prod-", "prod-web-1", True),
        (r"^prod-\d+$", "prod-12", True),
        (r"^prod-\d+$", "prod-12\n", False),  # $ is the end of the text, as \z
        ("(?m)^web$", "db\nweb\nmail", True),
        ("(?i)CRITICAL", "critical", True),
        (r"\p{Greek}", "αβγ", True),
        (r"\x{e9}", "café", True),
        ("[[:digit:]]{3}", "ab123", True),
        ("(?P<env>prod|test)-", "test-1", True),
        ("a.c", "a\nc", False),
        ("(?s)a.c", "a\nc", True),
    ],
)
def test_ordinary_patterns_keep_their_meaning(pattern: str, text: str, found: bool) -> None:
    assert compile_pattern(pattern).search(text) is found


@pytest.mark.parametrize(
    ("pattern", "construct"),
    [
        (r"(a)\1", r"a backreference ('\\1' at character 4)"),
        (r"(?P<x>a)(?P=x)", "a backreference ('(?P='"),
        (r"(a)\g<1>", "a backreference"),
        ("x(?=y)", "a lookahead or lookbehind ('(?='"),
        ("x(?!y)", "a lookahead or lookbehind ('(?!'"),
        ("(?<=x)y", "a lookahead or lookbehind ('(?<='"),
        ("(?<!x)y", "a lookahead or lookbehind"),
        ("(?>a+)b", "an atomic group"),
        ("a++b", "a possessive quantifier"),
        ("(a)?(?(1)b|c)", "a conditional group"),
        (r"end\Z", r"'\Z' (write '\z' for the end of the text)"),
        (r"\u00e9", r"a '\u', '\U' or '\N' escape"),
        ("(?x) a b", "a flag RE2 does not have"),
    ],
)
def test_a_construct_re2_lacks_is_refused_by_name(pattern: str, construct: str) -> None:
    with pytest.raises(ValueError, match="does not support") as caught:
        compile_pattern(pattern)
    assert f"uses {construct}" in str(caught.value)


def test_an_escaped_backslash_is_not_a_construct() -> None:
    assert compile_pattern(r"C:\\1").search("C:\\1")


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("(", "invalid regular expression: missing ): ("),
        ("a{1001}", "invalid repetition size"),
        ("[z-a]", "invalid character class range"),
        ("x" * (MAX_PATTERN_LENGTH + 1), "too long"),
    ],
)
def test_an_invalid_pattern_is_refused_with_the_reason(pattern: str, message: str) -> None:
    with pytest.raises(ValueError, match="regular expression") as caught:
        compile_pattern(pattern)
    assert message in str(caught.value)


def test_the_filter_error_points_at_the_pattern() -> None:
    with pytest.raises(FilterError) as caught:
        compile_filter('ticket.asset_name matches "x(?<=y)"')
    assert caught.value.position == 27
    assert "lookahead or lookbehind ('(?<='" in caught.value.problem


def test_a_pattern_too_costly_per_character_is_refused() -> None:
    assert compile_pattern("a.{124}c").program_size <= MAX_PROGRAM_SIZE
    with pytest.raises(ValueError, match=r"too complex \(RE2 program size 1006, at most 1000"):
        compile_pattern("a.{125}c")


def test_the_patterns_of_one_filter_are_bounded_together() -> None:
    clause = 'ticket.asset_name matches "a[ab]{90}c"'
    compile_filter(" or ".join([clause] * 20))
    with pytest.raises(FilterError, match="too complex together"):
        compile_filter(" or ".join([clause] * 21))


def test_the_costliest_filter_on_a_huge_field_is_still_quick() -> None:
    """The worst a filter can do: patterns as costly as allowed, on a 1 MB field of the text
    that defeats RE2's DFA. Only the first MAX_SEARCHED characters are searched."""
    f = compile_filter(
        'finished_scan.name matches "a.{124}c" or finished_scan.name matches "b.{124}c"'
    )
    rng = random.Random(1)
    name = "".join(rng.choice("ab") for _ in range(1_000_000))
    scan = _scan(name)
    started = time.monotonic()
    assert f.matches(scan) is False
    assert time.monotonic() - started < 1.0  # about 40 ms measured; re2 alone took 1.2 s per MB
    assert (
        compile_filter('finished_scan.name matches "c"').matches(_scan("a" * MAX_SEARCHED + "c"))
        is False
    )  # beyond the searched part
    assert compile_filter('finished_scan.name matches "c"').matches(
        _scan("a" * (MAX_SEARCHED - 1) + "c")
    )
    # $ is the end of the field, not of the part searched
    assert compile_filter('finished_scan.name matches "a$"').matches(_scan("a" * 20_000)) is False
    assert compile_filter('finished_scan.name matches "a$"').matches(_scan("a" * 100))


def _scan(name: str) -> Notification:
    return parse(
        {
            "finished_scan": {
                "name": name,
                "type": "network",
                "started": "2026-01-01 02:30",
                "finished": "2026-01-01 03:27",
                "duration": "00:57",
                "status": "Completed",
                "errors": "",
                "critical_cnt": 0,
                "high_cnt": 0,
                "medium_cnt": 0,
                "low_cnt": 0,
                "link": "https://sc.example.com/scans/view/1",
            }
        }
    )
