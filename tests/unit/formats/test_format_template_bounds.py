"""The template sandbox refuses an operation that would build more than the output budget
*before* it allocates: each is rendered in this process under ``tracemalloc``, and the peak stays
far below what the operation would have built."""

from __future__ import annotations

import tracemalloc
from typing import Any

import pytest

from scanhook.formats import RenderError
from scanhook.formats.template_sandbox import render_template

N = 12_000  # N² characters is 144 MB: what each of these built before it was measured
BUDGET = 65_536
#: Far below N² bytes and above what rendering a small template allocates.
PEAK = 8 * 1024 * 1024
#: tracemalloc slows allocation down: the measure is memory here, not time.
SECONDS = 30.0


def render_measured(source: str, variables: dict[str, Any] | None = None) -> tuple[bytes, int]:
    tracemalloc.start()
    try:
        body = render_template(source, variables or {}, BUDGET, SECONDS)
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return body, peak


@pytest.mark.parametrize(
    ("source", "fragment"),
    [
        (f'{{{{ ("a"*{N}).replace("a", "b"*{N}) }}}}', "'replace' would build"),
        (f'{{{{ ("a"*{N})|replace("a", "b"*{N}) }}}}', "filter 'replace' would build"),
        (f'{{{{ range({N})|join("x"*{N}) }}}}', "filter 'join' would build"),
        (f'{{{{ ("x"*{N}).join(range({N})|map("string")) }}}}', "'join' would build"),
        (f'{{{{ ("\t"*{N}).expandtabs({N}) }}}}', "'expandtabs' would build"),
        (f'{{{{ ("a\\n"*{N})|indent({N}) }}}}', "filter 'indent' would build"),
        (f'{{{{ ("a\\n"*{N})|indent("x"*{N}) }}}}', "filter 'indent' would build"),
        (f'{{{{ ("a "*{N})|wordwrap(1, wrapstring="x"*{N}) }}}}', "filter 'wordwrap' would build"),
        (f'{{{{ "%*s" % ({N}*{N}, "x") }}}}', "'%' formatting would build"),
        (f'{{{{ ("%{N}s"*9) % (("x",)*9) }}}}', "'%' formatting would build"),
        (f'{{{{ "%(a)s"*{N} % {{"a": "x"*{N}}} }}}}', "'%' formatting would build"),
        (f'{{{{ ("%{N}s"*9)|format(*(("x",)*9)) }}}}', "filter 'format' would build"),
        (f'{{{{ ("{{:{N}}}"*9).format(*((1,)*9)) }}}}', "str.format would build"),
        (f'{{{{ ("%.{N}f"*9) % ((1.5,)*9) }}}}', "'%' formatting would build"),
        (f'{{{{ ("{{0}}"*{N}).format("x"*{N}) }}}}', "str.format would build"),
        (f'{{{{ ("{{0!r}}"*{N}).format("x"*{N}) }}}}', "str.format would build"),
        ('{{ "x".center(100000) }}', "a call was given 100000"),
        ('{{ "x"|center(100000) }}', "filter 'center' was given 100000"),
        (f'{{{{ ("a"*{N}).translate({{97: "b"*{N}}}) }}}}', "'translate' would build"),
        (f'{{{{ [["x"*{N}]*{N}] }}}}', "an output value would build"),
        (f'{{{{ [["x"*{N}]*{N}]|string }}}}', "filter 'string' would build"),
        (f'{{{{ [["x"*{N}]*{N}]|tojson }}}}', "filter 'tojson' would build"),
        (f'{{{{ [["x"*{N}]*{N}]|pprint }}}}', "filter 'pprint' would build"),
        (f'{{{{ "x" ~ [["x"*{N}]*{N}] }}}}', "'~' would build"),
        ("{{ range(100)|list|tojson(indent=1000) }}", "indent is at most 16"),
        (f'{{{{ ("a.bc "*{N})|urlize(target="x"*{N}) }}}}', "filter 'urlize' would build"),
        (f'{{{{ {{"k": "<"*{N}}}|xmlattr }}}}', "filter 'xmlattr' would build"),
        (f"{{{{ ([[0]*{N}]*{N})|sum(start=[]) }}}}", "filter 'sum' would build"),
        ("{{ lipsum(30000, false, 20, 100) }}", "lipsum() would build"),
        ('{{ ("a"*40000) + ("b"*40000) }}', "'+' would build"),
    ],
)
def test_an_operation_beyond_the_budget_is_refused_before_it_allocates(
    source: str, fragment: str
) -> None:
    tracemalloc.start()
    try:
        with pytest.raises(RenderError) as caught:
            render_template(source, {}, BUDGET, SECONDS)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert fragment in str(caught.value)
    assert "budget" in str(caught.value) or "at most" in str(caught.value)
    assert peak < PEAK, f"{peak} bytes allocated before the refusal"


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ('{{ "a-b".replace("-", "+") }}', b"a+b"),
        ('{{ "a-b"|replace("-", "--") }}', b"a--b"),
        ('{{ [1, 2, 3]|join(", ") }}', b"1, 2, 3"),
        ('{{ ", ".join(["x", "y"]) }}', b"x, y"),
        ('{{ "a\\tb".expandtabs(4) }}', b"a   b"),
        ('{{ "a\\nb"|indent(2) }}', b"a\n  b"),
        ('{{ "%5s|%-3d|%.2f" % ("ab", 7, 1.5) }}', b"   ab|7  |1.50"),
        ('{{ "%(x)s%%" % {"x": 1} }}', b"1%"),
        ('{{ "%s=%s"|format("a", 1) }}', b"a=1"),
        ('{{ "{:>4}|{!r}".format(1, "q") }}', b"   1|'q'"),
        ('{{ "{a}".format_map({"a": 2}) }}', b"2"),
        ('{{ "x".center(5) }}', b"  x  "),
        ('{{ {"a": [1, "b"]}|tojson(indent=2) }}', b'{\n  "a": [\n    1,\n    "b"\n  ]\n}'),
        ('{{ ["a"] + ["b"] }}', b"['a', 'b']"),
        ("{{ [[1], [2]]|sum(start=[]) }}", b"[1, 2]"),
        ("{{ lipsum(1, false, 2, 5)|length > 0 }}", b"True"),
        ("{% set ns = namespace(a=1) %}{{ ns.a }}", b"1"),
    ],
)
def test_ordinary_uses_still_render(source: str, expected: bytes) -> None:
    body, _ = render_measured(source)
    assert body == expected


def test_a_budget_error_names_the_operation_and_the_budget() -> None:
    with pytest.raises(RenderError) as caught:
        render_template('{{ ("a"*1000).replace("a", "b"*1000) }}', {}, 100_000)
    assert str(caught.value) == (
        "'replace' would build more than the output budget of 100000 bytes"
    )
