#!/usr/bin/env bash
# The main job: set up, serve the built-in simulated fleet (scenario "demo"), start a
# persistent local Prefect server, register the deployments (deployments/prefect.yaml), start
# two process workers, and sweep the fleet: one remediate-cluster run per failing cluster on
# the workers, applying what policies/default.yaml allows (low-risk fixes) and verifying it;
# the risky fixes wait for sign-off as paused runs (`pullfix pending`, `pullfix approve`).
#   bash scripts/demo.sh          set up, start what is needed, sweep, print the report
#   bash scripts/demo.sh stop     stop the workers, the simulator and the Prefect server
set -euo pipefail
cd "$(dirname "$0")/.."
# absolute paths everywhere: the workers run each flow in another folder
ROOT=$PWD
RUN=$ROOT/.pullfix
SIM_PID=$RUN/sim/simulator.pid
PREFECT_PID=$RUN/prefect/server.pid
WORKERS=${PULLFIX_WORKERS:-2}
CONN=$RUN/sim/connection.json
SIM_PORT=${PULLFIX_SIM_PORT:-8443}
PREFECT_PORT=${PULLFIX_PREFECT_PORT:-4200}

stop() {
  for f in "$RUN"/workers/*.pid "$SIM_PID" "$PREFECT_PID"; do
    [ -f "$f" ] || continue
    if [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null; then echo "stopped $(basename "$(dirname "$f")")"; fi
    rm -f "$f"
  done
  rm -f "$CONN"
}
if [ "${1:-}" = "stop" ]; then stop; exit 0; fi

running() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

bash scripts/setup.sh
mkdir -p "$RUN/sim" "$RUN/prefect" "$RUN/workers"

# 1. the simulated Azure fleet (state kept in .pullfix/sim/state across restarts)
if ! running "$SIM_PID"; then
  rm -f "$CONN"
  # a fresh world each start (PULLFIX_KEEP_STATE=1 resumes the last one, changes included)
  [ "${PULLFIX_KEEP_STATE:-0}" = "1" ] || rm -rf "$RUN/sim/state"
  nohup .venv/bin/python -m simulator serve --scenario "${PULLFIX_SCENARIO:-demo}" \
    --port "$SIM_PORT" --connection-file "$CONN" --state-dir "$RUN/sim/state" \
    >"$RUN/sim/simulator.log" 2>&1 &
  echo $! >"$SIM_PID"
fi
# 2. a persistent Prefect server (SQLite in .pullfix/prefect) so runs keep their history
export PREFECT_HOME=$RUN/prefect
export PREFECT_API_URL=http://127.0.0.1:$PREFECT_PORT/api
# the UI finds its API here, not on the default :4200
export PREFECT_UI_API_URL=$PREFECT_API_URL
export PREFECT_SERVER_ANALYTICS_ENABLED=false
if ! running "$PREFECT_PID"; then
  nohup .venv/bin/prefect server start --host 127.0.0.1 --port "$PREFECT_PORT" \
    >"$RUN/prefect/server.log" 2>&1 &
  echo $! >"$PREFECT_PID"
fi
for _ in $(seq 1 600); do
  [ -f "$CONN" ] && break
  running "$SIM_PID" || { echo "the simulator did not start:" >&2; cat "$RUN/sim/simulator.log" >&2; exit 1; }
  sleep 0.1
done
for _ in $(seq 1 1200); do
  .venv/bin/python -c "import urllib.request,sys; urllib.request.urlopen(sys.argv[1], timeout=1)" \
    "$PREFECT_API_URL/health" 2>/dev/null && break
  running "$PREFECT_PID" || { echo "the Prefect server did not start:" >&2; cat "$RUN/prefect/server.log" >&2; exit 1; }
  sleep 0.1
done

# 3. the simulator's connection environment (absolute CA paths) and pullfix's own state (the
# audit log, fleet reports), shared by the sweep and the workers
set -a
eval "$(.venv/bin/python -m simulator env --connection-file "$CONN" | sed 's/^export //')"
set +a
export PULLFIX_HOME=$RUN

# 4. the deployments, registered from this checkout, and process workers that run them
echo "== prefect deploy --all --prefect-file deployments/prefect.yaml"
.venv/bin/prefect work-pool create pullfix-process --type process --overwrite >/dev/null
.venv/bin/prefect --no-prompt deploy --all --prefect-file deployments/prefect.yaml >"$RUN/prefect/deploy.log" 2>&1 \
  || { echo "prefect deploy failed:" >&2; cat "$RUN/prefect/deploy.log" >&2; exit 1; }
grep -o "Deployment '[^']*' successfully [a-z]*" "$RUN/prefect/deploy.log" || true
for i in $(seq 1 "$WORKERS"); do
  if ! running "$RUN/workers/worker-$i.pid"; then
    # in a folder of its own, as on another machine: nothing relies on the working directory
    mkdir -p "$RUN/workers/worker-$i"
    (cd "$RUN/workers/worker-$i" && exec nohup "$ROOT/.venv/bin/prefect" worker start \
      --pool pullfix-process --name "demo-worker-$i" --limit 4 >"$RUN/workers/worker-$i.log" 2>&1) &
    echo $! >"$RUN/workers/worker-$i.pid"
  fi
done
for _ in $(seq 1 600); do
  .venv/bin/python - <<'PY' && break
import sys
from prefect import get_client
from prefect.client.schemas.objects import WorkPoolStatus
with get_client(sync_client=True) as c:
    sys.exit(0 if c.read_work_pool("pullfix-process").status == WorkPoolStatus.READY else 1)
PY
  sleep 1
done
echo "$WORKERS process workers on pool pullfix-process (logs: $RUN/workers/)"

echo "== pullfix sweep --mode apply --policy ${PULLFIX_POLICY:-policies/default.yaml} (the demo fleet)"
# exit 1 = clusters left unhealed (the risky fixes wait for sign-off, as the demo intends);
# 2 (bad input) or 3 (could not run) stop the demo
.venv/bin/pullfix sweep --mode apply --policy "${PULLFIX_POLICY:-policies/default.yaml}" || [ $? -eq 1 ]
echo "== pullfix audit verify (the hash-chained audit log in $RUN/audit.db)"
.venv/bin/pullfix audit verify
.venv/bin/pullfix audit export --format html --out "$RUN/audit.html" >/dev/null
echo "audit log exported: $RUN/audit.html"

cat <<TXT

The simulator keeps running at $PULLFIX_ARM_ENDPOINT; Prefect's UI at http://127.0.0.1:$PREFECT_PORT
shows the run and its artifacts. Point a shell (or the real az CLI and kubectl) at it:
  eval "\$(.venv/bin/python -m simulator env --connection-file $CONN)"
  export AZURE_CONFIG_DIR=\$PWD/.pullfix/az
  .azcli/bin/az cloud register -n PullfixSimulator --endpoint-resource-manager "\$PULLFIX_ARM_ENDPOINT"
  .azcli/bin/az cloud set -n PullfixSimulator && .azcli/bin/az config set core.instance_discovery=false
  .azcli/bin/az login --service-principal -u "\$AZURE_CLIENT_ID" --password="\$AZURE_CLIENT_SECRET" --tenant "\$AZURE_TENANT_ID"
  .azcli/bin/az aks get-credentials -g rg-aks-prod -n aks-api-prod --file .pullfix/kubeconfig
  .venv/bin/kubectl --kubeconfig .pullfix/kubeconfig get pods -A
  .venv/bin/pullfix diagnose --cluster aks-api-prod
The sweep's sign-offs wait as paused remediate-cluster runs (also in the UI). Approve one as
an approver in group pullfix-approvers, signed in as themselves:
  export PREFECT_API_URL=$PREFECT_API_URL
  .venv/bin/pullfix pending
  AZURE_CLIENT_ID=\$(.venv/bin/python -c "from simulator.scenario import stable_uuid; print(stable_uuid('app','alice-approver'))") \
  AZURE_CLIENT_SECRET=alice-approver-secret-0001 .venv/bin/pullfix approve <id from pending>
Stop everything with: bash scripts/demo.sh stop
TXT
