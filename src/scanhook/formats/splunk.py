"""``splunk``: one HTTP Event Collector event (``/services/collector/event``).

The HEC token is authentication, not an option: give the endpoint
``"auth": {"type": "header", "name": "Authorization", "value": "Splunk <token>"}``.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from scanhook.formats.base import (
    FormatContext,
    FormattedRequest,
    Options,
    correlation_key,
    json_body,
)
from scanhook.notifications import Notification
from scanhook.notifications.encoding import to_wire

__all__ = ["PATH", "SplunkOptions", "render"]

PATH = "/services/collector/event"
_Name = Annotated[str, Field(min_length=1, max_length=255, pattern=r"^\S(.*\S)?$")]


class SplunkOptions(Options):
    sourcetype: _Name = "scanhook:notification"
    source: _Name = "scanhook"
    #: The index to write to; the token's default index when not given.
    index: _Name | None = None
    #: The ``host`` field; Splunk uses the sender's address when not given.
    host: _Name | None = None


def render(
    notification: Notification, options: SplunkOptions, context: FormatContext
) -> FormattedRequest:
    event: dict[str, Any] = {
        "time": round(context.event_time, 3),
        "source": options.source,
        "sourcetype": options.sourcetype,
    }
    if options.index is not None:
        event["index"] = options.index
    if options.host is not None:
        event["host"] = options.host
    event["event"] = {
        "event_id": context.event_id,
        "event_type": context.event_type,
        **to_wire(notification, context.tz),
    }
    return FormattedRequest(
        path_suffix=PATH,
        headers={},
        body=json_body(event),
        content_type="application/json",
        correlation_key=correlation_key(notification),
    )
