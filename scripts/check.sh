#!/usr/bin/env bash
# Lint, formatting, types and tests: the one command that CI runs too.
#   bash scripts/check.sh [pytest arguments]
# Every stage runs even when an earlier one fails, so one run shows everything
# that needs fixing; the exit status is non-zero if any stage failed.
set -uo pipefail
cd "$(dirname "$0")/.."
py=.venv/bin
failed=()
stage() {
  local name="$1"; shift
  echo "== $name"
  "$@" || failed+=("$name")
}
stage "ruff check" "$py/ruff" check .
stage "ruff format --check" "$py/ruff" format --check .
stage "mypy" "$py/mypy"
stage "pytest" "$py/pytest" "$@"
if [ ${#failed[@]} -gt 0 ]; then
  echo "FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "all checks passed"
