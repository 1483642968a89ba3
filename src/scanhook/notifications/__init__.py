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
from scanhook.notifications.samples import sample, samples
from scanhook.notifications.schema import all_schemas, json_schema

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
    "all_schemas",
    "encode",
    "event_type",
    "json_schema",
    "parse",
    "sample",
    "samples",
    "to_wire",
]
