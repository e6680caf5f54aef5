#!/usr/bin/env bash
# Set up and run every check and test. This is the README's test command; .ci/run calls it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

echo "== ruff"
.venv/bin/ruff check .
echo "== mypy (tasks/, policies/)"
.venv/bin/mypy
echo "== import-linter (layers)"
.venv/bin/lint-imports
echo "== pytest"
.venv/bin/python -m pytest -q -p no:cacheprovider --durations=15 "$@"
