"""The guard on ``matches`` patterns: refuse nested repetition, accept ordinary patterns."""

from __future__ import annotations

import pytest

from scanhook.filters.regex import compile_pattern, nested_repetition


@pytest.mark.parametrize(
    "pattern",
    [
        "^prod-",
        r"^prod-\d+$",
        "(ab)+",
        "(a|b)*c",
        "[(]+",
        r"\(a+\)+",
        "(a+)?",
        "(a+){1}",
        "[a)]+x+",
    ],
)
def test_ordinary_patterns_are_accepted(pattern: str) -> None:
    assert not nested_repetition(pattern)
    assert compile_pattern(pattern).pattern == pattern


@pytest.mark.parametrize(
    "pattern",
    ["(a+)+", "(a*)*", "(?:a+)+", "(a{2,})+", "((a+))+", "(x(a|b+)c)*", "(a+){2,5}", "([a-z]+)*$"],
)
def test_nested_repetition_is_refused(pattern: str) -> None:
    assert nested_repetition(pattern)
    with pytest.raises(ValueError, match="repeats a group"):
        compile_pattern(pattern)


def test_warnings_of_re_become_refusals() -> None:
    with pytest.raises(ValueError, match="invalid regular expression"):
        compile_pattern("[[a]")
