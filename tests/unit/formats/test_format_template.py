"""The ``template`` format: a sandboxed Jinja2 template with size and time budgets."""

from __future__ import annotations

import json

import pytest
from format_samples import context, notification

from scanhook.errors import InvalidRequest
from scanhook.formats import FormattedRequest, RenderError, render, validate_options
from scanhook.formats import template as template_format
from scanhook.notifications import EVENT_TYPES


def rendered(source: str, event_type: str = "ticket.opened", **options: object) -> bytes:
    result = render(
        "template", notification(event_type), {"template": source, **options}, context(event_type)
    )
    assert isinstance(result, FormattedRequest)
    return result.body


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_the_context_exposes_fields_event_type_and_id(event_type: str) -> None:
    source = (
        '{"type": {{ event_type|tojson }}, "id": {{ event_id|tojson }}, '
        '"payload": {{ payload|tojson }}, "ticket": {{ (ticket is none)|tojson }}}'
    )
    document = json.loads(rendered(source, event_type))
    assert document["type"] == event_type
    assert document["id"] == context(event_type).event_id
    key = next(iter(document["payload"]))
    assert document["ticket"] is (key != "ticket")


def test_utf8_output_and_options() -> None:
    result = render(
        "template",
        notification("ticket.opened"),
        {"template": "{{ ticket.owner }}", "content_type": "text/plain", "path_suffix": "/x"},
        context("ticket.opened"),
    )
    assert isinstance(result, FormattedRequest)
    assert result.body == "åsa.ops@example.com".encode()
    assert (result.content_type, result.path_suffix) == ("text/plain", "/x")


@pytest.mark.parametrize(
    ("source", "fragment"),
    [
        ("{% for %}", "template line 1"),
        ("{{ ticket.number }", "template line 1"),
        ('{{ "x" * 100000000 }}', "'*' would build more than the output budget"),
        ('{{ "x"|center(1000000000) }}', "filter 'center' was given 1000000000"),
        ('{{ "x".ljust(100000000) }}', "a call was given 100000000"),
        ('{{ "%999999999s"|format(1) }}', "filter 'format' would build more than"),
        ('{{ "{:>999999999}".format(1) }}', "str.format would build more than"),
        ('{{ "%999999999d" % 1 }}', "'%' formatting would build more than"),
        ("{{ 10 ** 100000 }}", "exponent is too large"),
        ("{% for i in range(100000) %}xxxxxxxxxx{% endfor %}", "larger than max_bytes (65536)"),
        (
            '{% set s = "x" * 60000 %}{% set s = s ~ s %}{{ s }}',
            "'~' would build more than the output budget",
        ),
        ("{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}", "recursed too deeply"),
        ("{% set l = [1] %}{{ l.append(2) }}", "SecurityError"),
        ("{{ undefined_function() }}", "template failed"),
        ("{{ " + "(" * 5000 + "1" + ")" * 5000 + " }}", "template is nested too deeply"),
        (
            "{% for a in x %}" * 25 + "{% endfor %}" * 25,
            "template is nested too deeply (too many statically nested blocks)",
        ),
        ("{% if a %}" * 120 + "{% endif %}" * 120, "template is nested too deeply"),
    ],
)
def test_bad_templates_are_refused_when_the_endpoint_is_saved(source: str, fragment: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        validate_options("template", {"template": source})
    assert caught.value.field == "format_options.template"
    assert fragment in caught.value.message, caught.value.message


def test_a_template_that_loops_for_ever_is_stopped_by_the_time_budget(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(template_format, "RENDER_SECONDS", 0.05)
    endless = "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}"
    with pytest.raises(InvalidRequest, match=r"longer than its 0\.05 s budget"):
        validate_options("template", {"template": endless})
    with pytest.raises(RenderError, match="budget"):
        rendered(endless)


def test_the_sandbox_hides_python_internals() -> None:
    assert rendered("{{ ticket.__class__ }}") == b""
    for source in ("{{ ''.__class__.__mro__ }}", "{{ cycler.__init__.__globals__.os }}"):
        with pytest.raises(RenderError, match="SecurityError"):
            rendered(source)


def test_max_bytes_is_honoured_at_render_time() -> None:
    assert rendered("{{ 'x' * 10 }}", max_bytes=10) == b"x" * 10
    with pytest.raises(RenderError, match="max_bytes"):
        rendered("{{ 'x' * 10 }}!", max_bytes=10)


def test_template_options_are_checked() -> None:
    with pytest.raises(InvalidRequest, match=r"format_options\.template: required"):
        validate_options("template", {})
    with pytest.raises(InvalidRequest, match=r"format_options\.max_bytes"):
        validate_options("template", {"template": "x", "max_bytes": 10**9})
    with pytest.raises(InvalidRequest, match=r"format_options\.content_type"):
        validate_options("template", {"template": "x", "content_type": "json"})
    assert validate_options("template", {"template": "x"}) == {"template": "x"}
