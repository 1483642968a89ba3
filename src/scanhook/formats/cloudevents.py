"""``cloudevents``: CloudEvents 1.0 in structured JSON mode, the raw notification as ``data``."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from scanhook.formats.base import (
    FormatContext,
    FormattedRequest,
    Options,
    correlation_key,
    event_datetime,
    json_body,
    rfc3339,
)
from scanhook.notifications import Notification
from scanhook.notifications.encoding import to_wire

__all__ = ["CONTENT_TYPE", "CloudEventsOptions", "render"]

CONTENT_TYPE = "application/cloudevents+json"


class CloudEventsOptions(Options):
    #: The event's ``source`` (a URI reference identifying the producer).
    source: Annotated[str, Field(min_length=1, max_length=1024, pattern=r"^\S+$")] = "/scanhook"
    #: ``type`` is ``<type_prefix>.<event type>``.
    type_prefix: Annotated[
        str, Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9][A-Za-z0-9.\-_]*$")
    ] = "com.scanhook"


def render(
    notification: Notification, options: CloudEventsOptions, context: FormatContext
) -> FormattedRequest:
    event: dict[str, Any] = {
        "specversion": "1.0",
        "id": context.event_id,
        "source": options.source,
        "type": f"{options.type_prefix}.{context.event_type}",
        "subject": correlation_key(notification),
        "time": rfc3339(event_datetime(context)),
        "datacontenttype": "application/json",
        "data": to_wire(notification, context.tz),
    }
    return FormattedRequest(
        path_suffix="",
        headers={},
        body=json_body(event),
        content_type=CONTENT_TYPE,
        correlation_key=correlation_key(notification),
    )
