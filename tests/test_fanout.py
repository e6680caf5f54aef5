"""An apply sweep on a real Prefect engine: the shipped ``remediate-cluster`` deployment,
registered with the real ``prefect deploy``, and a real process worker started in another
folder. The sweep starts one run per failing cluster; a sign-off is a paused run that
``pullfix pending`` lists and ``pullfix approve`` answers; the same plan pending twice is one
request."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from prefect import tags

from flows.runs import REPORT_KEY, read_report
from flows.sweep import fleet_sweep
from simulator.scenario import stable_uuid
from tests.conftest import SimPool
from tests.fanoutlib import (
    SUFFIX,
    Worker,
    cleanup,
    deployment_names,
    deployment_runs,
    prefect_env,
    register,
    reject_own_paused,
    wait_final,
    wait_pool_ready,
)
from tests.scenariolib import WORKER_TAG, own_paused_runs
from tests.simharness import ROOT, Sim

WORLD = str(ROOT / "tests" / "worlds" / "fanout-fleet.yaml")
DEFAULT = "policies/default.yaml"


@pytest.fixture
def fleet(sim_pool: SimPool, sim_env: Callable[[Sim], None], prefect_harness: None,
          tmp_path: Path, pullfix_home: str) -> Iterator[tuple[Sim, str, Worker]]:
    """The fleet served, the deployment registered, a worker online in a folder of its own
    (it runs each flow in a temporary folder; the deployment's pull step finds the code)."""
    sim = sim_pool.get(WORLD)
    sim_env(sim)
    pool, names = register(tmp_path, names=("remediate-cluster", "diagnose-cluster",
                                             "fleet-sweep-plan"))
    worker = Worker(pool, prefect_env(sim, PULLFIX_HOME=pullfix_home), tmp_path / "elsewhere",
                    name=f"w-{WORKER_TAG}")
    try:
        wait_pool_ready(pool, worker)
        yield sim, names["remediate-cluster"], worker
    finally:
        reject_own_paused()
        worker.stop()
        cleanup(pool, names)


def _sweep(deployment: str) -> dict[str, Any]:
    with tags(WORKER_TAG):
        return fleet_sweep(mode="apply", policy=DEFAULT, verify_seconds=20,
                           remediate_deployment=deployment, concurrency=2, watch_seconds=600)


def _by_cluster(summary: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["cluster"]: r for r in summary["remediations"]}


def _record(report: dict[str, Any], fix: str) -> dict[str, Any]:
    return next(r for r in report["records"] if r["fix"] == fix)


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "flows.cli", *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


@pytest.mark.timeout(900)  # two sweeps and a resumed run, real workers, on a shared machine
def test_an_apply_sweep_fans_out_to_workers_and_its_sign_off_waits_as_a_paused_run(
        fleet: tuple[Sim, str, Worker]) -> None:
    sim, deployment, worker = fleet
    # given a fleet where aks-fan-web needs an automatic fix, aks-fan-app an automatic fix and a
    # sign-off, and aks-fan-ok nothing; when the nightly apply sweep runs
    summary = _sweep(deployment)

    # then each failing cluster got its own remediate-cluster run from the deployment, run by
    # the worker, and the healthy one none
    assert summary["engine"]["kind"] == "deployment", summary["engine"]
    runs = deployment_runs(deployment)
    assert sorted(r.parameters["cluster"].rsplit("/", 1)[1] for r in runs) == ["aks-fan-app",
                                                                               "aks-fan-web"]
    by = _by_cluster(summary)
    assert set(by) == {"aks-fan-app", "aks-fan-web"}
    assert {by[c]["flow_run_id"] for c in by} == {str(r.id) for r in runs}
    assert "submitting flow run" in worker.text()
    # aks-fan-web is healed by its own run
    assert by["aks-fan-web"]["outcome"] == "healed", by["aks-fan-web"]
    assert _record(by["aks-fan-web"], "grant-pull-role")["outcome"] == "applied"
    # aks-fan-app: the automatic fix is applied first, then its run waits for sign-off, paused
    app = by["aks-fan-app"]
    assert app["run_state"] == "paused"
    # (kept: the pods still fail until the sign-off, so it reads as propagating)
    assert _record(app, "grant-pull-role")["outcome"] in ("applied", "propagating")
    waiting = _record(app, "reconcile-cluster")
    assert waiting["outcome"] == "awaiting_sign_off"
    assert f"pullfix approve {app['flow_run_id']}" in waiting["reason"]
    assert summary["awaiting_sign_off"] == [{
        "flow_run_id": app["flow_run_id"], "cluster": "aks-fan-app", "fix": "reconcile-cluster",
        "plan_hash": waiting["decision"]["plan_hash"]}]
    assert not any(w.startswith("PUT") and "managedClusters/aks-fan-app" in w
                   for w in (f"{j['method']} {j['path']}" for j in sim.journal()))

    # and `pullfix pending` lists that paused run
    env = prefect_env(sim)
    listed = _cli(env, "pending", "-o", "json")
    assert listed.returncode == 0, listed.stderr[-2000:]
    rows = [r for r in json.loads(listed.stdout) if r["id"] == app["flow_run_id"]]
    assert len(rows) == 1 and "reconcile-cluster on aks-fan-app" in rows[0]["waiting"], listed.stdout

    # when a second sweep runs while that sign-off waits
    again = _by_cluster(_sweep(deployment))
    # then it is still one request: the second run does not ask again, it names the first
    second = _record(again["aks-fan-app"], "reconcile-cluster")
    assert second["outcome"] == "awaiting_sign_off"
    assert f"already waiting for sign-off in flow run {app['flow_run_id']}" in second["reason"]
    assert [str(r.id) for r in own_paused_runs()] == [app["flow_run_id"]]

    # when an approver approves it from the command line, as themselves
    approver = dict(env, AZURE_CLIENT_ID=stable_uuid("app", "alice-approver"),
                    AZURE_CLIENT_SECRET="alice-approver-secret-0001")
    done = _cli(approver, "approve", app["flow_run_id"], "--comment", "nightly")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    # then the worker resumes the run, which applies the approved plan and reports it
    run = wait_final(app["flow_run_id"], seconds=600)
    assert run.state.type.value == "COMPLETED", run.state
    report = read_report(run.id, key=REPORT_KEY)
    assert report is not None
    rec = _record(report, "reconcile-cluster")
    assert rec["outcome"] == "applied", rec["reason"]
    assert rec["approval"]["comment"] == "nightly"
    assert any(f"{j['method']} {j['path']}".startswith("PUT") and "managedClusters/aks-fan-app"
               in j["path"] for j in sim.journal())


def test_without_a_deployment_the_sweep_says_it_runs_in_process(
        sim_pool: SimPool, sim_env: Callable[[Sim], None], prefect_harness: None,
        tmp_path: Path) -> None:
    # given no deployment of that name on the Prefect server (and a policy that waits 10 s,
    # not 20 minutes, for Azure to honour a role assignment)
    sim = sim_pool.get(WORLD)
    sim_env(sim)
    policy = tmp_path / "policy.yaml"
    policy.write_text((ROOT / DEFAULT).read_text() + "\nverification: {propagation: 10s}\n")
    with tags(WORKER_TAG):
        summary = fleet_sweep(mode="apply", policy=str(policy), verify_seconds=20,
                              remediate_deployment=f"remediate-cluster/none-{WORKER_TAG}")
    # then the remediations ran in the sweep's process, and the report says why
    assert summary["engine"]["kind"] == "in-process"
    assert summary["engine"]["why"].startswith(
        f"no deployment 'remediate-cluster/none-{WORKER_TAG}' on this Prefect server")
    assert "remediations ran in the sweep's process" in summary["engine"]["note"]
    by = _by_cluster(summary)
    assert _record(by["aks-fan-app"], "reconcile-cluster")["outcome"] == "awaiting_sign_off"
    assert all("flow_run_id" not in r for r in by.values())


def test_a_worker_in_another_folder_runs_every_kind_of_deployment(
        fleet: tuple[Sim, str, Worker], tmp_path: Path) -> None:
    # given the worker started in a folder of its own; when a diagnosis and a plan sweep are
    # started through their deployments (remediate-cluster: the test above)
    from prefect.deployments import run_deployment

    deployments = {"diagnose-cluster": {"cluster": "aks-fan-web"}, "fleet-sweep-plan": {}}
    started = {}
    for shipped, params in deployments.items():
        name = next(n for n in deployment_names() if n.endswith(f"/{shipped}-{SUFFIX}"))
        with tags(WORKER_TAG):
            started[shipped] = run_deployment(name, parameters=params, timeout=0,
                                              as_subflow=False)
    # then the worker runs each of them to completion
    for shipped, run in started.items():
        done = wait_final(run.id, seconds=600)
        assert done.state.type.value == "COMPLETED", (shipped, done.state,
                                                      fleet[2].text()[-3000:])
