"""The network side of delivery: signing, the SSRF guard, retries, request headers, HTTP."""

from __future__ import annotations

from scanhook.delivery.http import ERROR_KINDS, HttpClient, HttpResult
from scanhook.delivery.request import (
    HEADER_NAME,
    PROTECTED_HEADERS,
    USER_AGENT,
    active_secrets,
    build_headers,
    delivery_headers,
)
from scanhook.delivery.retry import (
    DEFAULT_SCHEDULE,
    RetryPolicy,
    parse_duration,
    parse_retry_after,
    parse_schedule,
)
from scanhook.delivery.signing import (
    SECRET_PREFIX,
    SignatureError,
    generate_secret,
    sign,
    validate_secret,
    verify,
)
from scanhook.delivery.ssrf import (
    DestinationBlocked,
    GuardedResolver,
    IPAddress,
    IPNetwork,
    NetworkPolicy,
)

__all__ = [
    "DEFAULT_SCHEDULE",
    "ERROR_KINDS",
    "HEADER_NAME",
    "PROTECTED_HEADERS",
    "SECRET_PREFIX",
    "USER_AGENT",
    "DestinationBlocked",
    "GuardedResolver",
    "HttpClient",
    "HttpResult",
    "IPAddress",
    "IPNetwork",
    "NetworkPolicy",
    "RetryPolicy",
    "SignatureError",
    "active_secrets",
    "build_headers",
    "delivery_headers",
    "generate_secret",
    "parse_duration",
    "parse_retry_after",
    "parse_schedule",
    "sign",
    "validate_secret",
    "verify",
]
