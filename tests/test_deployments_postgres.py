"""The Prefect server on PostgreSQL, as a platform team runs it for a fleet: a real
PostgreSQL (Debian's ``postgresql`` package, started by ``tests/test_audit_postgres.py``'s
fixture), a real ``prefect server start`` on it (asyncpg over the Unix socket), and the real
``pullfix sweep --mode apply`` recording its runs there."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.conftest import SimPool
from tests.fanoutlib import PREFECT
from tests.simharness import ROOT, env_with
from tests.test_audit_postgres import _free_port, postgres  # noqa: F401 - the fixture

SCENARIO = "missing-pull-role"


@pytest.fixture
def prefect_on_postgres(postgres: str, tmp_path: Path) -> Iterator[tuple[str, str]]:  # noqa: F811
    """``prefect server start`` with its database on PostgreSQL; yields (API URL, psycopg URL)."""
    query = postgres.split("?", 1)[1]
    url = f"postgresql+asyncpg://pullfix@/postgres?{query}"
    port = _free_port()
    env = dict(os.environ, PREFECT_HOME=str(tmp_path / "prefect"),
               PREFECT_SERVER_DATABASE_CONNECTION_URL=url,
               PREFECT_SERVER_ANALYTICS_ENABLED="false")
    env.pop("PREFECT_API_URL", None)
    log = tmp_path / "server.log"
    proc = subprocess.Popen([PREFECT, "server", "start", "--host", "127.0.0.1", "--port",  # noqa: S603
                             str(port)], env=env, stdout=open(log, "wb"),  # noqa: SIM115
                            stderr=subprocess.STDOUT, start_new_session=True)
    api = f"http://127.0.0.1:{port}/api"
    try:
        deadline = time.monotonic() + 240
        while True:
            assert proc.poll() is None, log.read_text()[-3000:]
            try:
                urllib.request.urlopen(api + "/health", timeout=2)  # noqa: S310 - local http
                break
            except OSError:
                assert time.monotonic() < deadline, log.read_text()[-3000:]
                time.sleep(0.5)
        yield api, postgres.replace("postgresql+psycopg://", "postgresql://")
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_an_apply_sweep_records_its_runs_in_prefect_on_postgresql(
        sim_pool: SimPool, prefect_on_postgres: tuple[str, str], tmp_path: Path) -> None:
    api, pg = prefect_on_postgres
    sim = sim_pool.get(SCENARIO)
    policy = tmp_path / "policy.yaml"
    policy.write_text((ROOT / "policies" / "default.yaml").read_text()
                      + "\nverification: {propagation: 10s}\n")
    # when an apply sweep runs against the Prefect server on PostgreSQL
    out = subprocess.run([sys.executable, "-m", "flows.cli", "sweep", "--mode", "apply",
                          "--policy", str(policy), "-o", "json"],
                         env=env_with(sim, PREFECT_API_URL=api,
                                      PULLFIX_HOME=str(tmp_path / "pullfix")),
                         cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    summary = json.loads(out.stdout)
    assert summary["changes"] >= 1
    # then the sweep and its remediation are flow runs in PostgreSQL, completed
    with psycopg.connect(pg) as conn:
        rows = conn.execute("select f.name, r.state_type from flow_run r join flow f on "
                            "f.id = r.flow_id").fetchall()
    assert ("fleet-sweep", "COMPLETED") in rows, rows
    assert ("remediate-cluster", "COMPLETED") in rows, rows
