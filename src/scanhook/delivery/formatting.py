"""Turning a claimed delivery into the request to send, for endpoints with a ``format`` other
than ``raw``, and reading the target's answer in that format's terms.

The stored body is the wire object (docs/notifications.md), written in the display time zone; it
is parsed back in that zone and rendered with :func:`scanhook.formats.render`. Everything here is
pure; :mod:`scanhook.delivery.destinations` does the I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import tzinfo

from scanhook.formats import (
    FormatContext,
    FormattedRequest,
    Skip,
    classify_failure,
    correlation_key,
    describe_failure,
    render,
)
from scanhook.formats.render_pool import off_loop
from scanhook.notifications import Notification, parse
from scanhook.store.records import ClaimedDelivery

__all__ = [
    "OFF_LOOP_FORMATS",
    "REMOTE_ID_FORMATS",
    "REMOTE_ID_RESPONSE_LIMIT",
    "Prepared",
    "notification_of",
    "prepare",
    "prepare_off_loop",
    "read_failure",
    "remote_key",
]

#: Formats whose ``ticket.opened`` creates a remote record that the close transitions/resolves.
REMOTE_ID_FORMATS = frozenset({"jira", "servicenow"})
#: How much of a create response is read for its remote id: a ServiceNow Table API create
#: answers with the whole incident record (often 5-10 KiB, ``sys_id`` anywhere in it), more than
#: the 4 KiB kept of other answers. Only requests that expect a remote id read this much.
REMOTE_ID_RESPONSE_LIMIT = 256 * 1024


@dataclass(frozen=True, slots=True)
class Prepared:
    """The request of one attempt: where, how, and what the format said about it."""

    url: str
    request: FormattedRequest

    @property
    def response_limit(self) -> int | None:
        """How much of the answer to read (None: the client's default)."""
        return REMOTE_ID_RESPONSE_LIMIT if self.request.expects_remote_id else None


def notification_of(delivery: ClaimedDelivery, tz: tzinfo) -> Notification:
    """The delivery's notification, parsed from its stored wire body in the display zone."""
    return parse(delivery.body, tz)


def remote_key(delivery: ClaimedDelivery, notification: Notification) -> str | None:
    """The correlation key whose stored remote id this delivery needs (a ``ticket.closed`` to
    a Jira or ServiceNow endpoint), or None."""
    if delivery.endpoint.format in REMOTE_ID_FORMATS and delivery.event_type == "ticket.closed":
        return correlation_key(notification)
    return None


def prepare(
    delivery: ClaimedDelivery,
    notification: Notification,
    tz: tzinfo,
    remote_id: str | None = None,
) -> Prepared | Skip:
    """Render the delivery for its endpoint's format. Raises
    :class:`~scanhook.formats.RenderError` (and InvalidRequest for options that no longer
    validate): the delivery cannot be sent by this endpoint, so retrying cannot help."""
    endpoint = delivery.endpoint
    context = FormatContext(
        event_id=delivery.event_id,
        event_type=delivery.event_type,
        event_time=delivery.event_created_at,
        tz=tz,
        remote_id=remote_id,
    )
    rendered = render(endpoint.format, notification, endpoint.format_options, context)
    if isinstance(rendered, Skip):
        return rendered
    url = endpoint.url.rstrip("/") + rendered.path_suffix if rendered.path_suffix else endpoint.url
    return Prepared(url, rendered)


#: Formats that render user code in a render process, waiting up to its deadline: they are
#: prepared on a worker thread so the event loop (and every other delivery) never waits for them.
OFF_LOOP_FORMATS = frozenset({"template"})


async def prepare_off_loop(
    delivery: ClaimedDelivery,
    notification: Notification,
    tz: tzinfo,
    remote_id: str | None = None,
) -> Prepared | Skip:
    """:func:`prepare`, on a render thread for the formats of :data:`OFF_LOOP_FORMATS`."""
    if delivery.endpoint.format in OFF_LOOP_FORMATS:
        return await off_loop(prepare, delivery, notification, tz, remote_id)
    return prepare(delivery, notification, tz, remote_id)


def read_failure(format_name: str, status_code: int | None, body: bytes) -> tuple[str | None, bool]:
    """For a non-2xx answer: the format's readable reason (None when the body says nothing
    useful) and whether the target will never accept the request as it is."""
    if status_code is None:
        return None, False
    failure = classify_failure(format_name, status_code, body)
    if failure.reason is None:
        return None, failure.permanent
    return describe_failure(format_name, status_code, body), failure.permanent
