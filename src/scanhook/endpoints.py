"""What a user may set on an endpoint, validated in one place for the API, the CLI and the Hub."""

from __future__ import annotations

import fnmatch
import re
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

from scanhook.delivery.request import HEADER_NAME, PROTECTED_HEADERS
from scanhook.delivery.signing import validate_secret
from scanhook.notifications import EVENT_TYPES

__all__ = [
    "MAX_URL_LENGTH",
    "RESERVED_HEADERS",
    "EndpointOptions",
    "EndpointPatch",
    "check_event_types",
    "check_secret",
    "check_secret_headers",
]

#: Headers scanhook sets itself; an endpoint's extra headers cannot replace them.
RESERVED_HEADERS = PROTECTED_HEADERS
_HEADER_NAME = re.compile(HEADER_NAME)
#: The longest URL an endpoint may have.
MAX_URL_LENGTH = 2048
#: ``whsec_`` and the base64 of at most 64 bytes, with room to say what is wrong with more.
_SECRET_MAX_LENGTH = 200


def check_secret(value: str) -> str:
    """A signing secret as it must be saved: ``whsec_`` + base64 of 24 to 64 bytes. The message
    never repeats the value."""
    if len(value) > _SECRET_MAX_LENGTH:
        raise ValueError(f"a secret has at most {_SECRET_MAX_LENGTH} characters")
    try:
        return validate_secret(value)
    except ValueError as exc:
        raise ValueError(str(exc).removeprefix("secret: ")) from None


def check_event_types(values: list[str]) -> list[str]:
    """Each entry is an event type or a glob that matches at least one (``ticket.*``, ``*``)."""
    if not values:
        raise ValueError("give at least one event type, or '*' for all")
    for value in values:
        if not any(fnmatch.fnmatchcase(t, value) for t in EVENT_TYPES):
            raise ValueError(
                f"{value!r} matches no event type; the event types are "
                + ", ".join(EVENT_TYPES)
                + " (globs like 'ticket.*' work)"
            )
    return values


def _check_endpoint_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{value!r} is not an absolute http(s) URL")
    if parts.username or parts.password:
        raise ValueError("put credentials in 'auth' or 'headers', not in the URL")
    if any(c.isspace() for c in value):
        raise ValueError("a URL cannot contain white space")
    return value


def check_secret_headers(names: list[str], headers: dict[str, str]) -> list[str]:
    """Each entry names one of ``headers`` (case-insensitively), once."""
    present = {name.lower() for name in headers}
    seen: set[str] = set()
    for name in names:
        if name.lower() not in present:
            raise ValueError(f"{name!r} is not one of the endpoint's headers")
        if name.lower() in seen:
            raise ValueError(f"{name!r} is listed twice")
        seen.add(name.lower())
    return names


def _check_headers(value: dict[str, str]) -> dict[str, str]:
    for name, header_value in value.items():
        if not _HEADER_NAME.fullmatch(name):
            raise ValueError(f"{name!r} is not a valid header name")
        if name.lower() in RESERVED_HEADERS:
            raise ValueError(f"{name!r} is set by scanhook and cannot be replaced")
        if "\r" in header_value or "\n" in header_value:
            raise ValueError(f"the value of {name!r} contains a line break")
    return value


class EndpointOptions(BaseModel):
    """An endpoint as a user creates it."""

    model_config = ConfigDict(extra="forbid", strict=True)

    url: Annotated[str, Field(max_length=MAX_URL_LENGTH, description="Where to POST, http(s)://…")]
    event_types: list[str] = Field(
        default_factory=lambda: ["*"], description="Event types or globs such as 'ticket.*'."
    )
    secret: str | None = Field(
        None, description="whsec_ + base64 of 24 to 64 bytes; generated when omitted."
    )
    description: str = Field("", max_length=1000)
    headers: dict[str, str] = Field(default_factory=dict, description="Extra request headers.")
    secret_headers: list[Annotated[str, Field(max_length=256)]] = Field(
        default_factory=list,
        max_length=100,
        description="Names of headers whose values are credentials: encrypted at rest, masked.",
    )
    legacy_headers: bool = Field(
        False, description="Also send Content_Type and Content_Length as the seed shows them."
    )
    timeout: float | None = Field(None, gt=0, le=300, description="Seconds for one attempt.")
    max_in_flight: int = Field(10, ge=1, le=1000, description="Attempts in flight at once.")
    rate_limit: float | None = Field(None, gt=0, le=10000, description="Requests per second.")
    ordered: bool = Field(False, description="Deliver one at a time, in event order.")
    format: str = Field(
        "raw", description="Destination format; 'raw' is the wire format of docs/notifications.md."
    )
    format_options: dict[str, Any] = Field(default_factory=dict)
    filter: str | None = Field(None, max_length=2000, description="Filter expression.")
    auth: dict[str, Any] | None = Field(None, description="Endpoint authentication.")
    enabled: bool = True

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return _check_endpoint_url(value)

    @field_validator("event_types")
    @classmethod
    def _event_types(cls, value: list[str]) -> list[str]:
        return check_event_types(value)

    @field_validator("secret")
    @classmethod
    def _secret(cls, value: str | None) -> str | None:
        return None if value is None else check_secret(value)

    @field_validator("headers")
    @classmethod
    def _headers(cls, value: dict[str, str]) -> dict[str, str]:
        return _check_headers(value)


class EndpointPatch(BaseModel):
    """The fields a user may change; omitted fields stay as they are."""

    model_config = ConfigDict(extra="forbid", strict=True)

    url: str | None = Field(None, max_length=MAX_URL_LENGTH)
    event_types: list[str] | None = None
    description: str | None = Field(None, max_length=1000)
    headers: dict[str, str] | None = None
    secret_headers: list[Annotated[str, Field(max_length=256)]] | None = Field(None, max_length=100)
    legacy_headers: bool | None = None
    timeout: float | None = Field(None, gt=0, le=300)
    max_in_flight: int | None = Field(None, ge=1, le=1000)
    rate_limit: float | None = Field(None, gt=0, le=10000)
    ordered: bool | None = None
    format: str | None = None
    format_options: dict[str, Any] | None = None
    filter: str | None = Field(None, max_length=2000)
    auth: dict[str, Any] | None = None
    enabled: bool | None = None

    @field_validator(
        "url",
        "event_types",
        "description",
        "headers",
        "legacy_headers",
        "max_in_flight",
        "ordered",
        "format",
        "format_options",
        "enabled",
        mode="before",
    )
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        # Only a value given as null gets here: these fields have no "none" to set.
        if value is None:
            raise ValueError("cannot be null; leave the field out to keep its value")
        return value

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return None if value is None else _check_endpoint_url(value)

    @field_validator("event_types")
    @classmethod
    def _event_types(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else check_event_types(value)

    @field_validator("headers")
    @classmethod
    def _headers(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        return None if value is None else _check_headers(value)
