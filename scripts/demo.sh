#!/usr/bin/env bash
# The main job. Sets up, then serves the built-in simulated fleet (scenario "demo") on
# https://127.0.0.1:${PULLFIX_SIM_PORT:-8443} and shows how to point az and kubectl at it.
#   bash scripts/demo.sh          start (or show) the simulated fleet
#   bash scripts/demo.sh stop     stop it
set -euo pipefail
cd "$(dirname "$0")/.."
RUN=.pullfix/sim
PIDFILE=$RUN/simulator.pid
CONN=$RUN/connection.json

if [ "${1:-}" = "stop" ]; then
  if [ -f "$PIDFILE" ] && kill "$(cat "$PIDFILE")" 2>/dev/null; then echo "simulator stopped"; fi
  rm -f "$PIDFILE" "$CONN"
  exit 0
fi

bash scripts/setup.sh
mkdir -p "$RUN"
if [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
  echo "simulator already running (pid $(cat "$PIDFILE"))"
else
  rm -f "$CONN"
  nohup .venv/bin/python -m simulator serve --scenario "${PULLFIX_SCENARIO:-demo}" \
    --port "${PULLFIX_SIM_PORT:-8443}" --connection-file "$CONN" --state-dir "$RUN/state" \
    >"$RUN/simulator.log" 2>&1 &
  echo $! >"$PIDFILE"
  for _ in $(seq 1 300); do
    [ -f "$CONN" ] && break
    if ! kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
      echo "the simulator did not start:" >&2; cat "$RUN/simulator.log" >&2; exit 1
    fi
    sleep 0.1
  done
fi

.venv/bin/python - "$CONN" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
print(f"""
pullfix simulator: scenario '{c['scenario']}' at {c['arm_endpoint']} (tenant {c['tenant_id']})
subscriptions: {', '.join(c['subscriptions'])}
connection file: {sys.argv[1]}

Point a shell at it:
  eval "$(.venv/bin/python -m simulator env --connection-file {sys.argv[1]})"

The real az CLI (pinned, in .azcli/):
  export AZURE_CONFIG_DIR=$PWD/.pullfix/az
  .azcli/bin/az cloud register -n PullfixSimulator --endpoint-resource-manager "$PULLFIX_ARM_ENDPOINT"
  .azcli/bin/az cloud set -n PullfixSimulator
  .azcli/bin/az config set core.instance_discovery=false
  .azcli/bin/az login --service-principal -u "$AZURE_CLIENT_ID" -p "$AZURE_CLIENT_SECRET" --tenant "$AZURE_TENANT_ID"
  .azcli/bin/az aks list -o table
  .azcli/bin/az aks get-credentials -g rg-aks-prod -n aks-web-prod --file .pullfix/kubeconfig

pullfix itself:
  .venv/bin/pullfix cloud

Stop it with: bash scripts/demo.sh stop
""")
PY
echo "The fleet, as pullfix sees it (pullfix clusters):"
env $(.venv/bin/python -m simulator env --connection-file "$CONN" | sed 's/^export //; s/'"'"'//g') \
  .venv/bin/pullfix clusters
