"""The checked expression tree of a filter, and how each node evaluates on a notification.

Logic is three-valued, as in SQL: a comparison that reads a field the notification does not
have (``ticket.severity`` on a ``finished_scan``) is *unknown* (``None``); ``not`` unknown is
unknown; ``false and`` unknown is false, ``true or`` unknown is true; a filter whose result is
unknown does not match.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from scanhook.filters.fields import SEVERITY_ORDER, FieldSpec, Type
from scanhook.filters.regex import Pattern
from scanhook.notifications import Notification

__all__ = [
    "MISSING",
    "And",
    "Arithmetic",
    "Compare",
    "Constant",
    "FieldRef",
    "Member",
    "Node",
    "Not",
    "Or",
    "RegexMatch",
]


class _Missing:
    """The value of a field the notification does not have."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING = _Missing()

CompareOp = Literal["==", "!=", "<", "<=", ">", ">="]


@dataclass(frozen=True, slots=True)
class Node:
    type: Type
    #: 1-based column where the node's text starts.
    position: int

    def evaluate(self, notification: Notification) -> object:
        raise NotImplementedError  # pragma: no cover - every node defines it


@dataclass(frozen=True, slots=True)
class Constant(Node):
    """A literal: a string, an int, true/false, a list, or a string read as a date/timestamp."""

    value: object

    def evaluate(self, notification: Notification) -> object:
        return self.value


@dataclass(frozen=True, slots=True)
class FieldRef(Node):
    field: FieldSpec

    def evaluate(self, notification: Notification) -> object:
        if self.field.key is None:
            return notification.event_type
        if self.field.key != notification.KEY:
            return MISSING
        return getattr(notification, self.field.name)


@dataclass(frozen=True, slots=True)
class Arithmetic(Node):
    op: Literal["+", "-"]
    left: Node
    right: Node

    def evaluate(self, notification: Notification) -> object:
        left = self.left.evaluate(notification)
        right = self.right.evaluate(notification)
        if not isinstance(left, int) or not isinstance(right, int):
            return MISSING
        return left + right if self.op == "+" else left - right


def _rank(value: object, type_: Type) -> object:
    if type_.kind == "severity" and isinstance(value, str):
        return SEVERITY_ORDER.index(value)
    return value


@dataclass(frozen=True, slots=True)
class Compare(Node):
    op: CompareOp
    left: Node
    right: Node

    def evaluate(self, notification: Notification) -> bool | None:
        left = self.left.evaluate(notification)
        right = self.right.evaluate(notification)
        if left is MISSING or right is MISSING:
            return None
        a, b = _rank(left, self.left.type), _rank(right, self.right.type)
        if self.op == "==":
            return a == b
        if self.op == "!=":
            return a != b
        try:
            if self.op == "<":
                return bool(a < b)  # type: ignore[operator]
            if self.op == "<=":
                return bool(a <= b)  # type: ignore[operator]
            if self.op == ">":
                return bool(a > b)  # type: ignore[operator]
            return bool(a >= b)  # type: ignore[operator]
        except TypeError:  # pragma: no cover - the checker only lets comparable types through
            return None


@dataclass(frozen=True, slots=True)
class Member(Node):
    """``x in [..]`` / ``x not in [..]``, or a substring test ``"prod" in ticket.asset_name``."""

    left: Node
    right: Node
    negate: bool

    def evaluate(self, notification: Notification) -> bool | None:
        left = self.left.evaluate(notification)
        right = self.right.evaluate(notification)
        if left is MISSING or right is MISSING:
            return None
        if isinstance(right, str):
            found = isinstance(left, str) and left in right
        elif isinstance(right, tuple):
            found = left in right
        else:  # pragma: no cover - the checker only lets lists and strings through
            return None
        return not found if self.negate else found


@dataclass(frozen=True, slots=True)
class RegexMatch(Node):
    """``x matches "pattern"``: true when the pattern is found anywhere in x, in time linear in
    the length of x (see :mod:`scanhook.filters.regex`)."""

    left: Node
    pattern: Pattern

    def evaluate(self, notification: Notification) -> bool | None:
        left = self.left.evaluate(notification)
        if not isinstance(left, str):
            return None
        return self.pattern.search(left)


@dataclass(frozen=True, slots=True)
class Not(Node):
    operand: Node

    def evaluate(self, notification: Notification) -> bool | None:
        value = self.operand.evaluate(notification)
        return None if value is None else not value


@dataclass(frozen=True, slots=True)
class And(Node):
    left: Node
    right: Node

    def evaluate(self, notification: Notification) -> bool | None:
        left = self.left.evaluate(notification)
        if left is False:
            return False
        right = self.right.evaluate(notification)
        if right is False:
            return False
        if left is None or right is None:
            return None
        return True


@dataclass(frozen=True, slots=True)
class Or(Node):
    left: Node
    right: Node

    def evaluate(self, notification: Notification) -> bool | None:
        left = self.left.evaluate(notification)
        if left is True:
            return True
        right = self.right.evaluate(notification)
        if right is True:
            return True
        if left is None or right is None:
            return None
        return False
