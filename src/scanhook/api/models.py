"""The request and response bodies of the API as pydantic models (they make the OpenAPI
document). Times are ISO 8601 in UTC (``2026-01-02T03:04:05.123456Z``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from scanhook.notifications import EventType, ScanType
from scanhook.store.records import DeliveryStatus

__all__ = [
    "AttemptOut",
    "BatchAccepted",
    "BatchIn",
    "CircuitOut",
    "DeliveryDetail",
    "DeliveryOut",
    "DeliveryPage",
    "EndpointCreated",
    "EndpointHealth",
    "EndpointOut",
    "EndpointPage",
    "EndpointSecrets",
    "EventAccepted",
    "EventOut",
    "NextNotice",
    "NextNotices",
    "NoticeOut",
    "NoticePage",
    "PreviousSecret",
    "ReplayIn",
    "Requeued",
    "RetriedDelivery",
    "RotateSecretIn",
    "ScheduleOut",
    "SchedulePage",
    "SecretOut",
    "SendTestIn",
    "SendTestResult",
    "StatsOut",
]

MAX_BATCH = 1000


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- endpoints ---------------------------------------------------------------------------------
class CircuitOut(BaseModel):
    """An endpoint's circuit. It opens after ``SCANHOOK_CIRCUIT_THRESHOLD`` failures in a row
    and pauses for the retry schedule's first step; each failed probe moves the pause one step
    on (never longer than the schedule's longest step); a success closes it."""

    state: Literal["closed", "open", "half-open"] = Field(
        description="closed: deliveries flow; open: nothing is sent until open_until; "
        "half-open: the pause is over and one delivery at a time goes as a probe, until one "
        "succeeds."
    )
    open_until: datetime | None = Field(description="When the current pause ends.")
    opened_at: datetime | None = Field(description="When the circuit opened.")
    reason: str | None = Field(
        description="Why it is open, e.g. '5 consecutive failures; last: HTTP 500'."
    )
    failed_probes: int = Field(description="Probes that failed since it opened.")


class EndpointHealth(BaseModel):
    consecutive_failures: int
    failing_since: datetime | None
    last_success_at: datetime | None
    circuit_open_until: datetime | None = Field(
        description="While in the future, the circuit is open: nothing is sent. "
        "The same as circuit.open_until."
    )
    circuit: CircuitOut


class EndpointOut(BaseModel):
    """An endpoint as the API shows it: no secret, secrets in ``auth`` masked."""

    id: str
    url: str
    description: str
    event_types: list[str]
    format: str
    format_options: dict[str, Any]
    filter: str | None
    headers: dict[str, str] = Field(
        description="The values of the headers in secret_headers are shown as '********'."
    )
    secret_headers: list[str] = Field(
        description="Headers whose values are credentials: encrypted at rest, masked here."
    )
    legacy_headers: bool
    auth: dict[str, Any] | None = Field(description="Secret values are shown as '********'.")
    timeout: float | None
    max_in_flight: int
    rate_limit: float | None
    ordered: bool
    enabled: bool
    disabled_reason: str | None
    created_at: datetime
    updated_at: datetime
    health: EndpointHealth


class EndpointCreated(EndpointOut):
    secret: str = Field(description="The signing secret (whsec_…): keep it for verification.")


class EndpointPage(BaseModel):
    data: list[EndpointOut]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page; null at end.")


class RotateSecretIn(_In):
    secret: str | None = Field(None, description="The new secret (whsec_…); generated if omitted.")
    expire_previous: bool = Field(
        False,
        description="End every previous secret now instead of after the overlap (one leaked).",
    )


class SecretOut(BaseModel):
    secret: str


class PreviousSecret(BaseModel):
    secret: str
    expires_at: datetime | None


class EndpointSecrets(BaseModel):
    secret: str = Field(description="The current signing secret.")
    previous: list[PreviousSecret] = Field(
        description="Rotated-out secrets that still sign beside the current one until expires_at."
    )


class SendTestIn(_In):
    event_type: EventType = Field("finished_scan", description="Which sample notification to send.")


class SendTestResult(BaseModel):
    succeeded: bool
    status_code: int | None
    duration_ms: float
    error_kind: str | None
    error: str | None
    response_body: str | None = Field(description="The start of the receiver's answer.")


class ReplayIn(_In):
    since: datetime | None = Field(
        None, description="Only deliveries created at or after this time (ISO 8601)."
    )
    status: Literal["failed", "succeeded"] | None = Field(
        "failed", description="Which finished deliveries to requeue; null for both."
    )


_CIRCUIT_DELAY = (
    "Set when the endpoint's circuit is open or half-open: what was requeued waits for it "
    "(open: until open_until; half-open: until a probe succeeds, one delivery at a time). "
    "Null when the circuit is closed."
)


class Requeued(BaseModel):
    requeued: int
    circuit_delay: CircuitOut | None = Field(None, description=_CIRCUIT_DELAY)


# -- events ------------------------------------------------------------------------------------
class EventAccepted(BaseModel):
    id: str
    type: EventType
    deliveries: int = Field(description="How many deliveries were created.")
    duplicate: bool = Field(
        description="True when the Idempotency-Key was seen before: the first event is returned."
    )


class BatchIn(_In):
    events: list[dict[str, Any]] = Field(
        min_length=1, max_length=MAX_BATCH, description="Notifications, as for POST /v1/events."
    )


class BatchAccepted(BaseModel):
    ids: list[str]


class AttemptOut(BaseModel):
    number: int
    started_at: datetime
    duration_ms: float
    status_code: int | None
    error_kind: str | None
    error: str | None
    response_body: str | None
    attention: str | None = Field(
        None,
        description="Set when the attempt needs an operator's attention, e.g. a ticket closed "
        "with no Jira issue or ServiceNow incident known, so one was created instead.",
    )


class DeliveryOut(BaseModel):
    id: str
    event_id: str
    endpoint_id: str
    event_type: str
    status: DeliveryStatus
    attempt_count: int
    next_attempt_at: datetime | None
    created_at: datetime
    updated_at: datetime
    last_status_code: int | None
    last_error: str | None
    attention: str | None = Field(
        None, description="The latest attention note of the delivery's attempts, if any."
    )


class DeliveryDetail(DeliveryOut):
    attempts: list[AttemptOut]


class RetriedDelivery(DeliveryDetail):
    """A delivery made due again by hand."""

    circuit_delay: CircuitOut | None = Field(None, description=_CIRCUIT_DELAY)


class DeliveryPage(BaseModel):
    data: list[DeliveryOut]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page; null at end.")


class EventOut(BaseModel):
    id: str
    type: str
    created_at: datetime
    idempotency_key: str | None
    payload: dict[str, Any] = Field(description="The notification as it goes on the wire.")
    deliveries: list[DeliveryDetail]


# -- operations --------------------------------------------------------------------------------
class DeliveryCounts(BaseModel):
    pending: int
    sending: int
    succeeded: int
    failed: int


class EndpointCounts(BaseModel):
    total: int
    disabled: int
    open_circuits: int


class StatsOut(BaseModel):
    deliveries: DeliveryCounts
    oldest_due_age: float | None = Field(
        description="Seconds the oldest due delivery has waited; null when none is due."
    )
    endpoints: EndpointCounts


# -- schedules ---------------------------------------------------------------------------------
class ScheduleOut(BaseModel):
    """A schedule (docs/schedules.md)."""

    id: str
    name: str
    type: ScanType
    link: str
    recurrence: str = Field(description="Five-field cron expression or RFC 5545 text.")
    timezone: str = Field(description="IANA zone in which the recurrence is read.")
    leads: list[str] = Field(description="How long before each run it is announced.")
    enabled: bool
    created_at: datetime
    updated_at: datetime


class SchedulePage(BaseModel):
    data: list[ScheduleOut]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page; null at end.")


class NextNotice(BaseModel):
    send_at: str = Field(
        description="When it will be sent: ISO 8601 with its UTC offset, in the display zone.",
        json_schema_extra={"format": "date-time"},
        examples=["2026-03-29T00:30:00+00:00"],
    )
    starts_at: str = Field(
        description="The run it announces, in the wire format (display zone).",
        examples=["2026-03-29 01:30"],
    )
    lead: str = Field(description="The lead as given.", examples=["1h"])


class NextNotices(BaseModel):
    notices: list[NextNotice] = Field(description="The next notices, in send order.")


class NoticeOut(BaseModel):
    """A notice of the schedule's log: sent (with its event) or skipped (sent too late)."""

    key: str = Field(description="Unique key: schedule id / occurrence (UTC) / lead in seconds.")
    schedule_id: str
    starts_at: str = Field(description="The run it announces, in the wire format.")
    occurrence: datetime = Field(description="The run it announces.")
    lead: str
    send_at: datetime = Field(description="When it was due.")
    status: Literal["sent", "skipped"] = Field(
        description="sent: published as an event; skipped: its send time had passed by more "
        "than the grace window (SCANHOOK_SCHEDULE_GRACE) when the scheduler got to it."
    )
    event_id: str | None = Field(description="The published event (GET /v1/events/{id}).")
    recorded_at: datetime


class NoticePage(BaseModel):
    data: list[NoticeOut]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page; null at end.")
