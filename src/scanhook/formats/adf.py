"""Atlassian Document Format (ADF) builders for Jira descriptions and comments."""

from __future__ import annotations

from datetime import tzinfo
from typing import Any

from scanhook.formats.base import facts, link_of, summary, truncate
from scanhook.notifications import FinishedScan, Notification

__all__ = ["document"]

#: Jira's limit for a rich-text field is 32,767 characters; stay well below.
_MAX_ERRORS = 20_000


def _text(value: str, *marks: dict[str, Any]) -> dict[str, Any]:
    node: dict[str, Any] = {"type": "text", "text": value}
    if marks:
        node["marks"] = list(marks)
    return node


def _paragraph(*content: dict[str, Any]) -> dict[str, Any]:
    return {"type": "paragraph", "content": list(content)}


def document(notification: Notification, tz: tzinfo, lead: str | None = None) -> dict[str, Any]:
    """An ADF ``doc``: a lead paragraph, the fields as a bullet list, errors, the link."""
    content: list[dict[str, Any]] = [_paragraph(_text(lead or summary(notification, tz)))]
    items = [
        {
            "type": "listItem",
            "content": [_paragraph(_text(f"{label}: ", {"type": "strong"}), _text(value))],
        }
        for label, value in facts(notification, tz)
    ]
    content.append({"type": "bulletList", "content": items})
    if isinstance(notification, FinishedScan) and notification.errors:
        content.append(_paragraph(_text("Errors", {"type": "strong"})))
        content.append(
            {
                "type": "codeBlock",
                "content": [_text(truncate(notification.errors, _MAX_ERRORS))],
            }
        )
    link = link_of(notification)
    content.append(
        _paragraph(_text("Open in Security Center", {"type": "link", "attrs": {"href": link}}))
    )
    return {"type": "doc", "version": 1, "content": content}
