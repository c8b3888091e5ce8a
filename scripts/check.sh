#!/usr/bin/env bash
# Lint, formatting, types and tests: the one command that CI runs too.
#   bash scripts/check.sh [pytest arguments]
set -euo pipefail
cd "$(dirname "$0")/.."
py=.venv/bin
echo "== ruff check"; $py/ruff check .
echo "== ruff format --check"; $py/ruff format --check .
echo "== mypy"; $py/mypy
echo "== pytest"; $py/pytest "$@"
