"""``scanhook serve``, ``listen`` and ``--api-url``: real processes on loopback ports."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
from standardwebhooks.webhooks import Webhook

from acceptance.cli_support import Proc, clean_env, run
from scanhook.delivery.signing import generate_secret

URL = r"(http://127\.0\.0\.1:\d+)"


def _listen(secret: str) -> Proc:
    return Proc("listen", "--port", "0", "--secret", secret, "--json", env=clean_env())


def test_listen_verifies_good_signatures_and_rejects_bad_ones() -> None:
    secret = generate_secret()
    with _listen(secret) as listener:
        url = listener.expect(r"listening on " + URL).group(1)
        body = '{"ticket": {"number": 1}}'
        timestamp = datetime.now(UTC)
        signature = Webhook(secret).sign("msg_good", timestamp, body)
        good = requests.post(
            url + "/hooks",
            data=body.encode(),
            headers={
                "webhook-id": "msg_good",
                "webhook-timestamp": str(int(timestamp.timestamp())),
                "webhook-signature": signature,
                "scanhook-event-type": "ticket.opened",
                "scanhook-attempt": "2",
            },
            timeout=10,
        )
        assert good.status_code == 200
        line = json.loads(listener.expect(r'"webhook_id": "msg_good"').string)
        assert line["signature"] == "valid"
        assert line["event_type"] == "ticket.opened"
        assert line["attempt"] == 2
        assert line["payload"] == {"ticket": {"number": 1}}

        forged = Webhook(generate_secret()).sign("msg_bad", timestamp, body)
        bad = requests.post(
            url + "/hooks",
            data=body.encode(),
            headers={
                "webhook-id": "msg_bad",
                "webhook-timestamp": str(int(timestamp.timestamp())),
                "webhook-signature": forged,
            },
            timeout=10,
        )
        assert bad.status_code == 401
        assert "signature" in bad.json()["error"]
        line = json.loads(listener.expect(r'"webhook_id": "msg_bad"').string)
        assert line["signature"] == "invalid"
        assert "no signature matches" in line["problem"]
        assert listener.terminate() == 0


def test_listen_answers_the_chosen_status_and_reports_bad_signatures_loudly() -> None:
    secret = generate_secret()
    env = clean_env()
    with Proc("listen", "--port", "0", "--secret", secret, "--status", "500", env=env) as listener:
        url = listener.expect(r"listening on " + URL).group(1)
        unsigned = requests.post(url, data=b"{}", timeout=10)
        assert unsigned.status_code == 401
        listener.expect(r"BAD SIGNATURE")
        listener.expect(r"missing header webhook-id")
        body = '{"scheduled_scan": {}}'
        now = datetime.now(UTC)
        headers = {
            "webhook-id": "msg_1",
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": Webhook(secret).sign("msg_1", now, body),
        }
        assert requests.post(url, data=body, headers=headers, timeout=10).status_code == 500
        listener.expect(r"✓ signed\s+→ 500")
        assert listener.terminate() == 0
        assert "2 received, 1 verified, 1 with a bad signature" in listener.output()


def test_listen_answers_hostile_numbers_in_headers_without_an_error() -> None:
    """webhook-timestamp and scanhook-attempt of "²" (a digit to str.isdigit, not to int) or
    of 5,000 digits: a 401 for the signature, never a 500, and the receiver goes on."""
    secret = generate_secret()
    with _listen(secret) as listener:
        url = listener.expect(r"listening on " + URL).group(1)
        for hostile in ("²", "1" * 5000):
            response = requests.post(
                url + "/hooks",
                data=b"{}",
                headers={
                    "webhook-id": f"msg_{len(hostile)}",
                    "webhook-timestamp": hostile,
                    "webhook-signature": "v1,AAAA",
                    "scanhook-attempt": hostile,
                },
                timeout=10,
            )
            assert response.status_code == 401, response.text
            assert "webhook-timestamp" in response.json()["error"]
            line = json.loads(listener.expect(rf'"webhook_id": "msg_{len(hostile)}"').string)
            assert line["attempt"] is None
            assert line["signature"] == "invalid"
        assert listener.terminate() == 0
    assert "Traceback" not in listener.output()


def test_listen_refuses_a_bad_secret() -> None:
    result = run("listen", "--secret", "not-a-secret", env=clean_env())
    assert result.returncode == 2
    assert "whsec_" in result.stderr
    assert "Traceback" not in result.stderr


#: ESC sequences (clear screen, retitle, write the clipboard), the one-byte CSI, a bidi override
#: and a newline that would fake a line of its own.
_HOSTILE_NAME = (
    "Daily\x1b[2J\x1b]0;pwned\x07\x1b]52;c;ZXZpbA==\x07\x9b2J\u202eSELIF\n✓ signed → 200"
)
_TERMINAL_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


@pytest.mark.parametrize("as_json", [False, True], ids=["lines", "json"])
def test_listen_prints_no_terminal_control_from_a_request(as_json: bool) -> None:
    args = ["listen", "--port", "0", "--no-verify", *(["--json"] if as_json else [])]
    with Proc(*args, env=clean_env()) as listener:
        url = listener.expect(r"listening on " + URL).group(1)
        body = json.dumps({"finished_scan": {"name": _HOSTILE_NAME}}, ensure_ascii=False)
        answer = requests.post(url, data=body.encode(), headers={"webhook-id": "msg_x"}, timeout=10)
        assert answer.status_code == 200
        line = listener.expect(r"msg_x").string
        assert listener.terminate() == 0
        output = listener.output()
    assert not _TERMINAL_CONTROL.search(output), repr(output)
    if as_json:
        assert json.loads(line)["payload"]["finished_scan"]["name"] == _HOSTILE_NAME
    else:
        assert "Daily\\x1b[2J\\x1b]0;pwned\\x07" in line
        assert "\\u202eSELIF\\x0a✓ signed" in line


def test_serve_end_to_end(tmp_path: Path) -> None:
    """serve: /healthz, the initial token printed once, an event accepted with it and delivered
    to a loopback receiver, --api-url management, and exit 0 on SIGTERM."""
    database = f"sqlite:///{tmp_path / 'serve.db'}"
    env = clean_env(
        SCANHOOK_DATABASE_URL=database,
        SCANHOOK_ALLOWED_NETWORKS="127.0.0.1/32",
        SCANHOOK_LOG_FORMAT="json",
    )
    secret = generate_secret()
    with _listen(secret) as listener, Proc("serve", "--port", "0", env=env) as service:
        receiver = listener.expect(r"listening on " + URL).group(1)
        token = service.expect(r"API token: (shk_\S+)").group(1)
        api = service.expect(r"scanhook is serving " + URL).group(1)
        assert requests.get(api + "/healthz", timeout=10).status_code == 200
        assert requests.get(api + "/v1/endpoints", timeout=10).status_code == 401

        remote = {**env, "SCANHOOK_API_URL": api, "SCANHOOK_API_TOKEN": token}
        added = run(
            "endpoint", "add", receiver + "/hooks", "--secret", secret, "--json", env=remote
        )
        assert added.returncode == 0, added.stderr
        endpoint_id = json.loads(added.stdout)["id"]
        listed = run("endpoint", "list", "--json", env=remote)
        assert [e["id"] for e in json.loads(listed.stdout)] == [endpoint_id]

        emitted = run(
            "emit", "finished-scan", "--name", "Daily scan", "--type", "network",
            "--started", "2018-08-21 12:02", "--finished", "2018-08-21 12:59",
            "--critical", "1", "--medium", "3",
            "--link", "https://sc.holmsecurity.com/scans/scans/view/123", "--json", env=remote,
        )  # fmt: skip
        assert emitted.returncode == 0, emitted.stderr
        accepted = json.loads(emitted.stdout)
        assert accepted["deliveries"] == 1
        line = json.loads(listener.expect(r'"event_type": "finished_scan"').string)
        assert line["signature"] == "valid"
        assert line["payload"]["finished_scan"]["duration"] == "00:57"

        shown = run("events", "show", accepted["id"], "--json", env=remote)
        event = json.loads(shown.stdout)
        assert event["deliveries"][0]["status"] in ("succeeded", "sending")

        bad = run("endpoint", "list", env={**remote, "SCANHOOK_API_TOKEN": "shk_wrong"})
        assert bad.returncode == 1
        assert "refused the token" in bad.stderr
        assert service.terminate() == 0
    first_output = service.output()
    assert first_output.count(token) == 1

    with Proc("serve", "--port", "0", env=env) as again:
        again.expect(r"scanhook is serving")
        assert again.terminate() == 0
        assert "API token:" not in again.output()


def test_api_url_that_answers_nothing_is_a_clear_error() -> None:
    env = clean_env(SCANHOOK_API_URL="http://127.0.0.1:9", SCANHOOK_API_TOKEN="shk_x")
    result = run("endpoint", "list", env=env)
    assert result.returncode == 1
    assert "cannot reach the scanhook service at http://127.0.0.1:9" in result.stderr


@pytest.mark.parametrize("port", ["-1", "70000", "eighty"])
def test_serve_refuses_bad_ports(port: str) -> None:
    result = run("serve", "--port", port, env=clean_env())
    assert result.returncode == 2
    assert "--port" in result.stderr
    assert re.search(r"Traceback", result.stderr) is None
