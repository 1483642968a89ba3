"""``raw``: the notification exactly as it goes on the wire (docs/notifications.md)."""

from __future__ import annotations

from scanhook.formats.base import FormatContext, FormattedRequest, Options, correlation_key
from scanhook.notifications import Notification, encode

__all__ = ["RawOptions", "render"]


class RawOptions(Options):
    """``raw`` takes no options."""


def render(
    notification: Notification, options: RawOptions, context: FormatContext
) -> FormattedRequest:
    return FormattedRequest(
        path_suffix="",
        headers={},
        body=encode(notification, context.tz),
        content_type="application/json",
        correlation_key=correlation_key(notification),
    )
