"""The Security Center's notifications: typed models, the wire encoding, JSON Schemas.

This package is the innermost layer: it imports nothing else of scanhook but its errors.

Its names load their module on first use, so that the light parts (the event types, the time
formats) do not bring in the models and pydantic.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from scanhook.notifications.encoding import encode, event_type, parse, to_wire
    from scanhook.notifications.event_types import EVENT_TYPES, EventType
    from scanhook.notifications.models import (
        PAYLOAD_MODELS,
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

_HOMES = {
    "EVENT_TYPES": "scanhook.notifications.event_types",
    "EventType": "scanhook.notifications.event_types",
    "FinishedScan": "scanhook.notifications.models",
    "Notification": "scanhook.notifications.models",
    "PAYLOAD_MODELS": "scanhook.notifications.models",
    "ScanType": "scanhook.notifications.models",
    "ScheduledScan": "scanhook.notifications.models",
    "Severity": "scanhook.notifications.models",
    "Ticket": "scanhook.notifications.models",
    "all_schemas": "scanhook.notifications.schema",
    "encode": "scanhook.notifications.encoding",
    "event_type": "scanhook.notifications.encoding",
    "json_schema": "scanhook.notifications.schema",
    "parse": "scanhook.notifications.encoding",
    "sample": "scanhook.notifications.samples",
    "samples": "scanhook.notifications.samples",
    "to_wire": "scanhook.notifications.encoding",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'scanhook.notifications' has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)


class _Package(types.ModuleType):
    """This package, whose function ``samples`` shares its name with the module that defines
    it: the import system sets a module on its package as it loads it, and that must not hide
    the function."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _HOMES and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
