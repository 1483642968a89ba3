"""The headers of a delivery attempt (contract §2) and the secrets that sign it."""

from __future__ import annotations

import time

import pytest
import standardwebhooks

from scanhook import __version__
from scanhook.delivery.request import USER_AGENT, active_secrets, build_headers
from scanhook.delivery.signing import generate_secret
from scanhook.store.records import Endpoint, EndpointSecret

BODY = b'{"scheduled_scan": {"name": "Nightly"}}'


def _build(**overrides: object) -> dict[str, str]:
    arguments: dict[str, object] = {
        "msg_id": "dlv_1",
        "timestamp": 1_700_000_000,
        "body": BODY,
        "event_type": "scheduled_scan",
        "attempt": 3,
        "secrets": [generate_secret()],
        "legacy_headers": False,
        "extra": {},
        "user_agent": USER_AGENT,
    }
    arguments.update(overrides)
    return build_headers(**arguments)  # type: ignore[arg-type]


def test_user_agent_names_the_version() -> None:
    assert f"scanhook/{__version__}" == USER_AGENT


def test_exactly_the_contract_headers() -> None:
    secret = generate_secret()
    headers = _build(secrets=[secret])
    assert set(headers) == {
        "Content-Type",
        "Accept",
        "Content-Length",
        "User-Agent",
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
        "scanhook-event-type",
        "scanhook-attempt",
    }
    assert headers["Content-Type"] == "application/json"
    assert headers["Accept"] == "*/*"
    assert headers["Content-Length"] == str(len(BODY))
    assert headers["User-Agent"] == USER_AGENT
    assert headers["webhook-id"] == "dlv_1"
    assert headers["webhook-timestamp"] == "1700000000"
    assert headers["scanhook-event-type"] == "scheduled_scan"
    assert headers["scanhook-attempt"] == "3"
    assert headers["webhook-signature"].startswith("v1,")


def test_headers_sign_the_body_verifiably() -> None:
    secret = generate_secret()
    now = int(time.time())
    headers = _build(secrets=[secret], timestamp=now)
    standardwebhooks.Webhook(secret).verify(BODY, headers, json_parse=False)


def test_legacy_headers_as_the_seed_shows_them() -> None:
    headers = _build(legacy_headers=True)
    assert headers["Content_Type"] == "application/json"
    assert headers["Content_Length"] == str(len(BODY))
    assert headers["Content-Type"] == "application/json"
    assert "Content_Type" not in _build(legacy_headers=False)


def test_extra_headers_are_added_but_never_override() -> None:
    extra = {
        "X-Team": "blue",
        "Authorization": "Bearer abc",
        "content-type": "text/plain",
        "USER-AGENT": "evil",
        "Webhook-Signature": "v1,forged",
        "webhook-id": "other",
        "Scanhook-Attempt": "99",
        "content_length": "1",
        "Host": "elsewhere.example",
    }
    headers = _build(extra=extra, legacy_headers=True)
    assert headers["X-Team"] == "blue"
    assert headers["Authorization"] == "Bearer abc"
    lowered: dict[str, list[str]] = {}
    for name, value in headers.items():
        lowered.setdefault(name.lower(), []).append(value)
    assert lowered["content-type"] == ["application/json"]
    assert lowered["user-agent"] == [USER_AGENT]
    assert lowered["webhook-id"] == ["dlv_1"]
    assert lowered["scanhook-attempt"] == ["3"]
    assert lowered["content_length"] == [str(len(BODY))]
    assert "host" not in lowered
    assert "forged" not in headers["webhook-signature"]


def test_active_secrets_newest_first_and_expired_ones_dropped() -> None:
    now = 1_000.0
    endpoint = Endpoint(
        id="ep_1",
        url="https://example.com/hook",
        secrets=(
            EndpointSecret("whsec_oldest", expires_at=now + 10),
            EndpointSecret("whsec_expired", expires_at=now),
            EndpointSecret("whsec_current"),
            EndpointSecret("whsec_previous", expires_at=now + 3600),
        ),
    )
    assert active_secrets(endpoint, now) == ["whsec_current", "whsec_previous", "whsec_oldest"]
    assert active_secrets(endpoint, now + 100) == ["whsec_current", "whsec_previous"]


@pytest.mark.parametrize("content_type", ["application/cloudevents+json"])
def test_content_type_can_be_chosen_by_the_format(content_type: str) -> None:
    assert _build(content_type=content_type)["Content-Type"] == content_type
