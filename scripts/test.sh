#!/usr/bin/env bash
# Set up (first time) and run the whole test suite, slow Monte Carlo checks included.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test
# one test process per core (at most 4); a module's tests stay together (its fixtures run once)
exec .venv/bin/python -m pytest -n auto --maxprocesses 4 --dist loadscope "$@"
