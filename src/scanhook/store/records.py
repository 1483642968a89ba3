"""The rows the store reads and writes, as plain immutable values.

Times are Unix seconds (float, UTC) everywhere inside scanhook; the API renders them as ISO 8601.
Ids are text: a prefix and a ULID (time-ordered), e.g. ``ep_01JD…``, ``evt_01JD…``, ``dlv_01JD…``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from scanhook.notifications import Notification

__all__ = [
    "DELIVERY_STATUSES",
    "ApiToken",
    "AttemptOutcome",
    "AttemptRecord",
    "ClaimedDelivery",
    "DeliveryRecord",
    "DeliveryStatus",
    "Endpoint",
    "EndpointSecret",
    "EventRecord",
    "NewEvent",
    "PublishResult",
    "StorePolicy",
    "is_secret_header",
]

DeliveryStatus = Literal["pending", "sending", "succeeded", "failed"]
DELIVERY_STATUSES: tuple[DeliveryStatus, ...] = ("pending", "sending", "succeeded", "failed")


@dataclass(frozen=True, slots=True)
class EndpointSecret:
    """A signing secret ``whsec_<base64>``. ``expires_at`` is None for the current secret and the
    end of the overlap for a rotated-out one, which keeps signing until then."""

    value: str
    expires_at: float | None = None


@dataclass(frozen=True, slots=True)
class Endpoint:
    """An endpoint's configuration (set by users) and health (kept by the engine)."""

    id: str
    url: str
    description: str = ""
    event_types: tuple[str, ...] = ("*",)
    secrets: tuple[EndpointSecret, ...] = ()
    enabled: bool = True
    disabled_reason: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    #: Names of ``headers`` whose values are credentials (case-insensitive): sealed at rest,
    #: masked in the API, scrubbed from what receivers echo.
    secret_headers: tuple[str, ...] = ()
    legacy_headers: bool = False
    timeout: float | None = None
    max_in_flight: int = 10
    rate_limit: float | None = None
    ordered: bool = False
    format: str = "raw"
    format_options: Mapping[str, Any] = field(default_factory=dict)
    filter: str | None = None
    auth: Mapping[str, Any] | None = None
    created_at: float = 0.0
    updated_at: float = 0.0
    # Health, written only by the engine (AttemptOutcome via Store.record).
    consecutive_failures: int = 0
    failing_since: float | None = None
    last_success_at: float | None = None
    #: While set the circuit is open (until then) or, once passed, half-open; None: closed.
    circuit_open_until: float | None = None
    #: When the circuit opened (None: closed).
    circuit_opened_at: float | None = None
    #: Probes that failed since it opened (each moves the pause one retry-schedule step on).
    circuit_failed_probes: int = 0
    #: Why it opened, e.g. "5 consecutive failures; last: HTTP 500".
    circuit_reason: str | None = None


def is_secret_header(name: str, secret_headers: Sequence[str]) -> bool:
    """Whether the header ``name`` is one of ``secret_headers`` (names are case-insensitive)."""
    lowered = name.lower()
    return any(lowered == secret.lower() for secret in secret_headers)


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event to publish: its wire body is already encoded."""

    id: str
    type: str
    body: bytes
    notification: Notification
    created_at: float
    idempotency_key: str | None = None


@dataclass(frozen=True, slots=True)
class PublishResult:
    event_id: str
    deliveries: int
    #: True when the idempotency key was seen within 24 h: the first event is returned.
    duplicate: bool = False


@dataclass(frozen=True, slots=True)
class ClaimedDelivery:
    """A delivery leased to one worker until ``lease_until``. ``endpoint`` is the endpoint's
    configuration at the claim; its health fields are left at their defaults (the claim does
    not keep them current: :meth:`Store.get_endpoint` has them)."""

    id: str
    event_id: str
    event_type: str
    body: bytes
    attempt: int
    endpoint: Endpoint
    lease_until: float
    event_created_at: float


@dataclass(frozen=True, slots=True)
class AttemptOutcome:
    """What one attempt did, and what the engine decided next."""

    delivery_id: str
    endpoint_id: str
    number: int
    started_at: float
    duration_ms: float
    succeeded: bool
    status_code: int | None = None
    #: None on success; else "http", "timeout", "connect", "tls", "policy", "too_large", "other".
    error_kind: str | None = None
    error: str | None = None
    #: The first 4 KiB of the response body, decoded leniently.
    response_body: str | None = None
    #: When to try again; None makes the delivery final (succeeded, or failed).
    next_attempt_at: float | None = None
    #: Disable the endpoint at once with this reason (e.g. a 410 Gone).
    disable_reason: str | None = None
    #: The worker whose lease the attempt was made under: the outcome moves the delivery only
    #: while that worker still holds it (None: whoever holds it).
    leased_by: str | None = None
    #: Why the network policy refused the destination, for error_kind "policy" (not stored:
    #: it labels the refusal counter of /metrics).
    refusal: str | None = None


@dataclass(frozen=True, slots=True)
class AttemptRecord:
    number: int
    started_at: float
    duration_ms: float
    status_code: int | None
    error_kind: str | None
    error: str | None
    response_body: str | None


@dataclass(frozen=True, slots=True)
class DeliveryRecord:
    id: str
    event_id: str
    endpoint_id: str
    event_type: str
    status: DeliveryStatus
    attempts: int
    next_attempt_at: float | None
    created_at: float
    updated_at: float
    last_status_code: int | None = None
    last_error: str | None = None
    attempt_log: tuple[AttemptRecord, ...] = ()


@dataclass(frozen=True, slots=True)
class EventRecord:
    id: str
    type: str
    body: bytes
    created_at: float
    idempotency_key: str | None
    deliveries: tuple[DeliveryRecord, ...] = ()


@dataclass(frozen=True, slots=True)
class StorePolicy:
    """The engine's rules that the store applies inside its transactions."""

    #: Consecutive failures that open an endpoint's circuit.
    circuit_threshold: int = 5
    #: The pauses of an open circuit: the retry schedule's steps (the Hub passes the configured
    #: schedule; this default is the default schedule). The first pause is the first step,
    #: each failed probe moves on one step, and none is longer than the longest step; an
    #: endpoint with a success within the first step is not paused.
    circuit_steps: tuple[float, ...] = (5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0)
    #: An endpoint failing without a single success for this long is disabled.
    disable_after: float = 5 * 86400.0
    #: Idempotency keys are remembered this long.
    idempotency_window: float = 86400.0

    def __post_init__(self) -> None:
        if not self.circuit_steps or any(not step > 0 for step in self.circuit_steps):
            raise ValueError(
                f"circuit_steps: {self.circuit_steps!r} must be one or more durations above 0"
            )


@dataclass(frozen=True, slots=True)
class ApiToken:
    """A bearer token of the HTTP API. Only its SHA-256 (hex) is stored, never the token."""

    id: str
    name: str
    token_hash: str
    created_at: float
    last_used_at: float | None = None
    revoked_at: float | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None
