"""Which endpoints an event goes to.

An endpoint receives an event when it is enabled, one of its ``event_types`` entries names the
event type exactly or matches it as an fnmatch-style glob (``ticket.*``, ``*``; case-sensitive),
and its ``filter`` (when it has one) accepts the notification.
"""

from __future__ import annotations

from fnmatch import fnmatchcase

from scanhook.notifications import Notification
from scanhook.store.records import Endpoint

__all__ = ["matches", "type_matches"]


def type_matches(patterns: tuple[str, ...] | list[str], event_type: str) -> bool:
    """Whether any entry of ``patterns`` is ``event_type`` or a glob matching it."""
    return any(p == event_type or fnmatchcase(event_type, p) for p in patterns)


def _filter_accepts(endpoint: Endpoint, notification: Notification) -> bool:
    """Whether the endpoint's filter expression accepts the notification.

    The place for filter expressions (contract §8, e.g. ``ticket.severity in ["High"]``): they
    arrive with the filter language in a later change. Until then an endpoint's ``filter`` is
    stored but not applied, so every notification passes.
    """
    del endpoint, notification
    return True


def matches(endpoint: Endpoint, event_type: str, notification: Notification) -> bool:
    """Whether ``endpoint`` should receive the event ``event_type`` carrying ``notification``."""
    return (
        endpoint.enabled
        and type_matches(endpoint.event_types, event_type)
        and _filter_accepts(endpoint, notification)
    )
