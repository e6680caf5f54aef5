"""A sweep survives its orchestrator: the real ``pullfix sweep --mode apply`` talks to a real
Prefect server through a proxy that answers 503 to some requests (as a load balancer does
while the server restarts) and to every attempt to store an artifact. The Prefect client
retries what it can; what Prefect cannot record is named in the report; the fix applied is
reported and audited — nothing is lost."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tasks.audit.db import store
from tests.conftest import SimPool
from tests.prefect_proxy import Proxy, Rule
from tests.simharness import ROOT, Sim, env_with

SCENARIO = "missing-pull-role"


@pytest.fixture
def proxy(prefect_harness: None) -> Iterator[Proxy]:
    from prefect.settings import PREFECT_API_URL

    p = Proxy(str(PREFECT_API_URL.value()), rules=[
        # the artifact store is down for the whole sweep: each attempt refused
        Rule(r"^POST /api/artifacts/$", every=1, retry_after=1),
        # and one request in five to anything else is refused once (the client retries)
        Rule(r".", every=5, retry_after=1),
    ])
    p.url = p.start()  # type: ignore[attr-defined]
    yield p
    p.stop()


def test_an_apply_sweep_through_prefect_503s_reports_and_audits_what_it_changed(
        sim_pool: SimPool, proxy: Proxy, tmp_path: Path) -> None:
    sim: Sim = sim_pool.get(SCENARIO)
    home = tmp_path / "pullfix"
    policy = tmp_path / "policy.yaml"
    policy.write_text((ROOT / "policies" / "default.yaml").read_text()
                      + "\nverification: {propagation: 10s}\n")
    env = env_with(sim, PULLFIX_HOME=str(home), PREFECT_API_URL=proxy.url,  # type: ignore[attr-defined]
                   # give up on a refused request after a few attempts (the default is 5,
                   # with backoff): the artifact store stays down for the whole test
                   PREFECT_CLIENT_MAX_RETRIES="3",
                   # this sweep remediates in its own process (no deployment by this name)
                   PULLFIX_REMEDIATE_DEPLOYMENT="remediate-cluster/none-outage-test")
    # when the nightly apply sweep runs while Prefect answers 503 to some requests
    out = subprocess.run([sys.executable, "-m", "flows.cli", "sweep", "--mode", "apply",
                          "--policy", str(policy), "-o", "json"], env=env, cwd=ROOT,
                         capture_output=True, text=True, timeout=600)

    # then the sweep finishes and reports, without a traceback
    assert out.returncode == 0, out.stderr[-3000:]
    assert "Traceback" not in out.stderr
    summary = json.loads(out.stdout)
    # the Prefect client retried the refused requests that were not artifacts...
    retried = [r for r in proxy.served_503 if "/artifacts/" not in r]
    assert retried, proxy.served_503
    # ...and what Prefect could not record is named in the report, not lost
    assert any(n.startswith("the fleet-sweep artifact: ") and "503" in n
               for n in summary["not_recorded"]), summary["not_recorded"]
    # the fix it applied is reported...
    [rem] = summary["remediations"]
    assert summary["engine"]["kind"] == "in-process"
    [grant] = [r for r in rem["records"] if r["fix"] == "grant-pull-role"]
    assert grant["outcome"] in ("applied", "propagating"), grant["reason"]
    assert summary["changes"] >= 1
    assert any(j["method"] == "PUT" and "roleAssignments" in j["path"] for j in sim.journal())
    # ...and audited: its change record, and the sweep's end
    records = store(f"sqlite:///{home / 'audit.db'}").records()
    changes = [r for r in records if r.kind == "change" and r.payload.get("fix") ==
               "grant-pull-role"]
    assert changes and changes[0].payload["applied"] is True
    assert [r.kind for r in records if r.run_id == records[0].run_id][-1] == "run-ended"
