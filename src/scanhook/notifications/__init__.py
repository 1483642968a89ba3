"""The Security Center's notifications: typed models, the wire encoding, JSON Schemas.

This package is the innermost layer: it imports nothing else of scanhook but its errors.
"""

from scanhook.notifications.encoding import encode, event_type, parse, to_wire
from scanhook.notifications.models import (
    EVENT_TYPES,
    PAYLOAD_MODELS,
    EventType,
    FinishedScan,
    Notification,
    ScanType,
    ScheduledScan,
    Severity,
    Ticket,
)

__all__ = [
    "EVENT_TYPES",
    "PAYLOAD_MODELS",
    "EventType",
    "FinishedScan",
    "Notification",
    "ScanType",
    "ScheduledScan",
    "Severity",
    "Ticket",
    "encode",
    "event_type",
    "parse",
    "to_wire",
]
