"""Standard Webhooks signing: our signatures verify with both reference packages."""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime

import pytest
import standardwebhooks
import svix.webhooks

from scanhook.delivery.signing import (
    SignatureError,
    generate_secret,
    sign,
    validate_secret,
    verify,
)
from scanhook.errors import ScanhookError

BODY = b'{"ticket": {"number": 7, "status": "Open"}}'
MSG_ID = "dlv_01JD0000000000000000000000"


def _headers(msg_id: str, timestamp: int, signature: str) -> dict[str, str]:
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature,
    }


def _verify_with_references(secret: str, headers: dict[str, str], body: bytes) -> None:
    standardwebhooks.Webhook(secret).verify(body, headers, json_parse=False)
    svix.webhooks.Webhook(secret).verify(body, headers)


def test_generated_secret_is_whsec_and_32_random_bytes() -> None:
    first, second = generate_secret(), generate_secret()
    assert first.startswith("whsec_")
    assert len(base64.b64decode(first.removeprefix("whsec_"), validate=True)) == 32
    assert first != second
    assert validate_secret(first) == first


def test_known_vector_from_the_standard() -> None:
    # The example of the Standard Webhooks / Svix test suites.
    signature = sign(
        ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
        "msg_p5jXN8AQM9LWM0D4loKWxJek",
        1614265330,
        b'{"test": 2432232314}',
    )
    assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_signature_verifies_with_standardwebhooks_and_svix() -> None:
    secret = generate_secret()
    now = int(time.time())
    headers = _headers(MSG_ID, now, sign([secret], MSG_ID, now, BODY))
    _verify_with_references(secret, headers, BODY)
    verify([secret], headers, BODY)
    # The references' own signature is the same string.
    ts = datetime.fromtimestamp(now, tz=UTC)
    assert headers["webhook-signature"] == standardwebhooks.Webhook(secret).sign(
        MSG_ID, ts, BODY.decode()
    )


def test_rotation_sends_two_signatures_each_verifying_with_its_secret() -> None:
    new, old = generate_secret(), generate_secret()
    now = int(time.time())
    signature = sign([new, old], MSG_ID, now, BODY)
    parts = signature.split(" ")
    assert len(parts) == 2
    assert all(part.startswith("v1,") for part in parts)
    headers = _headers(MSG_ID, now, signature)
    for secret in (new, old):
        _verify_with_references(secret, headers, BODY)
        verify([secret], headers, BODY)
    stranger = generate_secret()
    with pytest.raises(standardwebhooks.webhooks.WebhookVerificationError):
        standardwebhooks.Webhook(stranger).verify(BODY, headers, json_parse=False)


@pytest.mark.parametrize("part", ["body", "id", "timestamp", "signature"])
def test_tampering_fails_everywhere(part: str) -> None:
    secret = generate_secret()
    now = int(time.time())
    headers = _headers(MSG_ID, now, sign([secret], MSG_ID, now, BODY))
    body = BODY
    if part == "body":
        body = BODY.replace(b"7", b"8")
    elif part == "id":
        headers["webhook-id"] = MSG_ID + "x"
    elif part == "timestamp":
        headers["webhook-timestamp"] = str(now - 1)
    else:
        raw = bytearray(base64.b64decode(headers["webhook-signature"][3:]))
        raw[0] ^= 1
        headers["webhook-signature"] = "v1," + base64.b64encode(bytes(raw)).decode()
    with pytest.raises(standardwebhooks.webhooks.WebhookVerificationError):
        standardwebhooks.Webhook(secret).verify(body, headers, json_parse=False)
    with pytest.raises(svix.webhooks.WebhookVerificationError):
        svix.webhooks.Webhook(secret).verify(body, headers)
    with pytest.raises(SignatureError, match="no signature matches"):
        verify([secret], headers, body)


def test_verify_reasons() -> None:
    secret = generate_secret()
    now = 1_700_000_000
    good = _headers(MSG_ID, now, sign([secret], MSG_ID, now, BODY))
    verify([secret], {k.upper(): v for k, v in good.items()}, BODY, now=now + 299)
    for missing in good:
        headers = {k: v for k, v in good.items() if k != missing}
        with pytest.raises(SignatureError, match=f"missing header {missing}"):
            verify([secret], headers, BODY, now=now)
    with pytest.raises(SignatureError, match="too old"):
        verify([secret], good, BODY, now=now + 301)
    with pytest.raises(SignatureError, match="too new"):
        verify([secret], good, BODY, now=now - 301)
    with pytest.raises(SignatureError, match="whole number"):
        verify([secret], {**good, "webhook-timestamp": "soon"}, BODY, now=now)
    with pytest.raises(SignatureError, match="no signature matches"):
        verify([generate_secret()], good, BODY, now=now)
    assert issubclass(SignatureError, ScanhookError)


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "must start with 'whsec_'"),
        ("whsec_not base64!", "not valid base64"),
        ("whsec_" + base64.b64encode(b"short").decode(), "24 to 64 bytes"),
        ("whsec_" + base64.b64encode(bytes(65)).decode(), "not 65"),
        ("whsec_", "not 0"),
    ],
)
def test_malformed_secret_is_refused_with_a_clear_message(value: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        validate_secret(value)
    with pytest.raises(ValueError, match="secret"):
        sign([value], MSG_ID, 1, BODY)


@pytest.mark.parametrize("hostile", ["²", "١٧٠٠٠٠٠٠٠٠", "1" * 5000, "-1", "1e9"])
def test_a_hostile_timestamp_is_a_signature_error_not_a_value_error(hostile: str) -> None:
    secret = generate_secret()
    headers = _headers(MSG_ID, int(time.time()), sign([secret], MSG_ID, int(time.time()), BODY))
    headers["webhook-timestamp"] = hostile
    with pytest.raises(SignatureError, match="not a whole number of Unix seconds") as caught:
        verify([secret], headers, BODY)
    assert len(caught.value.message) < 200  # a 5,000-digit value is not repeated whole
