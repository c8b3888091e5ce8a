#!/usr/bin/env bash
# Sets everything up and runs lint, type checks and the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh dev
exec bash scripts/check.sh "$@"
