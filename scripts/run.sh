#!/usr/bin/env bash
# Set up (first time) and run the default scenario; extra arguments go to `qunsim run`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/qunsim run scenarios/guangdong_study.toml "$@"
