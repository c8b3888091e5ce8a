#!/usr/bin/env bash
# Quick start: sets everything up and starts the whole system on its embedded
# defaults (SQLite, simulated hardware, no broker).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh demo
exec .venv/bin/prepaid demo "$@"
