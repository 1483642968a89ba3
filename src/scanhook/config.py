"""scanhook's settings: environment variables ``SCANHOOK_*`` over an optional TOML file named by
``SCANHOOK_CONFIG`` over the defaults (docs/operators.md). Validated once, at start, with errors
that name the variable."""

from __future__ import annotations

import ipaddress
import os
from datetime import tzinfo
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from scanhook.delivery.retry import DEFAULT_SCHEDULE, parse_schedule
from scanhook.durations import parse_duration
from scanhook.errors import ConfigurationError
from scanhook.notifications.timefmt import load_zone
from scanhook.redaction import mask_url
from scanhook.store.secretbox import KEY_SETTING, KeyRing

__all__ = ["Settings", "load_settings"]

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def _duration_field(default: str, description: str) -> Any:
    return Field(default=default, description=description)


class Settings(BaseSettings):
    """Every setting with its default. Durations are written like ``0.2s``, ``5m``, ``2h``."""

    model_config = SettingsConfigDict(
        env_prefix="SCANHOOK_", extra="forbid", validate_default=True, frozen=True
    )

    database_url: str = Field(
        "sqlite:///./scanhook.db", description="sqlite:///path (embedded) or postgresql://…"
    )
    api_token: SecretStr | None = Field(None, description="A fixed bearer token for the API.")
    metrics_token: SecretStr | None = Field(
        None,
        description="When set, GET /metrics needs 'Authorization: Bearer <it>' (and no other).",
    )
    metrics_refresh: str = _duration_field(
        "15s", "How often, at most, /metrics reads the queue's counts from the database again."
    )
    secret_key: SecretStr | None = Field(
        None,
        description=(
            "Key(s) that encrypt endpoint secrets at rest: 32 bytes in URL-safe base64, several"
            " separated by commas during a key rotation (the first encrypts). Required for"
            " PostgreSQL; for SQLite, a key file beside the database is made when not set."
        ),
    )
    api_url: str | None = Field(
        None, description="For CLI management commands: a running service to talk to."
    )
    allow_private_networks: bool = Field(
        False, description="Let endpoints point at loopback/private/link-local addresses."
    )
    allowed_networks: str = Field(
        "", description="Comma-separated networks allowed even when private ones are not."
    )
    retry_schedule: str = Field(DEFAULT_SCHEDULE, description="Delays between attempts.")
    request_timeout: float = Field(15.0, gt=0, le=300, description="Seconds for one attempt.")
    display_timezone: str = Field("UTC", description="IANA zone of wire timestamps.")
    secret_overlap: str = _duration_field("24h", "How long a rotated-out secret keeps signing.")
    retention: str = _duration_field("30d", "Finished deliveries and attempts older are pruned.")
    lease: str = _duration_field("60s", "How long a worker holds a claimed delivery.")
    poll_interval: str = _duration_field("1s", "Fallback poll when no wake-up arrives.")
    shutdown_grace: str = _duration_field("10s", "How long SIGTERM waits for in-flight attempts.")
    disable_after: str = _duration_field("5d", "Failing this long without success disables.")
    schedule_grace: str = _duration_field(
        "1h", "After downtime, schedule notices late by less than this are still sent."
    )
    circuit_threshold: int = Field(5, ge=1, description="Failures in a row that open a circuit.")
    claim_batch: int = Field(128, ge=1, le=10000, description="Deliveries claimed at once.")
    max_concurrency: int = Field(
        1000, ge=1, le=100000, description="Attempts in flight in one worker process."
    )
    event_loop: Literal["auto", "asyncio", "uvloop"] = Field(
        "auto",
        description="The event loop of scanhook's own processes (auto: uvloop when installed).",
    )
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["auto", "json", "console"] = "auto"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config_file = os.environ.get("SCANHOOK_CONFIG")
        if config_file:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(config_file)))
        return tuple(sources)

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        if not value.startswith(("sqlite:///", "postgresql://", "postgresql+")):
            raise ValueError(
                f"{mask_url(value)!r} is not a database URL: use sqlite:///path or postgresql://user@host/db"
            )
        return value

    @field_validator("metrics_token")
    @classmethod
    def _check_metrics_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 16:
            raise ValueError("too short: use at least 16 characters (a random token)")
        return value

    @field_validator("secret_key")
    @classmethod
    def _check_secret_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            try:
                KeyRing.parse(value.get_secret_value())
            except ConfigurationError as exc:
                raise ValueError(exc.message.removeprefix(f"{KEY_SETTING}: ")) from None
        return value

    @field_validator("allowed_networks")
    @classmethod
    def _check_networks(cls, value: str) -> str:
        _parse_networks(value)
        return value

    @field_validator("retry_schedule")
    @classmethod
    def _check_schedule(cls, value: str) -> str:
        parse_schedule(value)
        return value

    @field_validator("display_timezone")
    @classmethod
    def _check_zone(cls, value: str) -> str:
        load_zone(value)
        return value

    @field_validator(
        "secret_overlap",
        "retention",
        "lease",
        "poll_interval",
        "shutdown_grace",
        "disable_after",
        "schedule_grace",
        "metrics_refresh",
    )
    @classmethod
    def _check_duration(cls, value: str) -> str:
        parse_duration(value)
        return value

    # Parsed forms, for the code that uses them.
    @property
    def networks(self) -> tuple[IPNetwork, ...]:
        return _parse_networks(self.allowed_networks)

    @property
    def retry_delays(self) -> tuple[float, ...]:
        return parse_schedule(self.retry_schedule)

    @property
    def display_tz(self) -> tzinfo:
        return load_zone(self.display_timezone)

    def seconds(self, name: str) -> float:
        """A duration setting in seconds, e.g. ``settings.seconds("lease")``."""
        value = getattr(self, name)
        assert isinstance(value, str)
        return parse_duration(value)


def _parse_networks(text: str) -> tuple[IPNetwork, ...]:
    networks: list[IPNetwork] = []
    for part in (p.strip() for p in text.split(",")):
        if part:
            try:
                networks.append(ipaddress.ip_network(part, strict=False))
            except ValueError as exc:
                raise ValueError(f"{part!r} is not a network: {exc}") from None
    return tuple(networks)


def load_settings(**overrides: Any) -> Settings:
    """The settings, or :class:`ConfigurationError` listing each bad variable and why."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        lines = []
        for error in exc.errors(include_url=False):
            name = ".".join(str(p) for p in error["loc"]) or "(settings)"
            message = error["msg"].removeprefix("Value error, ")
            if error["type"] == "extra_forbidden":
                message = "unknown setting"
            lines.append(f"SCANHOOK_{name.upper()}: {message}")
        raise ConfigurationError("invalid configuration:\n  " + "\n  ".join(lines)) from None
    except OSError as exc:
        raise ConfigurationError(f"cannot read the configuration file: {exc}") from exc
