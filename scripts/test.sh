#!/usr/bin/env bash
# The whole test suite: the quality gates and every test. This is what .ci/run runs.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
export PATH="$PWD/.venv/bin:$PATH"
echo "== ruff check";       ruff check src tests bench
echo "== ruff format";      ruff format --check src tests bench
echo "== mypy --strict";    mypy
echo "== import-linter";    lint-imports --no-cache
echo "== pytest";           pytest -n "${SCANHOOK_TEST_PROCESSES:-2}" "$@"
