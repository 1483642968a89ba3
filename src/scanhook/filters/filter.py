"""A compiled filter: the checked expression of an endpoint, applied to notifications."""

from __future__ import annotations

from dataclasses import dataclass, field

from scanhook.filters.nodes import FieldRef, Node
from scanhook.filters.parser import parse
from scanhook.notifications import Notification

__all__ = ["Filter", "compile_filter"]


def _fields(node: Node) -> list[str]:
    if isinstance(node, FieldRef):
        return [node.field.path]
    found: list[str] = []
    for name in ("left", "right", "operand"):
        child = getattr(node, name, None)
        if isinstance(child, Node):
            found.extend(path for path in _fields(child) if path not in found)
    return found


@dataclass(frozen=True, slots=True)
class Filter:
    """A filter that parsed and type-checked; :meth:`matches` never raises."""

    #: The expression as the user wrote it.
    text: str
    root: Node = field(repr=False, compare=False)

    @property
    def fields(self) -> tuple[str, ...]:
        """The field paths the expression reads, in the order they first appear."""
        return tuple(_fields(self.root))

    def matches(self, notification: Notification) -> bool:
        """True when ``notification`` passes the filter.

        A comparison about fields the notification does not have is unknown, and an unknown
        result does not match: ``ticket.severity == "High"`` is false for a ``finished_scan``,
        and so is ``not (ticket.severity == "High")``.
        """
        return self.root.evaluate(notification) is True


def compile_filter(text: str) -> Filter:
    """``text`` parsed and type-checked against the notification models.

    Raises :class:`~scanhook.filters.FilterError` with ``position`` (1-based column) and a
    message naming the problem, e.g.
    ``column 1: unknown field 'ticket.severty' (did you mean 'ticket.severity'?)``.
    """
    return Filter(text, parse(text))
