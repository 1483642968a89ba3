"""``teams``: a Microsoft Teams Workflows (Power Automate) webhook message carrying an Adaptive
Card 1.5. The retired Office 365 connector ``MessageCard`` is not used.

Teams refuses messages over about 28 KB: long texts are cut so that a card stays well below.
"""

from __future__ import annotations

from typing import Any

from scanhook.formats.base import (
    FormatContext,
    FormattedRequest,
    Options,
    correlation_key,
    facts,
    json_body,
    link_of,
    scan_severity,
    summary,
    truncate,
)
from scanhook.notifications import FinishedScan, Notification, Ticket

__all__ = ["CARD_CONTENT_TYPE", "MAX_MESSAGE_BYTES", "TeamsOptions", "render"]

CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
MAX_MESSAGE_BYTES = 28_000
_MAX_TITLE = 300
_MAX_FACT = 1000
_MAX_ERRORS = 4000
_COLORS = {"Critical": "Attention", "High": "Attention", "Medium": "Warning"}


class TeamsOptions(Options):
    #: Let the card use the full width of the chat (``msteams.width = "Full"``).
    full_width: bool = True
    #: Show the event type and id at the bottom of the card.
    show_event_id: bool = True


def _color(notification: Notification) -> str:
    if isinstance(notification, Ticket):
        severity: str | None = notification.severity
    elif isinstance(notification, FinishedScan):
        severity = scan_severity(notification)
    else:
        severity = None
    return _COLORS.get(severity or "", "Default")


def render(
    notification: Notification, options: TeamsOptions, context: FormatContext
) -> FormattedRequest:
    body: list[dict[str, Any]] = [
        {
            "type": "TextBlock",
            "text": truncate(summary(notification, context.tz), _MAX_TITLE),
            "style": "heading",
            "size": "Medium",
            "weight": "Bolder",
            "color": _color(notification),
            "wrap": True,
        },
        {
            "type": "FactSet",
            "facts": [
                {"title": label, "value": truncate(value, _MAX_FACT)}
                for label, value in facts(notification, context.tz)
            ],
        },
    ]
    if isinstance(notification, FinishedScan) and notification.errors:
        body.append({"type": "TextBlock", "text": "Errors", "weight": "Bolder", "wrap": True})
        body.append(
            {
                "type": "TextBlock",
                "text": truncate(notification.errors, _MAX_ERRORS),
                "fontType": "Monospace",
                "wrap": True,
            }
        )
    if options.show_event_id:
        body.append(
            {
                "type": "TextBlock",
                "text": f"scanhook · {context.event_type} · {context.event_id}",
                "isSubtle": True,
                "size": "Small",
                "wrap": True,
            }
        )
    link = link_of(notification)
    card: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.5",
        "body": body,
        "actions": [
            {
                "type": "Action.OpenUrl",
                "title": "Open in Security Center",
                "url": link,
            }
        ],
    }
    if options.full_width:
        card["msteams"] = {"width": "Full"}
    message = {
        "type": "message",
        "attachments": [{"contentType": CARD_CONTENT_TYPE, "contentUrl": None, "content": card}],
    }
    return FormattedRequest(
        path_suffix="",
        headers={},
        body=json_body(message),
        content_type="application/json",
        correlation_key=correlation_key(notification),
    )
