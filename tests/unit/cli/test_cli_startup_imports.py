"""The ``scanhook`` command starts light: its help loads none of the service's heavy libraries,
and a management command on SQLite loads no web framework, HTTP client or template engine.

Structural checks (which modules a fresh interpreter has loaded), not timings: the timings are
``bench/startup.py``'s.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

HEAVY = ("fastapi", "starlette", "uvicorn", "aiohttp", "sqlalchemy", "alembic", "jinja2")


def _loaded_after(code: str, env: dict[str, str] | None = None) -> set[str]:
    probe = code + "\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))\n"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, env=env
    )
    assert done.returncode == 0, done.stderr
    names = set(json.loads(done.stdout.splitlines()[-1]))
    return names | {name.split(".")[0] for name in names}


def test_importing_the_cli_loads_no_heavy_library() -> None:
    loaded = _loaded_after("import scanhook.cli")
    assert not loaded & {*HEAVY, "pydantic", "structlog"}


def test_a_management_command_on_sqlite_loads_no_web_http_or_template_library(
    tmp_path: Path,
) -> None:
    # endpoint list on a current SQLite file goes through the Hub and the store: SQLAlchemy yes;
    # the API (FastAPI), the HTTP client (aiohttp), the templates (Jinja) and Alembic (the
    # schema is current) no.
    env = {**os.environ, "SCANHOOK_DATABASE_URL": f"sqlite:///{tmp_path}/scanhook.db"}
    upgrade = "from scanhook.cli import app\napp(['db', 'upgrade'])"
    subprocess.run([sys.executable, "-c", upgrade], env=env, capture_output=True, timeout=60)
    code = (
        "from scanhook.cli import app\n"
        "try:\n"
        "    app(['endpoint', 'list'])\n"
        "except SystemExit as exc:\n"
        "    assert exc.code == 0, exc.code\n"
    )
    loaded = _loaded_after(code, env)
    assert "sqlalchemy" in loaded
    assert not loaded & {"fastapi", "starlette", "uvicorn", "aiohttp", "alembic", "jinja2"}
    # Nor what only PostgreSQL, e-mail fields or cron schedules need.
    assert not loaded & {"sqlalchemy.dialects.postgresql", "email_validator", "croniter"}


def test_the_collector_pauses_at_start_and_comes_back() -> None:
    code = (
        "import gc, time\n"
        "from scanhook.cli import pause_collector\n"
        "pause_collector(0.2)\n"
        "off = not gc.isenabled()\n"
        "time.sleep(0.6)\n"
        "print(off, gc.isenabled())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.split() == ["True", "True"]
