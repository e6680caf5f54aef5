"""Helpers for tests that run pullfix the way a platform team does: deployments registered
with the real ``prefect deploy`` from ``deployments/prefect.yaml``, and real process workers
(``prefect worker start``) in other folders, against the shared test Prefect server.

Each test registers its own work pool and deployment names (suffixed with the xdist worker's
tag), so two test processes sharing one server never pick up each other's runs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from tests.scenariolib import WORKER_TAG
from tests.simharness import ROOT, Sim, env_with

SUFFIX = WORKER_TAG.removeprefix("pytest-worker-")
PREFECT = str(Path(sys.executable).with_name("prefect"))


def prefect_env(sim: Sim | None = None, **more: str) -> dict[str, str]:
    from prefect.settings import PREFECT_API_URL

    env = env_with(sim, **more) if sim is not None else dict(os.environ, **more)
    env["PREFECT_API_URL"] = str(PREFECT_API_URL.value())
    return env


def register(tmp_path: Path, *, names: tuple[str, ...] = ("remediate-cluster",),
             pool: str | None = None) -> tuple[str, dict[str, str]]:
    """Register the shipped deployments ``names`` under test-only names with the real
    ``prefect deploy --prefect-file`` (from the repository root, as the README says). Returns
    the pool and ``{shipped name: "flow/registered name"}``."""
    pool = pool or f"pullfix-test-{SUFFIX}"
    doc = yaml.safe_load((ROOT / "deployments" / "prefect.yaml").read_text())
    wanted = [d for d in doc["deployments"] if d["name"] in names]
    flows = {"remediate-cluster": "remediate-cluster", "diagnose-cluster": "diagnose-cluster",
             "fleet-sweep-plan": "fleet-sweep", "fleet-sweep-apply": "fleet-sweep"}
    for d in wanted:
        d["name"] = f"{d['name']}-{SUFFIX}"
        d["work_pool"] = {"name": pool, "work_queue_name": "default"}
        d.pop("schedules", None)
    doc["deployments"] = wanted
    file = tmp_path / "prefect.yaml"
    file.write_text(yaml.safe_dump(doc, sort_keys=False))
    made = subprocess.run([PREFECT, "work-pool", "create", pool, "--type", "process",
                           "--overwrite"], env=prefect_env(), cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert made.returncode == 0, made.stdout + made.stderr
    out = subprocess.run([PREFECT, "--no-prompt", "deploy", "--all", "--prefect-file", str(file)],
                         env=prefect_env(), cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    return pool, {n: f"{flows[n]}/{n}-{SUFFIX}" for n in names}


class Worker:
    """A real ``prefect worker start`` process in its own folder and process group."""

    def __init__(self, pool: str, env: dict[str, str], cwd: Path, *, name: str) -> None:
        cwd.mkdir(parents=True, exist_ok=True)
        self.log = cwd / f"{name}.log"
        self.proc = subprocess.Popen(  # noqa: S603
            [PREFECT, "worker", "start", "--pool", pool, "--name", name, "--limit", "4"],
            env=env, cwd=cwd, stdout=open(self.log, "wb"), stderr=subprocess.STDOUT,  # noqa: SIM115
            start_new_session=True)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)

    def text(self) -> str:
        return self.log.read_text(errors="replace")


def wait_pool_ready(pool: str, worker: Worker, seconds: float = 120) -> None:
    from prefect import get_client
    from prefect.client.schemas.objects import WorkPoolStatus

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert worker.proc.poll() is None, worker.text()[-3000:]
        with get_client(sync_client=True) as client:
            if client.read_work_pool(pool).status == WorkPoolStatus.READY:
                return
        time.sleep(1)
    raise AssertionError(f"no worker online in {pool}: {worker.text()[-3000:]}")


def deployment_runs(deployment: str) -> list[Any]:
    """This test process's runs of a deployment (tagged with the worker tag)."""
    from prefect import get_client
    from prefect.client.schemas.filters import (
        DeploymentFilter,
        DeploymentFilterId,
        FlowRunFilter,
        FlowRunFilterTags,
    )

    with get_client(sync_client=True) as client:
        dep = client.read_deployment_by_name(deployment)
        return list(client.read_flow_runs(
            deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[dep.id])),
            flow_run_filter=FlowRunFilter(tags=FlowRunFilterTags(all_=[WORKER_TAG]))))


def deployment_names() -> list[str]:
    """Every deployment on the server, as ``flow/deployment``."""
    from prefect import get_client

    with get_client(sync_client=True) as client:
        flows = {f.id: f.name for f in client.read_flows()}
        return [f"{flows.get(d.flow_id, '?')}/{d.name}" for d in client.read_deployments()]


def wait_final(run_id: Any, seconds: float = 300) -> Any:
    from prefect import get_client

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with get_client(sync_client=True) as client:
            run = client.read_flow_run(run_id)
        if run.state and run.state.is_final():
            return run
        time.sleep(1)
    raise AssertionError(f"flow run {run_id} did not finish in {seconds}s")


def reject_own_paused() -> None:
    """Leave nothing waiting on the shared server: reject this process's paused sign-offs."""
    from prefect.flow_runs import resume_flow_run

    from tests.scenariolib import own_paused_runs

    for run in own_paused_runs():
        try:
            resume_flow_run(run.id, run_input={"plan_hash": "0" * 64, "approve": False,
                                               "comment": "test cleanup"})
        except Exception:  # noqa: BLE001, S110 - already answered
            pass


def cleanup(pool: str, deployments: dict[str, str]) -> None:
    from prefect import get_client

    with get_client(sync_client=True) as client:
        for name in deployments.values():
            try:
                client.delete_deployment(client.read_deployment_by_name(name).id)
            except Exception:  # noqa: BLE001, S110 - already gone
                pass
        try:
            client.delete_work_pool(pool)
        except Exception:  # noqa: BLE001, S110 - already gone
            pass
