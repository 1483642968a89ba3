"""The headers of one delivery attempt (docs/notifications.md) and the secrets that sign it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from scanhook._version import __version__
from scanhook.delivery.signing import sign
from scanhook.store.records import ClaimedDelivery, Endpoint

__all__ = [
    "HEADER_NAME",
    "PROTECTED_HEADERS",
    "USER_AGENT",
    "active_secrets",
    "build_headers",
    "delivery_headers",
]

#: ``User-Agent`` of every delivery.
USER_AGENT = f"scanhook/{__version__}"

#: What a header name may be (an HTTP token, RFC 9110 §5.1).
HEADER_NAME = r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$"
#: Headers (lower-case) that an endpoint's own headers (or its ``auth`` header) can never set or
#: override.
PROTECTED_HEADERS = frozenset(
    {
        "content-type",
        "accept",
        "content-length",
        "user-agent",
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
        "scanhook-event-type",
        "scanhook-attempt",
        "content_type",
        "content_length",
        # Framing and routing belong to the HTTP client, not to an endpoint's settings.
        "host",
        "transfer-encoding",
        "connection",
    }
)


def build_headers(
    *,
    msg_id: str,
    timestamp: int,
    body: bytes,
    event_type: str,
    attempt: int,
    secrets: Sequence[str],
    legacy_headers: bool,
    extra: Mapping[str, str],
    user_agent: str,
    content_type: str = "application/json",
) -> dict[str, str]:
    """Every header of one attempt: the wire format's (docs/notifications.md), then the
    endpoint's ``extra`` ones, which cannot override any of them (compared case-insensitively)."""
    length = str(len(body))
    headers = {
        "Content-Type": content_type,
        "Accept": "*/*",
        "Content-Length": length,
        "User-Agent": user_agent,
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secrets, msg_id, timestamp, body),
        "scanhook-event-type": event_type,
        "scanhook-attempt": str(attempt),
    }
    if legacy_headers:
        headers["Content_Type"] = content_type
        headers["Content_Length"] = length
    if extra:
        for name, value in extra.items():
            if name.lower() not in PROTECTED_HEADERS:
                headers[name] = value
    return headers


def delivery_headers(
    delivery: ClaimedDelivery,
    started: float,
    user_agent: str,
    *,
    body: bytes | None = None,
    content_type: str = "application/json",
) -> dict[str, str]:
    """:func:`build_headers` for one attempt of ``delivery`` started at ``started``: signed with
    its endpoint's active secrets, over ``body`` (default: the delivery's own)."""
    endpoint = delivery.endpoint
    return build_headers(
        msg_id=delivery.id,
        timestamp=int(started),
        body=delivery.body if body is None else body,
        event_type=delivery.event_type,
        attempt=delivery.attempt,
        secrets=active_secrets(endpoint, started),
        legacy_headers=endpoint.legacy_headers,
        extra=endpoint.headers,
        user_agent=user_agent,
        content_type=content_type,
    )


def active_secrets(endpoint: Endpoint, now: float) -> list[str]:
    """The secrets that sign a delivery now: the current one(s), then rotated-out ones still in
    their overlap (``expires_at`` > ``now``), newest first."""
    secrets = endpoint.secrets
    if len(secrets) == 1 and secrets[0].expires_at is None:
        return [secrets[0].value]  # no rotation under way: every attempt's case
    current = [s.value for s in secrets if s.expires_at is None]
    overlapping = sorted(
        (s for s in endpoint.secrets if s.expires_at is not None and s.expires_at > now),
        key=lambda s: s.expires_at or 0.0,
        reverse=True,
    )
    return current + [s.value for s in overlapping]
