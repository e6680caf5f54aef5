"""Sign-off from the command line, as an operator and an approver use it: ``pullfix
remediate`` piped (as in CI) prints the flow run id and the exact ``pullfix approve`` command
while it waits; ``pullfix approve`` sends the approval, follows the flow to its verdict and
prints it — applied and verified (exit 0), or refused and why (exit 1) — and ``pullfix
reject`` prints the recorded rejection. The real console script, the real flow, the
simulator; the write journal proves what was applied."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.containerservice import ContainerServiceClient

from simulator.scenario import stable_uuid
from tests.simharness import ROOT, Sim, env_with
from tests.test_remediate_signoff import _finish, _record, _run_in_background, _wait_paused, _writes

SCENARIO = "kubelet-identity-removed-from-vmss"
pytestmark = pytest.mark.scenario(SCENARIO)
PULLFIX = str(Path(sys.executable).with_name("pullfix"))
SECRETS = {"alice-approver": "alice-approver-secret-0001", "mallory": "mallory-secret-0001"}


@pytest.fixture
def served(sim: Sim, sim_env: Callable[[Sim], None], prefect_harness: None) -> Sim:
    sim_env(sim)
    return sim


def _env(sim: Sim, who: str | None = None) -> dict[str, str]:
    from prefect.settings import PREFECT_API_URL

    env = env_with(sim, PREFECT_API_URL=PREFECT_API_URL.value())
    if who:  # the approver signs in as themselves, not as pullfix
        env |= {"AZURE_CLIENT_ID": stable_uuid("app", who), "AZURE_CLIENT_SECRET": SECRETS[who]}
    return env


def pullfix(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PULLFIX, *args], env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=300)


def test_piped_remediate_prints_the_approve_command_and_approve_prints_the_verdict(
        served: Sim) -> None:
    # given `pullfix remediate` run as CI runs it: stdout and stderr piped, not a terminal
    proc = subprocess.Popen([PULLFIX, "remediate", "--cluster", "aks-app", "--verify-seconds",
                             "20", "-o", "json"], env=_env(served), cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stderr or []), daemon=True)
    reader.start()
    try:
        # when it reaches the sign-off, it says so in a plain line with the exact command
        deadline = time.monotonic() + 180
        waiting = None
        while waiting is None and time.monotonic() < deadline and proc.poll() is None:
            waiting = next((x for x in list(lines) if x.startswith("waiting for sign-off:")), None)
            time.sleep(0.5)
        assert waiting, "".join(lines)
        m = re.fullmatch(r"waiting for sign-off: reconcile-cluster on aks-app: .* \(flow run "
                         r"(?P<id>[0-9a-f-]{36})\); an approver runs: pullfix approve (?P=id)   "
                         r"\(or: pullfix reject (?P=id)\)\n", waiting)
        assert m, waiting
        assert any(x.startswith("aks-app: pass 1: ") for x in lines), lines
        assert _writes(served) == []  # nothing before the sign-off
        # and the approver runs that command as printed
        got = pullfix(_env(served, "alice-approver"), "approve", m.group("id"),
                      "--comment", "from CI")
        # then approve prints the flow's verdict: approved, applied and verified; exit 0
        assert got.returncode == 0, got.stdout + got.stderr
        out = got.stdout.splitlines()
        assert out[0].startswith("approved by ") and out[0].endswith(
            ": reconcile-cluster on aks-app: " + waiting.split("aks-app: ", 1)[1].split(
                " (flow run")[0]), out
        assert "'from CI'" in out[0]
        assert out[1] == "applied and verified: its own checks pass"
        assert out[2].startswith(f"flow run {m.group('id')}: healed — healed: every pod pulls")
        assert SECRETS["alice-approver"] not in got.stdout + got.stderr
        # and the remediation finishes healed, exit 0, its report on stdout
        stdout, _ = proc.communicate(timeout=300)
        reader.join(10)
        assert proc.returncode == 0, "".join(lines)
        assert json.loads(stdout)["outcome"] == "healed"
        assert any(x.startswith("aks-app: applying reconcile-cluster") for x in lines), lines
        assert "\x1b[" not in "".join(lines)  # plain lines, no live display
    finally:
        if proc.poll() is None:
            proc.kill()


def test_approve_prints_a_refusal_and_exits_1(served: Sim) -> None:
    # given a remediation waiting for sign-off
    t, out = _run_in_background()
    run = _wait_paused(out)
    # when mallory, whom the policy does not allow, approves it with her own identity
    got = pullfix(_env(served, "mallory"), "approve", str(run.id)[:8])
    # then approve prints the flow's refusal, not "approved", and exits 1
    assert got.returncode == 1, got.stdout + got.stderr
    first = got.stdout.splitlines()[0]
    assert first.startswith("refused: reconcile-cluster on aks-app: ")
    assert first.endswith(f"({stable_uuid('sp-object', 'mallory')}) is not an approver for "
                          "this fix: the policy allows group:pullfix-approvers: nothing applied"), first
    assert "approved" not in got.stdout
    rec = _record(_finish(t, out), "reconcile-cluster")
    assert rec["outcome"] == "rejected"
    assert _writes(served) == []


def test_approve_of_a_plan_that_changed_says_so_as_data(served: Sim) -> None:
    t, out = _run_in_background()
    run = _wait_paused(out)
    # someone repairs the scale set by hand while the approval is pending
    compute = served.clients().arm(ComputeManagementClient, served.subscription)
    node_rg = "MC_rg-app_aks-app_eastus"
    [vmss] = list(compute.virtual_machine_scale_sets.list(node_rg))
    cluster = served.clients().arm(ContainerServiceClient, served.subscription) \
        .managed_clusters.get("rg-app", "aks-app")
    identity_id = cluster.identity_profile["kubeletidentity"].resource_id
    compute.virtual_machine_scale_sets.begin_update(node_rg, vmss.name, {
        "identity": {"type": "UserAssigned", "userAssignedIdentities": {identity_id: {}}}
    }).result()
    manual = _writes(served)
    # when alice approves it, asking for JSON
    got = pullfix(_env(served, "alice-approver"), "approve", str(run.id), "-o", "json")
    # then the verdict is the flow's: refused because the plan changed; exit 1
    assert got.returncode == 1, got.stdout + got.stderr
    doc: dict[str, Any] = json.loads(got.stdout)
    assert (doc["run_id"], doc["verdict"], doc["applied"]) == (str(run.id), "refused", None)
    assert doc["reason"] == "the plan changed since it was approved: nothing applied"
    _finish(t, out)
    assert _writes(served) == manual  # pullfix wrote nothing


def test_reject_prints_the_recorded_rejection(served: Sim) -> None:
    t, out = _run_in_background()
    run = _wait_paused(out)
    got = pullfix(_env(served), "reject", str(run.id), "--comment", "not today")
    assert got.returncode == 0, got.stdout + got.stderr
    assert re.match(r"rejected: reconcile-cluster on aks-app: .*: rejected: not today$",
                    got.stdout.splitlines()[0]), got.stdout
    assert _record(_finish(t, out), "reconcile-cluster")["outcome"] == "rejected"
    assert _writes(served) == []


def test_approve_of_an_unknown_run_is_exit_2(served: Sim) -> None:
    got = pullfix(_env(served, "alice-approver"), "approve", "0000dead")
    assert (got.returncode, got.stderr.strip()) == (2, (
        "pullfix: no remediation is waiting for sign-off under id '0000dead'; see "
        "`pullfix pending`"))
