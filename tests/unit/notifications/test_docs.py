"""docs/notifications.md stays true: its examples, field tables, signature and receiver code."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from standardwebhooks import Webhook

from scanhook.notifications import PAYLOAD_MODELS, encode, parse

ROOT = Path(__file__).resolve().parents[3]
DOC = (ROOT / "docs" / "notifications.md").read_text(encoding="utf-8")
EXAMPLE_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", DOC, flags=re.DOTALL)


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    digest = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def test_every_json_example_is_what_scanhook_sends() -> None:
    examples = blocks("json")
    assert len(examples) == 5
    seen = set()
    schema = json.loads((ROOT / "schemas" / "notification.schema.json").read_text())
    for text in examples:
        document = json.loads(text)
        note = parse(text)
        assert json.loads(encode(note)) == document
        Draft202012Validator(schema).validate(document)
        seen.add(note.event_type)
    assert seen == {"scheduled_scan", "finished_scan", "ticket.opened", "ticket.closed"}


@pytest.mark.parametrize("key", list(PAYLOAD_MODELS))
def test_field_tables_list_every_field_in_order(key: str) -> None:
    section = DOC.split(f"### `{key}`", 1)[1].split("\n### ", 1)[0]
    fields = re.findall(r"^\| `([a-z_]+)` \|", section, flags=re.MULTILINE)
    assert fields == list(PAYLOAD_MODELS[key].model_fields)


def _request() -> tuple[dict[str, str], bytes]:
    (http,) = blocks("http")
    head, body = http.split("\n\n", 1)
    headers = dict(line.split(": ", 1) for line in head.splitlines()[1:])
    return headers, body.rstrip("\n").encode()


def test_the_example_request_is_signed_and_framed_correctly(seed_finished_scan: bytes) -> None:
    headers, body = _request()
    assert body == encode(parse(seed_finished_scan))
    assert headers["Content-Length"] == str(len(body))
    msg_id, timestamp = headers["webhook-id"], int(headers["webhook-timestamp"])
    assert headers["webhook-signature"] == sign(EXAMPLE_SECRET, msg_id, timestamp, body)
    # The reference library computes the same signature.
    library = Webhook(EXAMPLE_SECRET).sign(
        msg_id, datetime.fromtimestamp(timestamp, UTC), body.decode()
    )
    assert headers["webhook-signature"] == library
    assert headers["scanhook-event-type"] == "finished_scan"


def _receiver() -> Any:
    (code,) = re.findall(r"<!-- verify-example -->\n```python\n(.*?)```", DOC, flags=re.DOTALL)
    namespace: dict[str, Any] = {"__name__": "doc_example"}
    exec(compile(code, "docs/notifications.md", "exec"), namespace)
    return namespace["receive"]


def _headers(msg_id: str, body: bytes, secrets: list[str]) -> dict[str, str]:
    now = int(time.time())
    return {
        "Content-Type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(now),
        "webhook-signature": " ".join(sign(s, msg_id, now, body) for s in secrets),
        "scanhook-event-type": "ticket.opened",
        "scanhook-attempt": "1",
    }


def test_the_receiver_example_verifies_and_drops_duplicates(
    capsys: pytest.CaptureFixture[str],
) -> None:
    receive = _receiver()
    body = encode(
        parse(
            {
                "ticket": {
                    "number": 4711,
                    "status": "Open",
                    "severity": "Critical",
                    "vulnerability_name": "Apache Log4j Remote Code Execution (CVE-2021-44228)",
                    "asset_name": "prod-web-01.example.com",
                    "asset_link": "https://sc.example.com/assets/view/2817",
                    "due_date": "2026-01-19",
                    "owner": "anna.lindqvist@example.com",
                }
            }
        )
    )
    assert receive(body, _headers("msg_1", body, [EXAMPLE_SECRET])) == 204
    assert "page the on-call: Apache Log4j" in capsys.readouterr().out
    assert receive(body, _headers("msg_1", body, [EXAMPLE_SECRET])) == 200  # a retry
    tampered = body.replace(b"Critical", b"Low")
    assert receive(tampered, _headers("msg_2", body, [EXAMPLE_SECRET])) == 401
    other = "whsec_" + base64.b64encode(b"k" * 32).decode()
    assert receive(body, _headers("msg_3", body, [other])) == 401
    # During a rotation: the new secret's signature and the old one's, in either order.
    assert receive(body, _headers("msg_4", body, [other, EXAMPLE_SECRET])) == 204
