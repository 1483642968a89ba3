"""``scanhook demo``, the first thing a newcomer runs: it must finish with everything delivered."""

from __future__ import annotations

import re

from acceptance.cli_support import clean_env, run


def test_demo_delivers_and_verifies_every_notification() -> None:
    result = run("demo", "--seed", "7", env=clean_env(), timeout=90)
    assert result.returncode == 0, result.stdout + result.stderr
    summary = re.search(r"(\d+) published, (\d+) delivered, (\d+) verified", result.stdout)
    assert summary is not None, result.stdout
    published, delivered, verified = (int(n) for n in summary.groups())
    assert published == delivered == verified >= 5
    # The seed's example arrives first, signed, with its key fields readable.
    lines = [line for line in result.stdout.splitlines() if "✓ signed" in line]
    assert len(lines) == published
    assert "finished_scan" in lines[0]
    assert "Daily scan (network) Completed in 00:57" in lines[0]
    assert "critical 1 high 0 medium 3 low 0" in lines[0]
    for event_type in ("scheduled_scan", "ticket.opened", "ticket.closed"):
        assert any(event_type in line for line in lines), event_type
    assert "BAD SIGNATURE" not in result.stdout
    assert "What to try next" in result.stdout


def test_demo_refuses_a_timeout_out_of_range() -> None:
    result = run("demo", "--timeout", "0", env=clean_env())
    assert result.returncode == 2
    assert "--timeout" in result.stderr
    assert "Traceback" not in result.stderr
