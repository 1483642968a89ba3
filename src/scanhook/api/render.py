"""Records of the store as API response models: times in UTC, secrets hidden or masked."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from datetime import UTC, datetime, tzinfo
from typing import Any

from scanhook.api.models import (
    AttemptOut,
    CircuitOut,
    DeliveryDetail,
    DeliveryOut,
    EndpointCreated,
    EndpointHealth,
    EndpointOut,
    EventOut,
    NoticeOut,
    Requeued,
    RetriedDelivery,
    ScheduleOut,
)
from scanhook.notifications.timefmt import format_timestamp
from scanhook.store.records import (
    AttemptRecord,
    DeliveryRecord,
    Endpoint,
    EventRecord,
    is_secret_header,
)
from scanhook.store.rules import circuit_state
from scanhook.store.schedule_records import NoticeRecord, ScheduleRecord

__all__ = [
    "MASK",
    "circuit",
    "circuit_delay",
    "created_endpoint",
    "delivery",
    "delivery_detail",
    "endpoint",
    "event",
    "mask_auth",
    "mask_headers",
    "moment",
    "notice",
    "requeued",
    "retried_delivery",
    "schedule",
    "seconds",
]

MASK = "********"
#: Keys of an endpoint's ``auth`` that are not secret; every other value is masked.
_PLAIN_AUTH_KEYS = frozenset(
    {
        "type",
        "username",
        "name",
        "header",
        "token_url",
        "client_id",
        "client_auth",
        "scope",
        "scopes",
        "audience",
    }
)


def moment(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


def seconds(value: datetime | None) -> float | None:
    """Unix seconds of an API time; a time without an offset is taken as UTC."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


def _at(value: float) -> datetime:
    return datetime.fromtimestamp(value, UTC)


def mask_auth(auth: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """``auth`` with every value but the plain ones (type, username, header name…) masked."""
    if auth is None:
        return None
    return {k: (v if k in _PLAIN_AUTH_KEYS or v is None else MASK) for k, v in auth.items()}


def circuit(ep: Endpoint, now: float | None = None) -> CircuitOut:
    """The endpoint's circuit at ``now`` (default: the current time)."""
    return CircuitOut(
        state=circuit_state(ep.circuit_open_until, time.time() if now is None else now),
        open_until=moment(ep.circuit_open_until),
        opened_at=moment(ep.circuit_opened_at),
        reason=ep.circuit_reason,
        failed_probes=ep.circuit_failed_probes,
    )


def circuit_delay(ep: Endpoint | None, now: float | None = None) -> CircuitOut | None:
    """The endpoint's circuit when it will delay what is requeued for it (open or half-open);
    None when it is closed (or the endpoint is gone)."""
    if ep is None:
        return None
    shown = circuit(ep, now)
    return None if shown.state == "closed" else shown


def mask_headers(ep: Endpoint) -> dict[str, str]:
    """The endpoint's headers with the values of its secret headers masked."""
    return {
        name: MASK if is_secret_header(name, ep.secret_headers) else value
        for name, value in ep.headers.items()
    }


def _endpoint_fields(ep: Endpoint) -> dict[str, Any]:
    return {
        "id": ep.id,
        "url": ep.url,
        "description": ep.description,
        "event_types": list(ep.event_types),
        "format": ep.format,
        "format_options": dict(ep.format_options),
        "filter": ep.filter,
        "headers": mask_headers(ep),
        "secret_headers": list(ep.secret_headers),
        "legacy_headers": ep.legacy_headers,
        "auth": mask_auth(ep.auth),
        "timeout": ep.timeout,
        "max_in_flight": ep.max_in_flight,
        "rate_limit": ep.rate_limit,
        "ordered": ep.ordered,
        "enabled": ep.enabled,
        "disabled_reason": ep.disabled_reason,
        "created_at": _at(ep.created_at),
        "updated_at": _at(ep.updated_at),
        "health": EndpointHealth(
            consecutive_failures=ep.consecutive_failures,
            failing_since=moment(ep.failing_since),
            last_success_at=moment(ep.last_success_at),
            circuit_open_until=moment(ep.circuit_open_until),
            circuit=circuit(ep),
        ),
    }


def current_secret(ep: Endpoint) -> str:
    """The secret that signs new attempts (the one without an expiry)."""
    for secret in ep.secrets:
        if secret.expires_at is None:
            return secret.value
    return ep.secrets[0].value if ep.secrets else ""


def endpoint(ep: Endpoint) -> EndpointOut:
    return EndpointOut(**_endpoint_fields(ep))


def created_endpoint(ep: Endpoint) -> EndpointCreated:
    return EndpointCreated(**_endpoint_fields(ep), secret=current_secret(ep))


#: Attention notes of deliveries: delivery id -> attempt number -> note (``Hub.attention_notes``).
Notes = Mapping[str, Mapping[int, str]]
_NO_NOTES: Notes = {}


def _latest(notes: Mapping[int, str] | None) -> str | None:
    return notes[max(notes)] if notes else None


def _attempt(a: AttemptRecord, notes: Mapping[int, str] | None = None) -> AttemptOut:
    return AttemptOut(
        number=a.number,
        started_at=_at(a.started_at),
        duration_ms=a.duration_ms,
        status_code=a.status_code,
        error_kind=a.error_kind,
        error=a.error,
        response_body=a.response_body,
        attention=notes.get(a.number) if notes else None,
    )


def _delivery_fields(d: DeliveryRecord, notes: Notes = _NO_NOTES) -> dict[str, Any]:
    return {
        "id": d.id,
        "event_id": d.event_id,
        "endpoint_id": d.endpoint_id,
        "event_type": d.event_type,
        "status": d.status,
        "attempt_count": d.attempts,
        "next_attempt_at": moment(d.next_attempt_at),
        "created_at": _at(d.created_at),
        "updated_at": _at(d.updated_at),
        "last_status_code": d.last_status_code,
        "last_error": d.last_error,
        "attention": _latest(notes.get(d.id)),
    }


def delivery(d: DeliveryRecord, notes: Notes = _NO_NOTES) -> DeliveryOut:
    return DeliveryOut(**_delivery_fields(d, notes))


def delivery_detail(d: DeliveryRecord, notes: Notes = _NO_NOTES) -> DeliveryDetail:
    mine = notes.get(d.id)
    return DeliveryDetail(
        **_delivery_fields(d, notes), attempts=[_attempt(a, mine) for a in d.attempt_log]
    )


def requeued(count: int, held_by: Endpoint | None) -> Requeued:
    """A replay's answer: how many were requeued, and the circuit of ``held_by`` (the
    endpoint when its circuit is not closed) that will delay them."""
    return Requeued(requeued=count, circuit_delay=circuit_delay(held_by) if count else None)


def retried_delivery(d: DeliveryRecord, held_by: Endpoint | None) -> RetriedDelivery:
    """A delivery made due again by hand, and the circuit of ``held_by`` (its endpoint when
    the circuit is not closed) that will delay it."""
    return RetriedDelivery(
        **_delivery_fields(d),
        attempts=[_attempt(a) for a in d.attempt_log],
        circuit_delay=circuit_delay(held_by),
    )


def event(e: EventRecord, notes: Notes = _NO_NOTES) -> EventOut:
    return EventOut(
        id=e.id,
        type=e.type,
        created_at=_at(e.created_at),
        idempotency_key=e.idempotency_key,
        payload=json.loads(e.body),
        deliveries=[delivery_detail(d, notes) for d in e.deliveries],
    )


def schedule(record: ScheduleRecord) -> ScheduleOut:
    spec = record.spec
    return ScheduleOut(
        id=record.id,
        name=spec.name,
        type=spec.type,
        link=spec.link,
        recurrence=spec.recurrence,
        timezone=spec.timezone,
        leads=list(spec.leads),
        enabled=spec.enabled,
        created_at=_at(record.created_at),
        updated_at=_at(record.updated_at),
    )


def notice(record: NoticeRecord, display_tz: tzinfo = UTC) -> NoticeOut:
    """A notice of the log; ``starts_at`` in the wire format of the display zone."""
    return NoticeOut(
        key=record.key,
        schedule_id=record.schedule_id,
        starts_at=format_timestamp(_at(record.occurrence), display_tz),
        occurrence=_at(record.occurrence),
        lead=record.lead,
        send_at=_at(record.send_at),
        status=record.status,
        event_id=record.event_id,
        recorded_at=_at(record.created_at),
    )
