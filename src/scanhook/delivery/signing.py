"""Standard Webhooks signing (https://www.standardwebhooks.com) of outgoing deliveries.

A secret is ``whsec_`` followed by the base64 of 24–64 random bytes; the HMAC-SHA256 key is the
decoded part. A delivery carries one ``v1,<base64 signature>`` per active secret, so during a
rotation receivers holding either the new or the old secret can verify it.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import secrets as _secrets
import time
from collections.abc import Mapping, Sequence

from scanhook.durations import parse_whole_number
from scanhook.errors import ScanhookError

__all__ = [
    "SECRET_PREFIX",
    "SignatureError",
    "generate_secret",
    "sign",
    "validate_secret",
    "verify",
]

SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix, not a secret
_MIN_KEY_BYTES = 24
_MAX_KEY_BYTES = 64
_KEY_CACHE_MAX = 4096
#: Decoded keys by secret string: signing is on the hot path, base64 decoding need not be.
_keys: dict[str, bytes] = {}


class SignatureError(ScanhookError):
    """The webhook signature could not be verified."""


def generate_secret() -> str:
    """A new signing secret: ``whsec_`` + base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(_secrets.token_bytes(32)).decode("ascii")


def _decode(value: str) -> bytes:
    if not isinstance(value, str):
        raise ValueError(f"secret: must be a string starting with {SECRET_PREFIX!r}")
    if not value.startswith(SECRET_PREFIX):
        raise ValueError(f"secret: must start with {SECRET_PREFIX!r}")
    encoded = value[len(SECRET_PREFIX) :]
    try:
        key = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(
            f"secret: the part after {SECRET_PREFIX!r} is not valid base64 (with padding)"
        ) from None
    if not _MIN_KEY_BYTES <= len(key) <= _MAX_KEY_BYTES:
        raise ValueError(
            f"secret: the key must be {_MIN_KEY_BYTES} to {_MAX_KEY_BYTES} bytes "
            f"once base64-decoded, not {len(key)}"
        )
    return key


def validate_secret(value: str) -> str:
    """Return ``value`` when it is a well-formed ``whsec_…`` secret; raise ValueError if not."""
    _decode(value)
    return value


def _key(secret: str) -> bytes:
    key = _keys.get(secret)
    if key is None:
        key = _decode(secret)
        if len(_keys) >= _KEY_CACHE_MAX:
            _keys.clear()
        _keys[secret] = key
    return key


def sign(secrets: Sequence[str], msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header: one ``v1,<base64>`` per secret, space-separated."""
    to_sign = f"{msg_id}.{timestamp}.".encode() + body
    b64 = base64.b64encode
    digest = hmac.digest
    return " ".join(
        "v1," + b64(digest(_key(secret), to_sign, "sha256")).decode("ascii") for secret in secrets
    )


def verify(
    secrets: Sequence[str],
    headers: Mapping[str, str],
    body: bytes,
    *,
    tolerance: float = 300,
    now: float | None = None,
) -> None:
    """Check a delivery's Standard Webhooks headers against ``body``.

    Raises :class:`SignatureError` naming the reason: a missing or malformed header, a timestamp
    more than ``tolerance`` seconds from ``now``, or no signature matching any of ``secrets``.
    """
    lowered = {name.lower(): value for name, value in headers.items()}
    for name in ("webhook-id", "webhook-timestamp", "webhook-signature"):
        if not lowered.get(name):
            raise SignatureError(f"missing header {name}")
    msg_id = lowered["webhook-id"]
    raw_timestamp = lowered["webhook-timestamp"].strip()
    timestamp = parse_whole_number(raw_timestamp)
    if timestamp is None:
        shown = repr(raw_timestamp[:40]) + ("…" if len(raw_timestamp) > 40 else "")
        raise SignatureError(f"webhook-timestamp: {shown} is not a whole number of Unix seconds")
    current = time.time() if now is None else now
    if timestamp < current - tolerance:
        raise SignatureError(
            f"webhook-timestamp: {timestamp} is too old (more than {tolerance:g} s before now)"
        )
    if timestamp > current + tolerance:
        raise SignatureError(
            f"webhook-timestamp: {timestamp} is too new (more than {tolerance:g} s after now)"
        )
    if not secrets:
        raise SignatureError("no secret to verify the signature with")
    expected = [
        hmac.digest(_key(secret), f"{msg_id}.{timestamp}.".encode() + body, "sha256")
        for secret in secrets
    ]
    for candidate in lowered["webhook-signature"].split():
        version, _, encoded = candidate.partition(",")
        if version != "v1":
            continue
        try:
            given = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            continue
        if any(hmac.compare_digest(given, want) for want in expected):
            return
    raise SignatureError("webhook-signature: no signature matches the secret(s)")
