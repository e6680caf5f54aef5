#!/usr/bin/env bash
# Install everything pullfix and its tests need, from this repository's own files.
# Idempotent: re-running only installs what changed.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
if ! command -v uv >/dev/null 2>&1; then
  "$PY" -m pip install --quiet "uv==0.13.8"
fi
UV="$(command -v uv || echo "$PY -m uv")"

# the application (pinned by requirements.lock)
[ -x .venv/bin/python ] || $UV venv --quiet --python "$PY" .venv
# compiled bytecode at install: every process (CLI, workers, simulators) imports the SDKs warm
$UV pip install --quiet --compile-bytecode --python .venv/bin/python -r requirements.lock
$UV pip install --quiet --python .venv/bin/python --no-deps -e .

# the real az CLI, pinned, in its own environment (compatibility tests, operator rehearsal)
if [ "${PULLFIX_SKIP_AZCLI:-0}" != "1" ]; then
  [ -x .azcli/bin/python ] || $UV venv --quiet --python "$PY" .azcli
  $UV pip install --quiet --compile-bytecode --python .azcli/bin/python -r requirements-azcli.lock
fi

# Debian packages the tests use: PostgreSQL's server binaries (the audit store on a real
# PostgreSQL) and Chromium (the Prefect UI checked in a headless browser)
APT=()
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && [ "${PULLFIX_SKIP_POSTGRES:-0}" != "1" ]; then
  APT+=(postgresql)
fi
if [ ! -x /usr/bin/chromium ] && [ "${PULLFIX_SKIP_CHROMIUM:-0}" != "1" ]; then
  APT+=(chromium)
fi
if [ ${#APT[@]} -gt 0 ]; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${APT[@]}" >/dev/null
  else
    echo "setup: missing Debian packages: ${APT[*]} (install them with apt-get)" >&2
  fi
fi
