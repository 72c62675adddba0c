#!/usr/bin/env bash
# Set up (first time) and run the whole test suite, slow Monte Carlo checks included.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test
# the browser tests' Debian chromium, installed with apt-get when missing (without it those tests
# fail with a message; the others run)
bash scripts/chromium.sh || echo "test: going on without chromium" >&2
# one test process per core (at most 4); a module's tests stay together (its fixtures run once)
exec .venv/bin/python -m pytest -n auto --maxprocesses 4 --dist loadscope "$@"
