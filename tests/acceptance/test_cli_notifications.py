"""The installed ``scanhook`` command: sample, validate, schema and --version, as users run it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from scanhook import __version__
from scanhook.notifications import encode, parse

ROOT = Path(__file__).resolve().parents[2]


def _scanhook_path() -> str:
    beside_python = Path(sys.executable).parent / "scanhook"
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which("scanhook")
    if found is None:
        pytest.fail("the scanhook command is not installed (run: bash scripts/bootstrap.sh)")
    return found


SCANHOOK = _scanhook_path()


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCANHOOK_")}
    env.update({"NO_COLOR": "1", "TERM": "dumb", "COLUMNS": "200"}, **extra)
    return env


def run(
    *args: str, stdin: bytes | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [SCANHOOK, *args],
        input=stdin,
        capture_output=True,
        env=env or _env(),
        timeout=60,
        check=False,
    )


def test_version() -> None:
    result = run("--version")
    assert result.returncode == 0
    assert result.stdout.decode().strip() == f"scanhook {__version__}"


def test_help_names_the_commands() -> None:
    result = run("--help")
    assert result.returncode == 0
    for command in ("schema", "validate", "sample"):
        assert command in result.stdout.decode()


def test_sample_piped_into_validate_in_a_shell() -> None:
    result = subprocess.run(
        [
            "bash",
            "-o",
            "pipefail",
            "-c",
            f"'{SCANHOOK}' sample finished_scan | '{SCANHOOK}' validate -",
        ],
        capture_output=True,
        env=_env(),
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout.decode() == "ok  finished_scan\n"


def test_many_samples_of_every_type_validate() -> None:
    produced = run("sample", "mixed", "--count", "200", "--seed", "1")
    assert produced.returncode == 0, produced.stderr.decode()
    checked = run("validate", "-", stdin=produced.stdout)
    assert checked.returncode == 0, checked.stdout.decode()
    lines = checked.stdout.decode().splitlines()
    assert len(lines) == 201
    assert lines[-1] == "200 valid, 0 invalid"
    assert {line.split()[1] for line in lines[:-1]} == {
        "scheduled_scan",
        "finished_scan",
        "ticket.opened",
        "ticket.closed",
    }


def test_sample_prints_exactly_the_wire_encoding() -> None:
    result = run("sample", "all", "-n", "8", "--seed", "3")
    assert result.returncode == 0
    lines = result.stdout.split(b"\n")
    assert lines[-1] == b""
    assert len(lines) == 9
    for line in lines[:-1]:
        assert encode(parse(line)) == line
        assert line == json.dumps(json.loads(line)).encode()


def test_sample_is_deterministic_for_a_seed() -> None:
    first = run("sample", "ticket", "-n", "20", "--seed", "99").stdout
    again = run("sample", "ticket", "-n", "20", "--seed", "99").stdout
    other = run("sample", "ticket", "-n", "20", "--seed", "100").stdout
    assert first == again
    assert first != other


def test_sample_writes_timestamps_in_the_display_zone() -> None:
    utc = run("sample", "scheduled_scan", "--seed", "5").stdout
    stockholm = run("sample", "scheduled_scan", "--seed", "5", "--tz", "Europe/Stockholm").stdout
    from_env = run(
        "sample", "scheduled_scan", "--seed", "5", env=_env(SCANHOOK_DISPLAY_TIMEZONE="Asia/Tokyo")
    ).stdout
    starts = [json.loads(x)["scheduled_scan"]["starts_at"] for x in (utc, stockholm, from_env)]
    # The seeded samples are in January: Stockholm is UTC+01:00, Tokyo UTC+09:00.
    hours = [int(s[11:13]) for s in starts]
    assert (hours[1] - hours[0]) % 24 == 1
    assert (hours[2] - hours[0]) % 24 == 9


def test_sample_refuses_an_unknown_type_and_zone() -> None:
    result = run("sample", "tickets")
    assert result.returncode == 2
    assert "tickets" in result.stderr.decode()
    result = run("sample", "ticket", "--tz", "Mars/Olympus_Mons")
    assert result.returncode == 2
    assert "Mars/Olympus_Mons" in result.stderr.decode()


def test_validate_prints_each_bad_field_and_exits_1(tmp_path: Path) -> None:
    bad = {
        "ticket": {
            "number": -1,
            "status": "Pending",
            "severity": "high",
            "vulnerability_name": "TLS Version 1.0 Protocol Detection [CVE]",
            "asset_name": "db-02.corp.example",
            "asset_link": "sc.example.com/assets/view/1",
            "due_date": "2026-01-19",
            "owner": "bob",
            "assignee": "x",
        }
    }
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad, indent=2))
    result = run("validate", str(path))
    assert result.returncode == 1
    out = result.stdout.decode()
    assert out.startswith("invalid\n")
    for field in ("number", "status", "severity", "asset_link", "owner", "assignee"):
        assert f"  ticket.{field}: " in out
    assert "'bob' is not an e-mail address" in out
    assert "ticket.due_date" not in out


def test_validate_json_lines_marks_the_bad_line(seed_finished_scan: bytes) -> None:
    broken = seed_finished_scan.replace(b'"low_cnt": 0', b'"low_cnt": -4')
    stdin = seed_finished_scan + b"\n\n" + broken + b"\n{not json\n"
    result = run("validate", "-", stdin=stdin)
    assert result.returncode == 1
    assert result.stdout.decode().splitlines() == [
        "ok  finished_scan  (line 1)",
        "invalid  line 3",
        "  finished_scan.low_cnt: Input should be greater than or equal to 0 (got -4)",
        "invalid  line 4",
        "  (body): not valid JSON: Expecting property name enclosed in double quotes: "
        "line 1 column 2 (char 1)",
        "1 valid, 2 invalid",
    ]


def test_validate_accepts_a_pretty_printed_document_and_an_array(
    tmp_path: Path, seed_finished_scan: bytes
) -> None:
    document = json.loads(seed_finished_scan)
    pretty = tmp_path / "one.json"
    pretty.write_text(json.dumps(document, indent=4))
    result = run("validate", str(pretty))
    assert (result.returncode, result.stdout) == (0, b"ok  finished_scan\n")
    array = tmp_path / "many.json"
    array.write_text(json.dumps([document, {"ticket": {}}]))
    result = run("validate", str(array))
    assert result.returncode == 1
    lines = result.stdout.decode().splitlines()
    assert lines[0] == "ok  finished_scan  (item 1)"
    assert lines[1] == "invalid  item 2"
    assert "  ticket.number: field required" in lines


def test_validate_reads_naive_timestamps_in_the_display_zone(tmp_path: Path) -> None:
    document = {
        "finished_scan": {
            "name": "Daily scan",
            "type": "network",
            "started": "2026-03-29T01:30",  # naive: read in the display zone
            "finished": "2026-03-29T02:30+00:00",
            "status": "Completed",
            "errors": [],
            "critical_cnt": 0,
            "high_cnt": 0,
            "medium_cnt": 0,
            "low_cnt": 0,
            "link": "https://sc.example.com/scans/scans/view/1",
        }
    }
    path = tmp_path / "producer.json"
    path.write_text(json.dumps(document))
    # In Stockholm 01:30 (CET) is 00:30 UTC: before the finish, valid.
    assert run("validate", str(path), "--tz", "Europe/Stockholm").returncode == 0
    # In New York 01:30 (EDT) is 05:30 UTC: after the finish.
    result = run("validate", str(path), "--tz", "America/New_York")
    assert result.returncode == 1
    assert "finished_scan.finished: finished" in result.stdout.decode()


def test_validate_exits_2_when_the_file_cannot_be_read(tmp_path: Path) -> None:
    result = run("validate", str(tmp_path / "missing.json"))
    assert result.returncode == 2
    assert "cannot read" in result.stderr.decode()
    assert "missing.json" in result.stderr.decode()
    result = run("validate", str(tmp_path))
    assert result.returncode == 2


def test_validate_refuses_empty_input() -> None:
    result = run("validate", "-", stdin=b"\n  \n")
    assert result.returncode == 1
    assert "no notification" in result.stdout.decode()


@pytest.mark.parametrize(
    ("args", "committed"),
    [
        (["finished_scan"], "finished_scan"),
        (["scheduled_scan"], "scheduled_scan"),
        (["ticket"], "ticket"),
        (["ticket.closed"], "ticket"),
        ([], "notification"),
    ],
)
def test_schema_prints_the_committed_file(args: list[str], committed: str) -> None:
    result = run("schema", *args)
    assert result.returncode == 0
    assert result.stdout == (ROOT / "schemas" / f"{committed}.schema.json").read_bytes()


def test_schema_write_regenerates_the_committed_files(tmp_path: Path) -> None:
    target = tmp_path / "out"
    result = run("schema", "--write", str(target))
    assert result.returncode == 0, result.stderr.decode()
    written = sorted(p.name for p in target.iterdir())
    committed = sorted(p.name for p in (ROOT / "schemas").glob("*.json"))
    assert written == committed
    for name in written:
        assert (target / name).read_bytes() == (ROOT / "schemas" / name).read_bytes(), name
