#!/usr/bin/env bash
# Creates .venv with the exact versions of requirements.lock and scanhook installed in editable
# mode. Idempotent: it reinstalls only when requirements.lock or pyproject.toml changed.
# Says what it does as it goes (one line per package), on stderr.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
stamp=.venv/.scanhook-lock-stamp
want=$(cat requirements.lock pyproject.toml | sha256sum | cut -d' ' -f1)
if [ -x .venv/bin/python ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
say() { printf 'scanhook: %s\n' "$*" >&2; }
start=$SECONDS
total=$(grep -cE '^[A-Za-z0-9_.-]+==' requirements.lock || true)
say "setting up .venv from requirements.lock (first run only; about a minute)"
if [ ! -x .venv/bin/python ]; then
  say "[1/3] creating the virtual environment .venv with $PYTHON"
  "$PYTHON" -m venv .venv
else
  say "[1/3] reusing the virtual environment .venv"
fi
say "[2/3] installing $total pinned packages"
# pip's own lines, one per package as it is fetched, then one while it installs them all; its
# whole output goes to .venv/pip-install.log, and is shown if it fails.
progress() {
  local n=0 line name file
  while IFS= read -r line; do
    case "$line" in
      Collecting\ *|Requirement\ already\ satisfied:\ *)
        n=$((n + 1))
        name=${line#Collecting }
        name=${name#Requirement already satisfied: }
        printf '  (%d/%d) %s\n' "$n" "$total" "${name%% *}" >&2
        ;;
      Processing\ *)  # a local wheel: /…/name-version-….whl
        n=$((n + 1))
        file=${line#Processing }
        file=${file%% *}
        file=${file##*/}
        name=${file%%-*}
        file=${file#*-}
        printf '  (%d/%d) %s==%s\n' "$n" "$total" "$name" "${file%%-*}" >&2
        ;;
      Installing\ collected\ packages:*)
        printf '  installing them (the longest step)…\n' >&2
        ;;
    esac
  done
}
log=.venv/pip-install.log
if ! .venv/bin/python -m pip install --disable-pip-version-check --progress-bar off \
  -r requirements.lock 2>&1 | tee "$log" | progress; then
  say "pip failed; its output ($log):"
  cat "$log" >&2
  exit 1
fi
say "[3/3] installing scanhook itself (editable)"
.venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps \
  --no-build-isolation -e .
echo "$want" > "$stamp"
say "ready in $((SECONDS - start)) s: .venv/bin/scanhook --help"
