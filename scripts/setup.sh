#!/usr/bin/env bash
# Create .venv with Python >= 3.12 and install qunsim into it (with EXTRAS, e.g. "test").
# Finds python3.12 / python3.13 / python3 on PATH, then pyenv's versions; QUNSIM_PYTHON overrides.
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-}"

ok() { "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null; }
find_python() {
  if [ -n "${QUNSIM_PYTHON:-}" ]; then echo "$QUNSIM_PYTHON"; return; fi
  for c in python3.12 python3.13 python3.14 python3 python; do
    if command -v "$c" >/dev/null 2>&1 && ok "$c"; then command -v "$c"; return; fi
  done
  for c in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.1[2-9]*/bin/python3; do
    if [ -x "$c" ] && ok "$c"; then echo "$c"; return; fi
  done
  echo "qunsim needs Python >= 3.12 (Mesa 3.5 requires it); none found. Set QUNSIM_PYTHON=/path/to/python3.12" >&2
  exit 2
}

if [ ! -x .venv/bin/python ] || ! ok .venv/bin/python; then
  py=$(find_python)
  echo "setup: creating .venv with $py ($("$py" --version))" >&2
  rm -rf .venv
  "$py" -m venv .venv
fi
spec="."
[ -n "$extras" ] && spec=".[$extras]"
echo "setup: installing qunsim$([ -n "$extras" ] && echo "[$extras]") into .venv" >&2
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip >/dev/null
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e "$spec"
