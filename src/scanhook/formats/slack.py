"""``slack``: a Slack incoming-webhook message, ``text`` as the fallback and Block Kit ``blocks``.

Slack's documented limits are kept: header text ≤ 150 characters, section text ≤ 3000, a section
field ≤ 2000 and ≤ 10 fields, a button URL ≤ 3000, ≤ 50 blocks. Texts are cut safely: never
inside an escape (``&amp;``), and marked with ``…``.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from scanhook.formats.base import (
    FormatContext,
    FormattedRequest,
    Options,
    correlation_key,
    facts,
    json_body,
    link_of,
    summary,
    truncate,
)
from scanhook.notifications import FinishedScan, Notification

__all__ = [
    "MAX_BLOCKS",
    "MAX_FIELDS",
    "MAX_FIELD_TEXT",
    "MAX_HEADER_TEXT",
    "MAX_SECTION_TEXT",
    "MAX_URL",
    "SlackOptions",
    "mrkdwn",
    "render",
]

MAX_HEADER_TEXT = 150
MAX_SECTION_TEXT = 3000
MAX_FIELD_TEXT = 2000
MAX_FIELDS = 10
MAX_URL = 3000
MAX_BLOCKS = 50
_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


class SlackOptions(Options):
    #: Put in front of the message, e.g. ``<!here>``, ``<!channel>`` or ``<@U024BE7LH>``.
    mention: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    #: Show the event type and id under the message.
    show_event_id: bool = True


def mrkdwn(text: str, limit: int) -> str:
    """``text`` escaped for mrkdwn (``& < >``) in at most ``limit`` characters."""
    pieces: list[str] = []
    length = 0
    for index, char in enumerate(text):
        piece = _ESCAPES.get(char, char)
        rest = len(text) - index - 1
        budget = limit if rest == 0 else limit - 1  # keep room for "…" unless this is the end
        if length + len(piece) > budget:
            return "".join(pieces) + "…"
        pieces.append(piece)
        length += len(piece)
    return "".join(pieces)


def _plain(text: str, limit: int) -> dict[str, Any]:
    return {"type": "plain_text", "text": truncate(text, limit), "emoji": False}


def render(
    notification: Notification, options: SlackOptions, context: FormatContext
) -> FormattedRequest:
    title = summary(notification, context.tz)
    blocks: list[dict[str, Any]] = [{"type": "header", "text": _plain(title, MAX_HEADER_TEXT)}]
    fields = [
        {
            "type": "mrkdwn",
            "text": f"*{mrkdwn(label, 100)}*\n" + mrkdwn(value, MAX_FIELD_TEXT - 110),
        }
        for label, value in facts(notification, context.tz)[:MAX_FIELDS]
    ]
    blocks.append({"type": "section", "fields": fields})
    if isinstance(notification, FinishedScan) and notification.errors:
        fence = "```"
        inner = mrkdwn(notification.errors, MAX_SECTION_TEXT - 2 * len(fence) - 12)
        text = f"*Errors*\n{fence}{inner}{fence}"
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text}})
    link = link_of(notification)
    if len(link) <= MAX_URL:
        button = {
            "type": "button",
            "text": _plain("Open in Security Center", 75),
            "url": link,
            "action_id": "open",
        }
        blocks.append({"type": "actions", "elements": [button]})
    if options.show_event_id:
        note = mrkdwn(f"scanhook · {context.event_type} · {context.event_id}", MAX_SECTION_TEXT)
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": note}]})
    fallback = mrkdwn(
        title, MAX_SECTION_TEXT - (len(options.mention) + 1 if options.mention else 0)
    )
    text = f"{options.mention} {fallback}" if options.mention else fallback
    message = {"text": text, "blocks": blocks[:MAX_BLOCKS]}
    return FormattedRequest(
        path_suffix="",
        headers={},
        body=json_body(message),
        content_type="application/json",
        correlation_key=correlation_key(notification),
    )
