"""Which endpoints an event goes to.

An endpoint receives an event when it is enabled, one of its ``event_types`` entries names the
event type exactly or matches it as an fnmatch-style glob (``ticket.*``, ``*``; case-sensitive),
and its ``filter`` (when it has one) accepts the notification.
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from functools import lru_cache

from scanhook.filters import Filter, FilterError, compile_filter
from scanhook.notifications import Notification
from scanhook.store.records import Endpoint

__all__ = ["matches", "type_matches"]


def type_matches(patterns: tuple[str, ...] | list[str], event_type: str) -> bool:
    """Whether any entry of ``patterns`` is ``event_type`` or a glob matching it."""
    return any(p == event_type or fnmatchcase(event_type, p) for p in patterns)


@lru_cache(maxsize=1024)
def _compiled(text: str) -> Filter | None:
    try:
        return compile_filter(text)
    except FilterError:
        return None


def _filter_accepts(endpoint: Endpoint, notification: Notification) -> bool:
    """Whether the endpoint's filter expression (docs/destinations.md, e.g. ``ticket.severity in
    ["High"]``, see :mod:`scanhook.filters`) accepts the notification; no filter accepts all.

    The API refuses an invalid expression when the endpoint is saved; one that is invalid all the
    same (e.g. written by an older release) accepts nothing rather than everything.
    """
    if endpoint.filter is None or not endpoint.filter.strip():
        return True
    compiled = _compiled(endpoint.filter)
    return compiled is not None and compiled.matches(notification)


def matches(endpoint: Endpoint, event_type: str, notification: Notification) -> bool:
    """Whether ``endpoint`` should receive the event ``event_type`` carrying ``notification``."""
    return (
        endpoint.enabled
        and type_matches(endpoint.event_types, event_type)
        and _filter_accepts(endpoint, notification)
    )
