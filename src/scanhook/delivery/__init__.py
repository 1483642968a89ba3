"""The network side of delivery: signing, the SSRF guard, retries, request headers, HTTP.

The names below load their module on first use, so that importing one light part (``retry``,
``signing``) does not bring in the HTTP client and its dependencies.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from scanhook.delivery.http import ERROR_KINDS, HttpClient, HttpResult
    from scanhook.delivery.request import (
        HEADER_NAME,
        PROTECTED_HEADERS,
        USER_AGENT,
        active_secrets,
        build_headers,
        delivery_headers,
    )
    from scanhook.delivery.resolver import GuardedResolver
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

_HOMES = {
    "DEFAULT_SCHEDULE": "scanhook.delivery.retry",
    "DestinationBlocked": "scanhook.delivery.ssrf",
    "ERROR_KINDS": "scanhook.delivery.http",
    "GuardedResolver": "scanhook.delivery.resolver",
    "HEADER_NAME": "scanhook.delivery.request",
    "HttpClient": "scanhook.delivery.http",
    "HttpResult": "scanhook.delivery.http",
    "IPAddress": "scanhook.delivery.ssrf",
    "IPNetwork": "scanhook.delivery.ssrf",
    "NetworkPolicy": "scanhook.delivery.ssrf",
    "PROTECTED_HEADERS": "scanhook.delivery.request",
    "RetryPolicy": "scanhook.delivery.retry",
    "SECRET_PREFIX": "scanhook.delivery.signing",
    "SignatureError": "scanhook.delivery.signing",
    "USER_AGENT": "scanhook.delivery.request",
    "active_secrets": "scanhook.delivery.request",
    "build_headers": "scanhook.delivery.request",
    "delivery_headers": "scanhook.delivery.request",
    "generate_secret": "scanhook.delivery.signing",
    "parse_duration": "scanhook.delivery.retry",
    "parse_retry_after": "scanhook.delivery.retry",
    "parse_schedule": "scanhook.delivery.retry",
    "sign": "scanhook.delivery.signing",
    "validate_secret": "scanhook.delivery.signing",
    "verify": "scanhook.delivery.signing",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'scanhook.delivery' has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)
