"""Sign-off: a fix that needs it waits in a typed Prefect pause; the flow (not the CLI)
verifies the approval — the approver's Entra token against the cloud's signing keys, the
approver (via group membership) against the policy, the plan unchanged — and anything else
applies nothing, which the simulator's write journal proves."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from azure.mgmt.compute import ComputeManagementClient
from prefect import get_client, tags
from prefect.flow_runs import resume_flow_run

from flows.cli.signoff import _description
from flows.remediate import remediate_cluster
from simulator.scenario import stable_uuid
from tests.scenariolib import WORKER_TAG, own_paused_runs
from tests.simharness import ROOT, Sim

SCENARIO = "kubelet-identity-removed-from-vmss"
pytestmark = pytest.mark.scenario(SCENARIO)
DEFAULT = str(ROOT / "policies" / "default.yaml")


def _run_in_background(policy: str = DEFAULT) -> tuple[threading.Thread, dict[str, Any]]:
    out: dict[str, Any] = {}

    def go() -> None:
        try:
            with tags(WORKER_TAG):
                out["summary"] = remediate_cluster(cluster="aks-app", policy=policy,
                                                   verify_seconds=20,
                                                   approval_poll_seconds=1).as_json()
        except Exception as exc:  # noqa: BLE001 - surfaced by the test
            out["error"] = exc

    t = threading.Thread(target=go, daemon=True)
    t.start()
    return t, out


def _wait_paused(out: dict[str, Any], seconds: float = 90) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if "error" in out:
            raise out["error"]
        runs = own_paused_runs()
        if runs:
            return runs[0]
        time.sleep(0.5)
    raise AssertionError("no remediation paused for sign-off")


def _plan_hash(run: Any) -> str:
    import re

    m = re.search(r"\[plan ([0-9a-f]{64})\]", _description(run))
    assert m, _description(run)
    return m.group(1)


def _token(sim: Sim, app: str, secret: str) -> str:
    return sim.credential(stable_uuid("app", app), secret).get_token(sim.profile.arm_scope).token


def _finish(t: threading.Thread, out: dict[str, Any]) -> dict[str, Any]:
    t.join(120)
    assert not t.is_alive(), "the remediation did not finish"
    if "error" in out:
        raise out["error"]
    return out["summary"]


def _record(summary: dict[str, Any], fix: str) -> dict[str, Any]:
    return next(r for r in summary["records"] if r["fix"] == fix)


def _writes(sim: Sim) -> list[str]:
    return [f"{j['method']} {j['path']}" for j in sim.journal()]


@pytest.fixture
def served(sim: Sim, sim_env: Callable[[Sim], None], prefect_harness: None) -> Sim:
    sim_env(sim)
    return sim


def test_an_allowed_approver_gets_the_fix_applied_and_verified(served: Sim) -> None:
    t, out = _run_in_background()
    run = _wait_paused(out)
    assert "reconcile-cluster on aks-app" in _description(run)
    assert _writes(served) == []  # nothing before the sign-off
    resume_flow_run(run.id, run_input={"plan_hash": _plan_hash(run), "run_id": str(run.id), "approve": True,
                                       "token": _token(served, "alice-approver",
                                                       "alice-approver-secret-0001"),
                                       "comment": "go"})
    summary = _finish(t, out)
    rec = _record(summary, "reconcile-cluster")
    assert rec["outcome"] == "applied", rec["reason"]
    assert rec["approval"]["approver"]["object_id"] == stable_uuid("sp-object", "alice-approver")
    assert any("managedClusters/aks-app" in w and w.startswith("PUT") for w in _writes(served))
    # the token does not stay in Prefect's database: the run input was deleted
    with get_client(sync_client=True) as client:
        with pytest.raises(Exception):  # noqa: B017 - any "not found" will do
            client.read_flow_run_input(flow_run_id=run.id,
                                       key=f"paused-approve-{_plan_hash(run)[:16]}-response")


@pytest.mark.parametrize("who,answer,why", [
    ("mallory", True, "is not an approver for this fix"),
    ("alice-approver", False, "rejected"),
])
def test_rejections_and_disallowed_approvers_apply_nothing(served: Sim, who: str, answer: bool,
                                                           why: str) -> None:
    t, out = _run_in_background()
    run = _wait_paused(out)
    secret = {"mallory": "mallory-secret-0001",
              "alice-approver": "alice-approver-secret-0001"}[who]
    resume_flow_run(run.id, run_input={"plan_hash": _plan_hash(run), "run_id": str(run.id), "approve": answer,
                                       "token": _token(served, who, secret)})
    rec = _record(_finish(t, out), "reconcile-cluster")
    assert rec["outcome"] == "rejected" and why in rec["reason"], rec["reason"]
    assert _writes(served) == []


def test_an_approval_without_identity_applies_nothing(served: Sim) -> None:
    # the Prefect UI form sends no token; the default policy does not allow that
    t, out = _run_in_background()
    run = _wait_paused(out)
    resume_flow_run(run.id, run_input={"plan_hash": _plan_hash(run), "run_id": str(run.id), "approve": True})
    rec = _record(_finish(t, out), "reconcile-cluster")
    assert rec["outcome"] == "rejected"
    assert "no verifiable identity" in rec["reason"]
    assert _writes(served) == []


def test_a_plan_changed_since_approval_applies_nothing(served: Sim) -> None:
    t, out = _run_in_background()
    run = _wait_paused(out)
    # someone repairs the scale set by hand while the approval is pending
    compute = served.clients().arm(ComputeManagementClient, served.subscription)
    node_rg = "MC_rg-app_aks-app_eastus"
    [vmss] = list(compute.virtual_machine_scale_sets.list(node_rg))
    from azure.mgmt.containerservice import ContainerServiceClient

    cluster = served.clients().arm(ContainerServiceClient, served.subscription) \
        .managed_clusters.get("rg-app", "aks-app")
    identity_id = cluster.identity_profile["kubeletidentity"].resource_id
    compute.virtual_machine_scale_sets.begin_update(node_rg, vmss.name, {
        "identity": {"type": "UserAssigned", "userAssignedIdentities": {identity_id: {}}}
    }).result()
    manual = _writes(served)
    resume_flow_run(run.id, run_input={"plan_hash": _plan_hash(run), "run_id": str(run.id), "approve": True,
                                       "token": _token(served, "alice-approver",
                                                       "alice-approver-secret-0001")})
    rec = _record(_finish(t, out), "reconcile-cluster")
    assert rec["outcome"] == "rejected"
    assert "the plan changed since it was approved" in rec["reason"]
    assert _writes(served) == manual  # pullfix wrote nothing


def test_a_sign_off_that_times_out_applies_nothing(served: Sim, tmp_path: Path) -> None:
    policy = tmp_path / "short.yaml"
    policy.write_text((ROOT / "policies" / "default.yaml").read_text().replace(
        "reconcile-cluster: {decision: sign-off}",
        "reconcile-cluster: {decision: sign-off, approval_timeout: 6s}"))
    t, out = _run_in_background(str(policy))
    rec = _record(_finish(t, out), "reconcile-cluster")
    assert rec["outcome"] == "rejected"
    assert "no decision within 6s" in rec["reason"]
    assert _writes(served) == []


def test_pullfix_pending_and_approve_from_the_command_line(served: Sim) -> None:
    import subprocess
    import sys

    from prefect.settings import PREFECT_API_URL

    from tests.simharness import env_with

    t, out = _run_in_background()
    run = _wait_paused(out)
    base = env_with(served, PREFECT_API_URL=PREFECT_API_URL.value())
    listed = subprocess.run([sys.executable, "-m", "flows.cli", "pending"], env=base, cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert listed.returncode == 0, listed.stderr
    assert str(run.id) in listed.stdout and "reconcile-cluster on aks-app" in listed.stdout
    # the approver signs in as themselves (their own credentials, not pullfix's)
    approver = dict(base, AZURE_CLIENT_ID=stable_uuid("app", "alice-approver"),
                    AZURE_CLIENT_SECRET="alice-approver-secret-0001")
    done = subprocess.run([sys.executable, "-m", "flows.cli", "approve", str(run.id)[:8],
                           "--comment", "rehearsed"], env=approver, cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "approved" in done.stdout
    assert "alice-approver-secret-0001" not in done.stdout + done.stderr
    rec = _record(_finish(t, out), "reconcile-cluster")
    assert rec["outcome"] == "applied", rec["reason"]
    assert rec["approval"]["comment"] == "rehearsed"


# --- approvers are object ids: Entra does not keep group display names unique ---------------
REUSED = "approver-group-name-reused"


@pytest.mark.scenario(REUSED)
def test_a_group_name_two_groups_share_lets_nobody_approve(served: Sim) -> None:
    # given the default policy names group:pullfix-approvers and a contractor created a second
    # group with that name and joined it, when the remediation asks for sign-off
    t, out = _run_in_background()
    rec = _record(_finish(t, out), "reconcile-cluster")
    # then nobody is asked (no pause), the reason lists both ids, and nothing is written
    assert rec["outcome"] == "rejected"
    assert "2 groups have that display name" in rec["reason"], rec["reason"]
    for key in ("pullfix-approvers", "contractors-approvers"):
        assert f"group:{stable_uuid('group', key)}" in rec["reason"]
    assert _writes(served) == []


@pytest.mark.scenario(REUSED)
def test_a_member_of_the_other_group_with_the_same_name_cannot_approve(served: Sim,
                                                                        tmp_path: Path) -> None:
    # given a policy naming the platform team's group by object id
    policy = tmp_path / "by-id.yaml"
    policy.write_text((ROOT / "policies" / "default.yaml").read_text().replace(
        "group:pullfix-approvers", f"group:{stable_uuid('group', 'pullfix-approvers')}"))
    t, out = _run_in_background(str(policy))
    run = _wait_paused(out)
    # when mallory (member of the contractors' pullfix-approvers) approves with her own token
    resume_flow_run(run.id, run_input={"plan_hash": _plan_hash(run), "run_id": str(run.id), "approve": True,
                                       "token": _token(served, "mallory", "mallory-secret-0001")})
    rec = _record(_finish(t, out), "reconcile-cluster")
    # then the approval is refused and nothing is applied
    assert rec["outcome"] == "rejected"
    assert "is not an approver for this fix" in rec["reason"], rec["reason"]
    assert _writes(served) == []


@pytest.mark.scenario(REUSED)
def test_the_group_named_by_object_id_still_approves(served: Sim, tmp_path: Path) -> None:
    policy = tmp_path / "by-id.yaml"
    policy.write_text((ROOT / "policies" / "default.yaml").read_text().replace(
        "group:pullfix-approvers", f"group:{stable_uuid('group', 'pullfix-approvers')}"))
    t, out = _run_in_background(str(policy))
    run = _wait_paused(out)
    resume_flow_run(run.id, run_input={"plan_hash": _plan_hash(run), "run_id": str(run.id), "approve": True,
                                       "token": _token(served, "alice-approver",
                                                       "alice-approver-secret-0001")})
    rec = _record(_finish(t, out), "reconcile-cluster")
    assert rec["outcome"] == "applied", rec["reason"]


# --- an approval token approves one request, once ---------------------------------------------
def test_a_replayed_approval_token_applies_nothing(served: Sim) -> None:
    # given alice approved one sign-off and her token was captured
    t, out = _run_in_background()
    first = _wait_paused(out)
    token = _token(served, "alice-approver", "alice-approver-secret-0001")
    resume_flow_run(first.id, run_input={"plan_hash": _plan_hash(first), "run_id": str(first.id),
                                         "approve": True, "token": token})
    assert _record(_finish(t, out), "reconcile-cluster")["outcome"] == "applied"
    # when the cluster breaks again and the same token is sent to the new run's sign-off
    served.reset()
    t, out = _run_in_background()
    second = _wait_paused(out)
    resume_flow_run(second.id, run_input={"plan_hash": _plan_hash(second),
                                          "run_id": str(second.id), "approve": True,
                                          "token": token})
    rec = _record(_finish(t, out), "reconcile-cluster")
    # then it is refused as a replay and nothing is written
    assert rec["outcome"] == "rejected"
    assert "was already used" in rec["reason"] and str(first.id) in rec["reason"], rec["reason"]
    assert _writes(served) == []


def test_an_approval_for_another_run_applies_nothing(served: Sim) -> None:
    t, out = _run_in_background()
    run = _wait_paused(out)
    resume_flow_run(run.id, run_input={"plan_hash": _plan_hash(run),
                                       "run_id": "00000000-0000-0000-0000-000000000000",
                                       "approve": True,
                                       "token": _token(served, "alice-approver",
                                                       "alice-approver-secret-0001")})
    rec = _record(_finish(t, out), "reconcile-cluster")
    assert rec["outcome"] == "rejected" and "not this run" in rec["reason"], rec["reason"]
    assert _writes(served) == []
