"""The fields a filter can name, and their types, read from the notification models."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal, get_args, get_origin

from scanhook.notifications import PAYLOAD_MODELS

__all__ = [
    "BOOL",
    "EVENT_TYPE_FIELD",
    "FIELDS",
    "INT",
    "SEVERITY_ORDER",
    "STR",
    "FieldSpec",
    "Kind",
    "Type",
    "list_of",
    "suggest",
]

Kind = Literal["int", "str", "bool", "date", "timestamp", "severity", "list"]

#: Severities from the least to the most severe: ``<`` and ``>`` on severities follow this order.
SEVERITY_ORDER: tuple[str, ...] = ("Info", "Low", "Medium", "High", "Critical")


@dataclass(frozen=True, slots=True)
class Type:
    kind: Kind
    #: For enumerations (scan type, severity, event type): the values a field can take.
    values: tuple[str, ...] | None = None
    #: For lists: the type of the items.
    item: Type | None = None

    def describe(self) -> str:
        if self.kind == "list":
            return f"a list of {self.item.describe() if self.item else 'values'}"
        return {
            "int": "an integer",
            "str": "a string",
            "bool": "a boolean",
            "date": "a date",
            "timestamp": "a timestamp",
            "severity": "a severity",
        }[self.kind]

    def comparable_with(self, other: Type) -> bool:
        """Values of the two types can be compared (``==``) with each other."""
        if self.kind == "list" or other.kind == "list":
            return False
        return self.kind == other.kind


INT = Type("int")
STR = Type("str")
BOOL = Type("bool")


def list_of(item: Type) -> Type:
    return Type("list", item=item)


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """A field a filter names: ``ticket.severity`` is key ``ticket``, name ``severity``."""

    path: str
    #: The notification's top-level key; None for ``event_type``, present on every notification.
    key: str | None
    name: str
    type: Type


#: ``event_type``: ``scheduled_scan``, ``finished_scan``, ``ticket.opened`` or ``ticket.closed``.
EVENT_TYPE_FIELD = FieldSpec(
    "event_type",
    None,
    "event_type",
    Type("str", values=("scheduled_scan", "finished_scan", "ticket.opened", "ticket.closed")),
)


def _type_of(annotation: object) -> Type:
    if get_origin(annotation) is Literal:
        values = tuple(str(arg) for arg in get_args(annotation))
        if values == SEVERITY_ORDER:
            return Type("severity", values=values)
        return Type("str", values=values)
    if annotation is bool:
        return BOOL
    if annotation is int:
        return INT
    if annotation is datetime:
        return Type("timestamp")
    if annotation is date:
        return Type("date")
    return STR


def _catalogue() -> dict[str, FieldSpec]:
    fields = {EVENT_TYPE_FIELD.path: EVENT_TYPE_FIELD}
    for key, model in PAYLOAD_MODELS.items():
        for name, info in model.model_fields.items():
            path = f"{key}.{name}"
            fields[path] = FieldSpec(path, key, name, _type_of(info.annotation))
    return fields


#: Every field a filter can name, by its path.
FIELDS: dict[str, FieldSpec] = _catalogue()


def suggest(path: str) -> str | None:
    """The known field closest to a misspelt ``path``, if one is close."""
    matches = difflib.get_close_matches(path, list(FIELDS), n=1, cutoff=0.75)
    return matches[0] if matches else None
