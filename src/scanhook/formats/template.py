"""``template``: a user's Jinja2 template, rendered in a sandbox, in a separate process, under a
size budget, a deadline and a memory limit.

The sandbox (:mod:`scanhook.formats.template_sandbox`) refuses every operation whose result would
exceed the output budget before it allocates, and checks the deadline between operations; the
render runs in a render process (:mod:`scanhook.formats.render_pool`) whose address space is
limited and which is killed when the deadline passes. Saving an endpoint and every delivery
render the same way, under the same limits.

When an endpoint is saved the template is compiled and rendered once against a sample of each
event type (with an event id and time like real ones), so syntax errors and budget overruns are
reported then; a template that behaves differently on real events is held to the same limits at
delivery, where breaking one fails the attempt with the reason.

:func:`render` and :func:`check_template` block their thread for up to the deadline: the engine
and the API call them on a worker thread.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, tzinfo
from typing import Annotated, Any

from pydantic import Field, field_validator

from scanhook.formats.base import (
    FormatContext,
    FormattedRequest,
    Options,
    RenderError,
    correlation_key,
    event_datetime,
    rfc3339,
)
from scanhook.formats.render_pool import default_pool
from scanhook.formats.template_sandbox import MAX_OUTPUT, compile_template
from scanhook.notifications import Notification, parse
from scanhook.notifications.encoding import to_wire

__all__ = ["MAX_TEMPLATE_LENGTH", "RENDER_SECONDS", "TemplateOptions", "check_template", "render"]

MAX_TEMPLATE_LENGTH = 16_384
#: Wall-clock budget of one render, in seconds (the render process is killed soon after).
RENDER_SECONDS = 1.0
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


_SAMPLES: dict[str, dict[str, Any]] = {
    "scheduled_scan": {
        "scheduled_scan": {
            "name": "Sample scan",
            "type": "network",
            "starts_at": "2026-01-01 02:30",
            "link": "https://sc.example.com/scans/schedules/view/1",
        }
    },
    "finished_scan": {
        "finished_scan": {
            "name": "Sample scan",
            "type": "network",
            "started": "2026-01-01 02:30",
            "finished": "2026-01-01 03:27",
            "duration": "00:57",
            "status": "Completed",
            "errors": "",
            "critical_cnt": 1,
            "high_cnt": 2,
            "medium_cnt": 3,
            "low_cnt": 4,
            "link": "https://sc.example.com/scans/view/1",
        }
    },
    "ticket.opened": {
        "ticket": {
            "number": 1,
            "status": "Open",
            "severity": "High",
            "vulnerability_name": "Sample vulnerability",
            "asset_name": "sample-host",
            "asset_link": "https://sc.example.com/assets/view/1",
            "due_date": "2026-01-31",
            "owner": "owner@example.com",
        }
    },
}
_SAMPLES["ticket.closed"] = {
    "ticket": {**_SAMPLES["ticket.opened"]["ticket"], "status": "Closed (Fixed)"}
}


class TemplateOptions(Options):
    #: The Jinja2 template of the request body.
    template: Annotated[str, Field(min_length=1, max_length=MAX_TEMPLATE_LENGTH)]
    content_type: Annotated[
        str, Field(max_length=255, pattern=r"^[A-Za-z0-9!#$&^_.+-]+/[A-Za-z0-9!#$&^_.+-]+(;.*)?$")
    ] = "application/json"
    #: The largest body the template may produce, in bytes.
    max_bytes: Annotated[int, Field(ge=1, le=MAX_OUTPUT)] = 65_536
    #: Appended to the endpoint's URL.
    path_suffix: Annotated[str, Field(max_length=1024, pattern=r"^(/[^\s]*)?$")] = ""

    @field_validator("template")
    @classmethod
    def _compiles(cls, value: str) -> str:
        compile_template(value)
        return value


def _variables(
    notification: Notification, event_type: str, event_id: str, event_time: str, tz: tzinfo
) -> dict[str, Any]:
    wire = to_wire(notification, tz)
    fields = wire[notification.KEY]
    return {
        "event_type": event_type,
        "event_id": event_id,
        "event_time": event_time,
        "payload": wire,
        "notification": fields,
        "scheduled_scan": fields if notification.KEY == "scheduled_scan" else None,
        "finished_scan": fields if notification.KEY == "finished_scan" else None,
        "ticket": fields if notification.KEY == "ticket" else None,
    }


def _render(source: str, variables: dict[str, Any], max_bytes: int) -> bytes:
    return default_pool().render(source, variables, max_bytes, RENDER_SECONDS)


def _sample_event_id() -> str:
    """An id shaped like a real event's, different each time: a template cannot tell the
    save-time check from a delivery by its event id."""
    return "evt_" + "".join(secrets.choice(_CROCKFORD) for _ in range(26))


def check_template(options: TemplateOptions) -> None:
    """Render ``options.template`` once per event type on sample notifications, as a delivery
    would; ValueError saying which event type fails and why."""
    now = rfc3339(datetime.now(UTC))
    for event_type, wire in _SAMPLES.items():
        variables = _variables(parse(wire), event_type, _sample_event_id(), now, UTC)
        try:
            _render(options.template, variables, options.max_bytes)
        except RenderError as exc:
            raise ValueError(
                f"template fails on a sample {event_type} notification: {exc}"
            ) from None


def render(
    notification: Notification, options: TemplateOptions, context: FormatContext
) -> FormattedRequest:
    variables = _variables(
        notification,
        context.event_type,
        context.event_id,
        rfc3339(event_datetime(context)),
        context.tz,
    )
    body = _render(options.template, variables, options.max_bytes)
    return FormattedRequest(
        path_suffix=options.path_suffix,
        headers={},
        body=body,
        content_type=options.content_type,
        correlation_key=correlation_key(notification),
    )
