"""A database password never shows: not in the log lines of real ``scanhook`` processes, not in
what their commands print, not in the errors about a malformed or unreachable database URL."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from acceptance.cli_support import Proc, clean_env, run

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration" / "store"))

from pgkit import create_database, drop_database

#: A test password (the loopback test server trusts any).
PASSWORD = "Pw-9f3Kq7-zz"
KEY = "h6qKqJ8b2y0G1hQ2s0kz3oZ4cVb1mJq8yQf3u2Zr9Xw"


@pytest.fixture
def pg_with_password() -> Iterator[str]:
    """A PostgreSQL database URL that carries a password (the loopback test server trusts any)."""
    url = create_database("scanhook_pw")
    try:
        yield make_url(url).set(password=PASSWORD).render_as_string(hide_password=False)
    finally:
        drop_database(url)


@pytest.mark.postgres
def test_running_processes_never_log_the_database_password(pg_with_password: str) -> None:
    env = clean_env(
        SCANHOOK_DATABASE_URL=pg_with_password,
        SCANHOOK_SECRET_KEY=KEY,
        SCANHOOK_LOG_FORMAT="json",
        SCANHOOK_LOG_LEVEL="debug",
    )
    upgraded = run("db", "upgrade", env=env)
    assert upgraded.returncode == 0, upgraded.stderr
    assert "database is at the current schema: postgresql://" in upgraded.stdout
    assert "********" in upgraded.stdout
    with Proc("worker", env=env) as worker:
        worker.expect(r"worker started")
        assert worker.terminate() == 0
    with Proc("serve", "--port", "0", env=env) as service:
        service.expect(r"scanhook is serving")
        service.expect(r'"event": "serving"')
        assert service.terminate() == 0
    shown = run("config", "show", env=env)
    for output in (
        upgraded.stdout + upgraded.stderr,
        worker.output(),
        service.output(),
        shown.stdout + shown.stderr,
    ):
        assert PASSWORD not in output
    assert '"database": "postgresql://postgres:********@127.0.0.1' in worker.output()


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql://scanhook:{PASSWORD}@127.0.0.1:notaport/db",  # a malformed port
        f"postgresql://scanhook:{PASSWORD}@127.0.0.1:5432",  # no database
        f"mysql://scanhook:{PASSWORD}@127.0.0.1/db",  # not a database scanhook supports
        f"postgresql://scanhook:{PASSWORD}@127.0.0.1:9/db",  # nobody listens there
        f"postgresql://scanhook:{PASSWORD}@/db?host=/nowhere&password={PASSWORD}",
    ],
)
def test_database_url_errors_never_echo_the_password(url: str) -> None:
    env = clean_env(SCANHOOK_SECRET_KEY=KEY)
    result = run("db", "upgrade", "--database-url", url, env=env)
    assert result.returncode in (1, 2)  # 2: a configuration error
    assert "error:" in result.stderr
    assert "Traceback" not in result.stderr
    assert PASSWORD not in result.stdout + result.stderr
