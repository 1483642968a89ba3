"""Typed models of the three notifications of the seed document (docs/notifications.md).

The models hold what the wire carries: timestamps are aware UTC datetimes cut to the minute,
dates are dates, everything else is as sent. Validation is strict (no unknown fields, no
coercion of types) and every error names its field. The display time zone in which naive inputs
are read and wire timestamps are written comes from the validation/serialization context
(``{"tz": tzinfo}``), default UTC; :mod:`scanhook.notifications.encoding` passes it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, tzinfo
from typing import Annotated, Any, ClassVar, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    SerializationInfo,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic.functional_validators import AfterValidator

from scanhook.notifications.event_types import EVENT_TYPES, EventType
from scanhook.notifications.timefmt import (
    WIRE_DATE_PATTERN,
    WIRE_DURATION_PATTERN,
    WIRE_TIMESTAMP_PATTERN,
    format_date,
    format_timestamp,
    parse_date,
    parse_duration,
    parse_timestamp,
)

__all__ = [
    "EVENT_TYPES",
    "EventType",
    "FinishedScan",
    "Notification",
    "ScanType",
    "ScheduledScan",
    "Severity",
    "Ticket",
]

ScanType = Literal["network", "web application"]
Severity = Literal["Info", "Low", "Medium", "High", "Critical"]


def _context_tz(info: ValidationInfo | SerializationInfo) -> tzinfo:
    context = info.context
    if isinstance(context, dict):
        tz = context.get("tz")
        if isinstance(tz, tzinfo):
            return tz
    return UTC


def _validate_timestamp(value: object, info: ValidationInfo) -> datetime:
    return parse_timestamp(value, _context_tz(info))


def _serialize_timestamp(value: datetime, info: SerializationInfo) -> str:
    return format_timestamp(value, _context_tz(info))


def _check_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{value!r} is not an absolute http(s) URL")
    if any(c.isspace() for c in value):
        raise ValueError(f"{value!r} contains white space; a URL cannot")
    return value


def _check_email(value: str) -> str:
    # Loaded on first use: it costs a command-line start that validates no e-mail ~15 ms.
    from email_validator import EmailNotValidError, validate_email

    try:
        validate_email(value, check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError(f"{value!r} is not an e-mail address: {exc}") from None
    return value


def _join_errors(value: object) -> object:
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            if not isinstance(item, str):
                raise ValueError(
                    f"a list of errors must hold only strings; item {index} is "
                    f"{type(item).__name__} {item!r}"
                )
        return "\n\n".join(value)
    return value


Timestamp = Annotated[
    datetime,
    BeforeValidator(_validate_timestamp),
    PlainSerializer(_serialize_timestamp, return_type=str, when_used="json"),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": WIRE_TIMESTAMP_PATTERN,
            "description": "Timestamp 'YYYY-MM-DD HH:MM' in the display time zone (default UTC).",
            "examples": ["2018-08-21 12:02"],
        }
    ),
]
WireDate = Annotated[
    date,
    BeforeValidator(parse_date),
    PlainSerializer(format_date, return_type=str, when_used="json"),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": WIRE_DATE_PATTERN,
            "format": "date",
            "examples": ["2026-12-31"],
        }
    ),
]
Duration = Annotated[
    str,
    BeforeValidator(parse_duration),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": WIRE_DURATION_PATTERN,
            "description": "HH:MM, hours zero-padded and not wrapped at 24.",
            "examples": ["00:57", "27:05"],
        }
    ),
]
Url = Annotated[
    str,
    Field(strict=True, min_length=1, json_schema_extra={"format": "uri", "pattern": "^https?://"}),
    AfterValidator(_check_url),
]
Email = Annotated[
    str, Field(strict=True, json_schema_extra={"format": "email"}), AfterValidator(_check_email)
]
Text = Annotated[str, Field(strict=True, min_length=1)]
#: ``""`` or messages separated by a blank line; a list of messages is joined so.
ErrorText = Annotated[str, BeforeValidator(_join_errors), Field(strict=True)]
Count = Annotated[int, Field(strict=True, ge=0)]


class _Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    #: The notification's top-level key on the wire.
    KEY: ClassVar[str]

    @property
    def event_type(self) -> EventType:
        raise NotImplementedError  # pragma: no cover - every payload defines it


class ScheduledScan(_Payload):
    """A scan is scheduled: sent ahead of its start so that asset owners know it is coming."""

    KEY: ClassVar[str] = "scheduled_scan"

    name: Text = Field(description="Scan name.", examples=["Daily scan"])
    type: ScanType = Field(description="Scan type.")
    starts_at: Timestamp = Field(description="When the scan starts.")
    link: Url = Field(
        description="URL to the Security Center's scan/schedule settings.",
        examples=["https://sc.example.com/scans/schedules/view/42"],
    )

    @property
    def event_type(self) -> EventType:
        return "scheduled_scan"


class FinishedScan(_Payload):
    """A scan finished, with the counts of what it found."""

    KEY: ClassVar[str] = "finished_scan"

    name: Text = Field(description="Scan name.", examples=["Daily scan"])
    type: ScanType = Field(description="Scan type.")
    started: Timestamp = Field(description="When the scan started.")
    finished: Timestamp = Field(description="When the scan finished.")
    duration: Duration = Field(
        description="Run time as HH:MM; computed from started/finished when omitted."
    )
    status: Text = Field(description='Scan status, normally "Completed".', examples=["Completed"])
    errors: ErrorText = Field(
        description='"" or the error messages separated by a blank line ("\\n\\n").', examples=[""]
    )
    critical_cnt: Count = Field(description="Number of critical vulnerabilities found.")
    high_cnt: Count = Field(description="Number of high vulnerabilities found.")
    medium_cnt: Count = Field(description="Number of medium vulnerabilities found.")
    low_cnt: Count = Field(description="Number of low vulnerabilities found.")
    link: Url = Field(
        description="URL to the Security Center's scan results.",
        examples=["https://sc.holmsecurity.com/scans/scans/view/123"],
    )

    @model_validator(mode="before")
    @classmethod
    def _fill_in(cls, data: Any, info: ValidationInfo) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        if "duration" not in data and "started" in data and "finished" in data:
            tz = _context_tz(info)
            try:
                started = parse_timestamp(data["started"], tz)
                finished = parse_timestamp(data["finished"], tz)
            except ValueError:
                return data  # the fields' own errors say what is wrong
            # When finished is before started, that field's own error says so; an absolute
            # duration here keeps a second, misleading "duration: field required" away.
            data["duration"] = abs(finished - started)
        return data

    @field_validator("finished")
    @classmethod
    def _finished_after_started(cls, finished: datetime, info: ValidationInfo) -> datetime:
        started = info.data.get("started")
        if isinstance(started, datetime) and finished < started:
            raise ValueError(
                f"finished ({finished:%Y-%m-%d %H:%M} UTC) is before started "
                f"({started:%Y-%m-%d %H:%M} UTC)"
            )
        return finished

    @property
    def event_type(self) -> EventType:
        return "finished_scan"


def _check_ticket_status(value: str) -> str:
    if value == "Open" or value.startswith("Closed"):
        return value
    raise ValueError(f'{value!r} is not a ticket status: expected "Open" or "Closed (Fixed)"')


class Ticket(_Payload):
    """A remediation ticket was opened or closed."""

    KEY: ClassVar[str] = "ticket"

    number: Count = Field(description="Ticket number.", examples=[4711])
    status: Annotated[
        str,
        Field(strict=True, json_schema_extra={"pattern": "^(Open|Closed[\\s\\S]*)$"}),
        AfterValidator(_check_ticket_status),
    ] = Field(
        description='"Open", or a status that starts with "Closed" ("Closed (Fixed)").',
        examples=["Open", "Closed (Fixed)"],
    )
    severity: Severity = Field(description="Severity of the vulnerability.")
    vulnerability_name: Text = Field(
        description="Name of the vulnerability.",
        examples=["Apache Log4j Remote Code Execution (CVE-2021-44228)"],
    )
    asset_name: Text = Field(
        description="Name of the affected asset.", examples=["prod-web-01.example.com"]
    )
    asset_link: Url = Field(
        description="URL to the Security Center's page of the asset.",
        examples=["https://sc.example.com/assets/view/2817"],
    )
    due_date: WireDate = Field(description="Due date, YYYY-MM-DD.")
    owner: Email = Field(
        description="E-mail of the ticket's owner.", examples=["anna.lindqvist@example.com"]
    )

    @property
    def event_type(self) -> EventType:
        return "ticket.opened" if self.status == "Open" else "ticket.closed"


Notification = ScheduledScan | FinishedScan | Ticket
PAYLOAD_MODELS: dict[str, type[ScheduledScan] | type[FinishedScan] | type[Ticket]] = {
    model.KEY: model for model in (ScheduledScan, FinishedScan, Ticket)
}
