"""A schedule as users write it (docs/schedules.md), and partial updates of one.

``ScheduleSpec`` is strict: unknown fields are refused, nothing is coerced, and every error names
its field (``leads.1``, ``recurrence``, ``timezone``). The recurrence is checked against the
timezone: a ``DTSTART;TZID=…`` must name the schedule's zone, and when ``timezone`` is not given
it is taken from that ``TZID`` (or ``"UTC"`` for a ``…Z`` time), so that the two never disagree.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from scanhook.errors import InvalidRequest
from scanhook.notifications import ScanType
from scanhook.notifications.models import Url
from scanhook.notifications.timefmt import load_zone
from scanhook.schedules.leads import Lead
from scanhook.schedules.recurrence import Recurrence, explicit_zone, parse_recurrence

__all__ = [
    "DEFAULT_LEADS",
    "InvalidSchedule",
    "SchedulePatch",
    "ScheduleSpec",
    "parse_patch",
    "parse_schedule",
]

DEFAULT_LEADS: tuple[str, ...] = ("24h", "1h")

_MAX_NAME = 200
_MAX_RECURRENCE = 4000
_MAX_LEADS = 20


class InvalidSchedule(InvalidRequest):
    """The schedule is not valid."""

    def __init__(self, problems: list[dict[str, object]]) -> None:
        #: One entry per problem: ``{"field": "leads.1", "message": …}``.
        self.problems = problems
        message = "; ".join(f"{p['field']}: {p['message']}" for p in problems)
        field = str(problems[0]["field"]) if problems else None
        super().__init__(message, field=field)


def _check_lead(text: str) -> str:
    Lead.parse(text)
    return text


def _check_timezone(name: str) -> str:
    load_zone(name)
    return name


Name = Annotated[str, Field(strict=True, min_length=1, max_length=_MAX_NAME)]
Timezone = Annotated[
    str,
    Field(strict=True, min_length=1, examples=["UTC", "Europe/Stockholm"]),
    AfterValidator(_check_timezone),
]
RecurrenceText = Annotated[
    str,
    Field(
        strict=True,
        min_length=1,
        max_length=_MAX_RECURRENCE,
        examples=["30 2 * * *", "DTSTART:20261201T023000\nRRULE:FREQ=WEEKLY;BYDAY=MO"],
    ),
]
LeadText = Annotated[
    str, Field(strict=True, examples=["24h", "1h", "0s"]), AfterValidator(_check_lead)
]
Leads = Annotated[list[LeadText], Field(min_length=1, max_length=_MAX_LEADS)]


def _check_leads(leads: list[str]) -> list[str]:
    seen: dict[int, str] = {}
    for text in leads:
        seconds = Lead.parse(text).seconds
        if seconds in seen:
            raise ValueError(f"{seen[seconds]!r} and {text!r} are the same lead")
        seen[seconds] = text
    return leads


class ScheduleSpec(BaseModel):
    """A recurring scan whose runs are announced by ``scheduled_scan`` notifications."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    name: Name = Field(description="Scan name, as in the notifications.", examples=["Daily scan"])
    type: ScanType = Field(description="Scan type.")
    link: Url = Field(
        description="URL to the Security Center's scan/schedule settings.",
        examples=["https://sc.example.com/scans/schedules/view/42"],
    )
    timezone: Timezone = Field(
        default="UTC",
        description="IANA zone in which the recurrence is read (default: the DTSTART's TZID, "
        "else UTC).",
    )
    recurrence: RecurrenceText = Field(
        description="Five-field cron expression or RFC 5545 DTSTART/RRULE text."
    )
    leads: Leads = Field(
        default_factory=lambda: list(DEFAULT_LEADS),
        description='How long before each run to announce it; "0s" announces at the start.',
    )
    enabled: bool = Field(default=True, description="A disabled schedule announces nothing.")

    _recurrence: Recurrence = PrivateAttr()
    _leads: tuple[Lead, ...] = PrivateAttr()

    @model_validator(mode="before")
    @classmethod
    def _timezone_from_dtstart(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and "timezone" not in data:
            zone = explicit_zone(data.get("recurrence"))  # type: ignore[arg-type]
            if zone is not None:
                data = {**data, "timezone": zone}
        return data

    @field_validator("recurrence")
    @classmethod
    def _check_recurrence(cls, text: str, info: ValidationInfo) -> str:
        timezone = info.data.get("timezone")
        if timezone is None:  # the timezone's own error is reported; still check the syntax
            timezone = explicit_zone(text) or "UTC"
        parse_recurrence(text, timezone)
        return text

    @field_validator("leads")
    @classmethod
    def _distinct_leads(cls, leads: list[str]) -> list[str]:
        return _check_leads(leads)

    def model_post_init(self, context: Any, /) -> None:
        self._recurrence = parse_recurrence(self.recurrence, self.timezone)
        self._leads = tuple(Lead.parse(text) for text in self.leads)

    @property
    def rule(self) -> Recurrence:
        """The parsed recurrence, in :attr:`timezone`."""
        return self._recurrence

    @property
    def parsed_leads(self) -> tuple[Lead, ...]:
        """The leads, parsed, in the order given."""
        return self._leads


_TIMING_FIELDS = frozenset({"recurrence", "timezone", "leads", "enabled"})


class SchedulePatch(BaseModel):
    """A partial update: only the fields given change; ``null`` is refused (nothing is nullable)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    name: Name | None = None
    type: ScanType | None = None
    link: Url | None = None
    timezone: Timezone | None = None
    recurrence: RecurrenceText | None = None
    leads: Leads | None = None
    enabled: bool | None = None

    @field_validator("*", mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("cannot be null; leave the field out to keep its value")
        return value

    @field_validator("leads")
    @classmethod
    def _distinct_leads(cls, leads: list[str] | None) -> list[str] | None:
        return None if leads is None else _check_leads(leads)

    @property
    def changes(self) -> dict[str, Any]:
        """The fields given, with their new values."""
        return {name: getattr(self, name) for name in self.model_fields_set}

    @property
    def affects_notices(self) -> bool:
        """Whether it changes when or whether notices are sent (recurrence, timezone, leads,
        enabled): the scheduler then moves the schedule's watermark to the edit time."""
        return bool(self.model_fields_set & _TIMING_FIELDS)

    def apply(self, spec: ScheduleSpec) -> ScheduleSpec:
        """``spec`` with this patch applied, validated as a whole (raises :class:`InvalidSchedule`).

        A new recurrence whose DTSTART names a zone also sets ``timezone`` unless the patch gives
        one.
        """
        data = spec.model_dump()
        data.update(self.changes)
        if (
            "recurrence" in self.model_fields_set
            and "timezone" not in self.model_fields_set
            and explicit_zone(data["recurrence"]) is not None
        ):
            del data["timezone"]
        return parse_schedule(data)


def _problems(exc: ValidationError) -> list[dict[str, object]]:
    problems: list[dict[str, object]] = []
    for error in exc.errors(include_url=False):
        field = ".".join(str(part) for part in error["loc"]) or "(body)"
        if error["type"] == "missing":
            message = "field required"
        elif error["type"] == "extra_forbidden":
            message = "unknown field (allowed: " + ", ".join(ScheduleSpec.model_fields) + ")"
        else:
            message = error["msg"].removeprefix("Value error, ")
        problems.append({"field": field, "message": message})
    return problems


def parse_schedule(data: Mapping[str, Any]) -> ScheduleSpec:
    """A :class:`ScheduleSpec` from decoded JSON; :class:`InvalidSchedule` names every bad field."""
    try:
        return ScheduleSpec.model_validate(data)
    except ValidationError as exc:
        raise InvalidSchedule(_problems(exc)) from None


def parse_patch(data: Mapping[str, Any]) -> SchedulePatch:
    """A :class:`SchedulePatch` from decoded JSON; :class:`InvalidSchedule` names every bad
    field."""
    try:
        return SchedulePatch.model_validate(data)
    except ValidationError as exc:
        raise InvalidSchedule(_problems(exc)) from None
