#!/usr/bin/env bash
# Set up and run every check and test. This is the README's test command; .ci/run calls it.
#   bash scripts/test.sh [pytest args]     (PULLFIX_TEST_WORKERS=N: parallel workers, default 3)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

echo "== ruff"
.venv/bin/ruff check .
echo "== mypy (tasks/, policies/, flows/)"
.venv/bin/mypy
echo "== import-linter (layers)"
.venv/bin/lint-imports

# one real local Prefect server for the whole run (the ephemeral one times out on a loaded
# machine); its database lives in a temporary PREFECT_HOME the tests also read
RUN_DIR=$(mktemp -d)
export PREFECT_HOME=$RUN_DIR/prefect
export PREFECT_SERVER_ANALYTICS_ENABLED=false
PORT=$(.venv/bin/python -c "import socket; s=socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
# the UI asks its API at PREFECT_UI_API_URL (default :4200): point it at this server
export PREFECT_UI_API_URL=http://127.0.0.1:$PORT/api
.venv/bin/prefect server start --host 127.0.0.1 --port "$PORT" >"$RUN_DIR/prefect-server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true; wait $SERVER 2>/dev/null || true; rm -rf "$RUN_DIR"' EXIT
export PREFECT_API_URL=http://127.0.0.1:$PORT/api
for _ in $(seq 1 1200); do
  .venv/bin/python -c "import urllib.request,sys; urllib.request.urlopen(sys.argv[1], timeout=1)" \
    "$PREFECT_API_URL/health" 2>/dev/null && break
  kill -0 "$SERVER" 2>/dev/null || { echo "the Prefect server did not start:" >&2; cat "$RUN_DIR/prefect-server.log" >&2; exit 1; }
  sleep 0.1
done

echo "== pytest"
.venv/bin/python -m pytest -q -p no:cacheprovider --durations=15 \
  -n "${PULLFIX_TEST_WORKERS:-3}" --dist loadfile "$@"
