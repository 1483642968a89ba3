"""The formats by name: checking an endpoint's ``format_options`` and rendering a request."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from scanhook.errors import InvalidRequest
from scanhook.formats import (
    cloudevents,
    jira,
    ocsf,
    pagerduty,
    raw,
    servicenow,
    slack,
    splunk,
    teams,
    template,
)
from scanhook.formats.base import FormatContext, Options, Rendered
from scanhook.notifications import Notification

__all__ = ["FORMATS", "FormatSpec", "load_options", "render", "validate_options"]


@dataclass(frozen=True, slots=True)
class FormatSpec:
    name: str
    options: type[Options]
    render: Callable[[Notification, Any, FormatContext], Rendered]
    #: A further check at save time (beyond the options model), raising ValueError.
    check: Callable[[Any], None] | None = None


FORMATS: dict[str, FormatSpec] = {
    spec.name: spec
    for spec in (
        FormatSpec("raw", raw.RawOptions, raw.render),
        FormatSpec("cloudevents", cloudevents.CloudEventsOptions, cloudevents.render),
        FormatSpec("slack", slack.SlackOptions, slack.render),
        FormatSpec("teams", teams.TeamsOptions, teams.render),
        FormatSpec("pagerduty", pagerduty.PagerDutyOptions, pagerduty.render),
        FormatSpec("jira", jira.JiraOptions, jira.render),
        FormatSpec("servicenow", servicenow.ServiceNowOptions, servicenow.render),
        FormatSpec("splunk", splunk.SplunkOptions, splunk.render),
        FormatSpec("ocsf", ocsf.OcsfOptions, ocsf.render),
        FormatSpec("template", template.TemplateOptions, template.render, template.check_template),
    )
}


def _spec(format_name: str) -> FormatSpec:
    spec = FORMATS.get(format_name)
    if spec is None:
        raise InvalidRequest(
            f"unknown format {format_name!r}: expected one of {', '.join(FORMATS)}",
            field="format",
        )
    return spec


#: Options that are credentials (a PagerDuty integration key): never repeated in a message.
_SECRET_OPTIONS = frozenset({"routing_key"})


def _message(spec: FormatSpec, exc: ValidationError) -> tuple[str, str]:
    problems: list[str] = []
    first = "format_options"
    allowed = ", ".join(spec.options.model_fields) or "none"
    for error in exc.errors(include_url=False):
        loc = ".".join(str(part) for part in error["loc"])
        where = f"format_options.{loc}" if loc else "format_options"
        if first == "format_options":
            first = where
        if error["type"] == "missing":
            text = "required"
        elif error["type"] == "extra_forbidden":
            text = f"unknown option of the {spec.name} format (allowed: {allowed})"
        else:
            text = error["msg"].removeprefix("Value error, ")
            shown = repr(error.get("input"))
            if (
                "input" in error
                and error["type"] not in ("model_type", "dict_type")
                and len(shown) <= 80
                and not any(str(part) in _SECRET_OPTIONS for part in error["loc"])
            ):
                text = f"{text} (got {shown})"
        problems.append(f"{where}: {text}")
    return first, "; ".join(problems)


def load_options(format_name: str, options: Mapping[str, Any] | None) -> Options:
    """The typed options of ``format_name``; InvalidRequest naming each bad option."""
    spec = _spec(format_name)
    try:
        return spec.options.model_validate(dict(options or {}))
    except ValidationError as exc:
        field, message = _message(spec, exc)
        raise InvalidRequest(message, field=field) from None


def validate_options(format_name: str, options: Mapping[str, Any] | None) -> dict[str, Any]:
    """Check an endpoint's ``format_options`` when it is saved; return them normalised.

    Raises :class:`~scanhook.errors.InvalidRequest` (``field`` = ``format`` or
    ``format_options.<name>``) with a message naming every bad option. The returned mapping holds
    only the options that were given (defaults are not frozen into the stored endpoint).
    """
    model = load_options(format_name, options)
    spec = FORMATS[format_name]
    if spec.check is not None:
        try:
            spec.check(model)
        except ValueError as exc:
            raise InvalidRequest(
                f"format_options.template: {exc}", field="format_options.template"
            ) from None
    checked: dict[str, Any] = model.model_dump(mode="json", exclude_unset=True)
    return checked


def render(
    format_name: str,
    notification: Notification,
    options: Mapping[str, Any] | None,
    context: FormatContext,
) -> Rendered:
    """The request ``format_name`` makes of ``notification``, or a :class:`Skip`.

    Pure: no I/O. Raises :class:`~scanhook.errors.InvalidRequest` only when ``options`` do not
    validate (they were checked when the endpoint was saved, so that means the stored endpoint
    predates a change of the format's options).
    """
    spec = _spec(format_name)
    return spec.render(notification, load_options(format_name, options), context)
