"""scripts/bootstrap.sh says what it does while it installs (it used to be silent for over a
minute), and fails loudly with pip's output when pip fails. pip is a stand-in here (a real
install takes a minute and the package index): it prints pip's lines slowly, as pip does."""

from __future__ import annotations

import shutil
import stat
import subprocess
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

FAKE_PIP = """#!/usr/bin/env bash
# A stand-in for `.venv/bin/python -m pip install …`: pip's lines, slowly.
case "$*" in
  *"-r requirements.lock"*)
    [ -n "${FAIL_PIP:-}" ] && { echo "ERROR: No matching distribution found for beta==2"; exit 1; }
    for p in alpha==1 beta==2; do echo "Collecting $p (from -r requirements.lock)"; sleep 0.4; done
    echo "Processing /opt/wheels/gamma-3-py3-none-any.whl (from -r requirements.lock)"
    sleep 0.4
    echo "Installing collected packages: alpha, beta, gamma"; sleep 0.4
    echo "Successfully installed alpha-1 beta-2 gamma-3";;
  *) exit 0;;
esac
"""

FAKE_PYTHON = f"""#!/usr/bin/env bash
# `python -m venv .venv`: a .venv whose python is the pip stand-in.
mkdir -p .venv/bin
cat > .venv/bin/python <<'PIP'
{FAKE_PIP}PIP
chmod +x .venv/bin/python
"""


def _checkout(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "scripts").mkdir(parents=True)
    shutil.copy(REPO / "scripts" / "bootstrap.sh", root / "scripts" / "bootstrap.sh")
    (root / "requirements.lock").write_text(
        "# pinned\nalpha==1\n    # via scanhook\nbeta==2\ngamma==3\n", encoding="utf-8"
    )
    (root / "pyproject.toml").write_text("[project]\nname = 'x'\n", encoding="utf-8")
    python = tmp_path / "python"
    python.write_text(FAKE_PYTHON, encoding="utf-8")
    python.chmod(python.stat().st_mode | stat.S_IXUSR)
    return root


def _run(root: Path, python: Path, **env: str) -> tuple[list[tuple[float, str]], int]:
    start = time.monotonic()
    process = subprocess.Popen(
        ["bash", str(root / "scripts" / "bootstrap.sh")],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        env={"PATH": "/usr/bin:/bin", "PYTHON": str(python), **env},
    )
    assert process.stderr is not None
    with process.stderr:
        lines = [(time.monotonic() - start, raw.decode().rstrip("\n")) for raw in process.stderr]
    return lines, process.wait(30)


def test_bootstrap_shows_its_progress_as_it_installs(tmp_path: Path) -> None:
    root = _checkout(tmp_path)
    lines, code = _run(root, tmp_path / "python")
    assert code == 0, lines
    text = [line for _, line in lines]
    assert text[0].startswith("scanhook: setting up .venv")
    assert "scanhook: [2/3] installing 3 pinned packages" in text
    assert [line.strip() for line in text if line.startswith("  (")] == [
        "(1/3) alpha==1",
        "(2/3) beta==2",
        "(3/3) gamma==3",
    ]
    assert "  installing them (the longest step)…" in text
    assert text[-1].startswith("scanhook: ready in ")
    # Streamed, not printed at the end: the first package shows well before the script ends.
    first = next(t for t, line in lines if "(1/3)" in line)
    assert lines[-1][0] - first >= 1.0
    # A second run has nothing to do and says nothing.
    assert _run(root, tmp_path / "python") == ([], 0)


def test_bootstrap_shows_pips_output_when_pip_fails(tmp_path: Path) -> None:
    root = _checkout(tmp_path)
    lines, code = _run(root, tmp_path / "python", FAIL_PIP="1")
    assert code == 1
    text = "\n".join(line for _, line in lines)
    assert "pip failed" in text
    assert "No matching distribution found for beta==2" in text
    assert not (root / ".venv" / ".scanhook-lock-stamp").exists()
