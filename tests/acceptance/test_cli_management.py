"""Management commands on a SQLite file: emit (exact payloads), endpoints, config, errors."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from acceptance.cli_support import clean_env, run
from scanhook.hub import Hub

#: The seed's example in the contract's key order: what `emit finished-scan` must store and send.
SEED_CONTRACT_ORDER = (
    b'{"finished_scan": {"name": "Daily scan", "type": "network", "started": "2018-08-21 12:02", '
    b'"finished": "2018-08-21 12:59", "duration": "00:57", "status": "Completed", "errors": "", '
    b'"critical_cnt": 1, "high_cnt": 0, "medium_cnt": 3, "low_cnt": 0, '
    b'"link": "https://sc.holmsecurity.com/scans/scans/view/123"}}'
)
SEED_FLAGS = (
    "--name", "Daily scan", "--type", "network",
    "--started", "2018-08-21 12:02", "--finished", "2018-08-21 12:59",
    "--critical", "1", "--high", "0", "--medium", "3", "--low", "0",
    "--link", "https://sc.holmsecurity.com/scans/scans/view/123",
)  # fmt: skip


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return clean_env(SCANHOOK_DATABASE_URL=f"sqlite:///{tmp_path / 'cli.db'}")


def _stored_body(env: dict[str, str], event_id: str) -> bytes:
    async def read() -> bytes:
        async with Hub.open(env["SCANHOOK_DATABASE_URL"]) as hub:
            return (await hub.store.get_event(event_id)).body

    return asyncio.run(read())


def test_emit_finished_scan_flags_store_exactly_the_contract_payload(
    env: dict[str, str], seed_finished_scan: bytes
) -> None:
    result = run("emit", "finished-scan", *SEED_FLAGS, "--json", env=env)
    assert result.returncode == 0, result.stderr
    accepted = json.loads(result.stdout)
    assert accepted["type"] == "finished_scan"
    body = _stored_body(env, accepted["id"])
    assert body == SEED_CONTRACT_ORDER
    assert json.loads(body) == json.loads(seed_finished_scan)


def test_emit_dry_run_prints_the_wire_bytes_of_each_kind(env: dict[str, str]) -> None:
    finished = run("emit", "finished-scan", *SEED_FLAGS, "--dry-run", env=env)
    assert finished.returncode == 0, finished.stderr
    assert finished.stdout.encode() == SEED_CONTRACT_ORDER + b"\n"
    scheduled = run(
        "emit", "scheduled-scan", "--name", "Weekly DMZ", "--type", "web application",
        "--starts-at", "2026-01-12 02:30", "--link", "https://sc.example.com/scans/schedules/view/4",
        "--dry-run", env=env,
    )  # fmt: skip
    assert scheduled.returncode == 0, scheduled.stderr
    assert scheduled.stdout == (
        '{"scheduled_scan": {"name": "Weekly DMZ", "type": "web application", '
        '"starts_at": "2026-01-12 02:30", "link": "https://sc.example.com/scans/schedules/view/4"}}\n'
    )
    ticket = run(
        "emit", "ticket", "--number", "4711", "--status", "Closed (Fixed)", "--severity", "High",
        "--vulnerability-name", "OpenSSH regreSSHion (CVE-2024-6387)", "--asset-name", "web-01",
        "--asset-link", "https://sc.example.com/assets/view/2817", "--due-date", "2026-02-11",
        "--owner", "anna.lindqvist@example.com", "--dry-run", env=env,
    )  # fmt: skip
    assert ticket.returncode == 0, ticket.stderr
    assert ticket.stdout == (
        '{"ticket": {"number": 4711, "status": "Closed (Fixed)", "severity": "High", '
        '"vulnerability_name": "OpenSSH regreSSHion (CVE-2024-6387)", "asset_name": "web-01", '
        '"asset_link": "https://sc.example.com/assets/view/2817", "due_date": "2026-02-11", '
        '"owner": "anna.lindqvist@example.com"}}\n'
    )


def test_emit_from_stdin_publishes_each_line(env: dict[str, str]) -> None:
    lines = run("sample", "all", "-n", "4", "--seed", "3", env=env).stdout.encode()
    result = run("emit", "-", "--json", env=env, stdin=lines)
    assert result.returncode == 0, result.stderr
    accepted = json.loads(result.stdout)
    assert [a["type"] for a in accepted] == [
        "scheduled_scan",
        "finished_scan",
        "ticket.opened",
        "ticket.closed",
    ]
    stored = [_stored_body(env, a["id"]) for a in accepted]
    assert stored == lines.splitlines()


def test_emit_refuses_bad_values_naming_each_field_and_publishes_nothing(
    env: dict[str, str],
) -> None:
    result = run(
        "emit", "finished-scan", "--name", "x", "--type", "lan", "--link", "not-a-url", env=env
    )
    assert result.returncode == 1
    assert "finished_scan.type" in result.stderr
    assert "finished_scan.link" in result.stderr
    assert "nothing was published" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    negative = run("emit", "finished-scan", *SEED_FLAGS[:-2], "--critical", "-1", env=env)
    assert negative.returncode == 2
    assert "--critical" in negative.stderr
    missing = run("emit", "ticket", "--number", "1", env=env)
    assert missing.returncode == 2
    assert "Missing option" in missing.stderr
    unreadable = run("emit", "no-such-file.json", env=env)
    assert unreadable.returncode == 2
    assert "cannot read no-such-file.json" in unreadable.stderr
    stats = json.loads(run("stats", "--json", env=env).stdout)
    assert sum(stats["deliveries"].values()) == 0


def test_endpoint_round_trip(env: dict[str, str]) -> None:
    added = run(
        "endpoint", "add", "https://hooks.example.com/scanhook", "-e", "ticket.*",
        "-d", "tracker", "--json", env=env,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    endpoint = json.loads(added.stdout)
    endpoint_id = endpoint["id"]
    assert endpoint["secret"].startswith("whsec_")
    assert endpoint["event_types"] == ["ticket.*"]

    listed = json.loads(run("endpoint", "list", "--json", env=env).stdout)
    assert [e["id"] for e in listed] == [endpoint_id]
    assert "secret" not in listed[0]
    table = run("endpoint", "list", env=env)
    assert endpoint_id in table.stdout
    assert "hooks.example.com" in table.stdout

    updated = run(
        "endpoint", "update", endpoint_id, "--url", "https://hooks.example.com/v2",
        "-e", "finished_scan", "--legacy-headers", "--json", env=env,
    )  # fmt: skip
    assert updated.returncode == 0, updated.stderr
    shown = json.loads(run("endpoint", "show", endpoint_id, "--json", env=env).stdout)
    assert shown["url"] == "https://hooks.example.com/v2"
    assert shown["event_types"] == ["finished_scan"]
    assert shown["legacy_headers"] is True
    assert shown["description"] == "tracker"

    disabled = json.loads(run("endpoint", "disable", endpoint_id, "--json", env=env).stdout)
    assert disabled["enabled"] is False
    assert "disabled" in run("endpoint", "show", endpoint_id, env=env).stdout
    enabled = json.loads(run("endpoint", "enable", endpoint_id, "--json", env=env).stdout)
    assert enabled["enabled"] is True

    rotated = json.loads(run("endpoint", "rotate-secret", endpoint_id, "--json", env=env).stdout)
    assert rotated["secret"].startswith("whsec_")
    assert rotated["secret"] != endpoint["secret"]

    deleted = run("endpoint", "delete", endpoint_id, env=env)
    assert deleted.returncode == 0
    assert json.loads(run("endpoint", "list", "--json", env=env).stdout) == []
    gone = run("endpoint", "show", endpoint_id, env=env)
    assert gone.returncode == 1
    assert f"endpoint {endpoint_id!r}: no such endpoint" in gone.stderr


def test_endpoint_errors_are_messages_not_tracebacks(env: dict[str, str]) -> None:
    for args, code, needle in (
        (("endpoint", "add", "ftp://example.com"), 1, "url:"),
        (("endpoint", "add", "https://example.com", "-e", "nope"), 1, "'nope' matches no event"),
        (("endpoint", "add", "https://example.com", "-H", "broken"), 2, "NAME:VALUE"),
        (("endpoint", "update", "ep_x"), 2, "nothing to change"),
        (("endpoint", "frobnicate"), 2, "No such command"),
        (("deliveries", "--status", "lost"), 2, "not a delivery status"),
        (("replay", "ep_x", "--since", "yesterday"), 2, "neither a duration"),
    ):
        result = run(*args, env=env)
        assert result.returncode == code, (args, result.stdout, result.stderr)
        assert needle in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr


def test_bad_configuration_is_one_clear_error(tmp_path: Path) -> None:
    env = clean_env(
        SCANHOOK_DATABASE_URL="mysql://nope", SCANHOOK_RETRY_SCHEDULE="soon", SCANHOOK_COLOUR="x"
    )
    result = run("endpoint", "list", env=env)
    assert result.returncode == 2
    assert "SCANHOOK_DATABASE_URL" in result.stderr
    assert "SCANHOOK_RETRY_SCHEDULE" in result.stderr
    assert "Traceback" not in result.stderr


def test_config_show_masks_secrets_and_names_sources(tmp_path: Path) -> None:
    config = tmp_path / "scanhook.toml"
    config.write_text('request_timeout = 7\ndisplay_timezone = "Europe/Stockholm"\n')
    env = clean_env(
        SCANHOOK_CONFIG=str(config),
        SCANHOOK_API_TOKEN="super-secret-token",
        SCANHOOK_DATABASE_URL="postgresql://scanhook:hunter2@db.internal/scanhook",
    )
    result = run("config", "show", "--json", env=env)
    assert result.returncode == 0, result.stderr
    assert "super-secret-token" not in result.stdout
    assert "hunter2" not in result.stdout
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert rows["api_token"]["value"] == "********"
    assert rows["api_token"]["source"] == "environment"
    assert rows["database_url"]["value"] == "postgresql://scanhook:********@db.internal/scanhook"
    assert rows["request_timeout"] == {**rows["request_timeout"], "value": 7.0, "source": "file"}
    assert rows["display_timezone"]["value"] == "Europe/Stockholm"
    assert rows["retry_schedule"]["source"] == "default"
    table = run("config", "show", env=env)
    assert "super-secret-token" not in table.stdout
    assert "hunter2" not in table.stdout
    assert "SCANHOOK_REQUEST_TIMEOUT" in table.stdout


def test_tokens_create_list_revoke(env: dict[str, str]) -> None:
    created = json.loads(run("token", "create", "ci", "--json", env=env).stdout)
    assert created["token"].startswith("shk_")
    listed = json.loads(run("token", "list", "--json", env=env).stdout)
    assert [(t["id"], t["name"], t["active"]) for t in listed] == [(created["id"], "ci", True)]
    assert created["token"] not in run("token", "list", env=env).stdout
    revoked = run("token", "revoke", created["id"], env=env)
    assert revoked.returncode == 0
    listed = json.loads(run("token", "list", "--json", env=env).stdout)
    assert listed[0]["active"] is False
