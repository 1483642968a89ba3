"""The notifications' event types: plain names, light enough for the command line's help."""

from __future__ import annotations

from typing import Literal

__all__ = ["EVENT_TYPES", "EventType"]

EventType = Literal["scheduled_scan", "finished_scan", "ticket.opened", "ticket.closed"]
EVENT_TYPES: tuple[EventType, ...] = (
    "scheduled_scan",
    "finished_scan",
    "ticket.opened",
    "ticket.closed",
)
