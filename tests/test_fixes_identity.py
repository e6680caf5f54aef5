"""The identity, secret and workload fixes, each on its scenario, served for real: the finding
comes from the check that suggests the fix; ``plan`` lists the right change; ``apply`` makes the
check PASS and the pods Running; a re-plan is None; a second apply writes nothing (the write
journal); ``rollback`` (reversible fixes) puts back exactly what was touched.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from tasks.contract import Finding, Status, Target
from tasks.fix import FIXES, Fix, FixPlan, fix_risks, load_fixes
from tasks.reads import Reads
from tests.checklib import run_check, targets
from tests.scenariolib import Kube, kube, still_failing, wait_running, waiting_reasons
from tests.simharness import Sim

CLUSTER, NS, WORKLOAD, RG = "aks-app", "web", "web", "rg-app"
HOST = "contosoapp.azurecr.io"
IMAGE = f"{HOST}/app/web:v1"


# -- helpers -----------------------------------------------------------------------------------
def the_fix(name: str) -> Fix:
    load_fixes()
    return FIXES[name]()


def diagnose(sim: Sim, check: str) -> tuple[Target, Finding]:
    reads = Reads(sim.clients())
    target = targets(sim, CLUSTER, reads)[0]
    return target, run_check(check, target, reads)


def status(sim: Sim, check: str, target: Target) -> Status:
    return run_check(check, target, Reads(sim.clients())).status


def planned(sim: Sim, name: str, check: str) -> tuple[Fix, Target, Finding, FixPlan]:
    target, finding = diagnose(sim, check)
    assert finding.status == Status.FAIL and name in finding.suggests, finding
    fx = the_fix(name)
    plan = fx.plan(target, finding, Reads(sim.clients()))
    assert plan is not None
    assert plan.fix == name and plan.risk == fix_risks()[name] and plan.reversible == fx.reversible
    return fx, target, finding, plan


def writes(sim: Sim) -> list[tuple[str, str]]:
    return [(e["method"], e["path"]) for e in sim.journal()]


def apply_twice(sim: Sim, fx: Fix, plan: FixPlan) -> Any:
    """apply; then apply again writes nothing."""
    result = fx.apply(plan, Reads(sim.clients()))
    before = writes(sim)
    again = fx.apply(plan, Reads(sim.clients()))
    assert writes(sim) == before
    assert again.applied == ()
    return result


def no_secret_in(sim: Sim, *objects: Any, secrets: list[str]) -> None:
    text = json.dumps([o.model_dump(mode="json") for o in objects])
    for s in secrets:
        assert s not in text


def snap_resources(sim: Sim, *fragments: str) -> dict[str, Any]:
    """The simulator's resources whose id contains every fragment (lower-cased)."""
    res = sim.snapshot()["resources"]
    return {k: v for k, v in res.items() if all(f.lower() in k for f in fragments)}


def secret_entry(kb: Kube, name: str) -> dict[str, Any]:
    data = kb.core.read_namespaced_secret(name, NS).data[".dockerconfigjson"]
    return json.loads(base64.b64decode(data))["auths"][HOST]


def assignments(sim: Sim, scope_fragment: str = "registries/contosoapp") -> dict[str, Any]:
    return snap_resources(sim, scope_fragment, "roleassignments")


# -- grant-pull-role -----------------------------------------------------------------------------
@pytest.mark.parametrize("scenario,check,role", [
    ("missing-pull-role", "kubelet-identity-has-pull-role", "AcrPull"),
    ("missing-pull-role-sp", "kubelet-identity-has-pull-role", "AcrPull"),
    ("abac-registry-acrpull-only", "kubelet-identity-has-pull-role",
     "Container Registry Repository Reader"),
    ("pull-role-on-previous-sp", "pull-role-on-current-sp", "AcrPull"),
])
def test_grant_pull_role_lifecycle(scenario: str, check: str, role: str, sim_pool: Any,
                                   tmp_path: Path) -> None:
    # given the scenario's failing pods and the check's finding
    sim: Sim = sim_pool.get(scenario)
    kb = kube(sim, CLUSTER, tmp_path)
    still_failing(kb, NS, WORKLOAD)
    fx, target, finding, plan = planned(sim, "grant-pull-role", check)
    principal = next(e.data for e in finding.evidence if "object_id" in e.data)["object_id"]
    # then the plan creates one assignment of the right role for the pulling principal
    (change,) = plan.changes
    assert change.operation == "create" and change.after is not None
    assert change.after["role"] == role and change.after["principal_id"] == principal
    assert change.resource.lower().startswith(target.registry_id.lower())  # type: ignore[union-attr]
    before = assignments(sim)
    # when applied (twice: the second writes nothing)
    result = apply_twice(sim, fx, plan)
    # then the check passes, the pods run, and there is nothing left to plan
    assert status(sim, check, target) == Status.PASS
    wait_running(kb, NS, WORKLOAD)
    assert fx.plan(target, finding, Reads(sim.clients())) is None
    assert len(assignments(sim)) == len(before) + 1
    # when rolled back, the registry's assignments are what they were
    fx.rollback(result, Reads(sim.clients()))
    assert assignments(sim) == before


# -- remove-stale-role-assignment ----------------------------------------------------------------
@pytest.mark.scenario("pull-role-on-previous-sp")
def test_remove_stale_role_assignment_after_grant_pull_role(sim: Sim, tmp_path: Path) -> None:
    # given an SP cluster whose AcrPull sits on its previous SP
    kb = kube(sim, CLUSTER, tmp_path)
    fx, target, finding, plan = planned(sim, "remove-stale-role-assignment",
                                        "pull-role-on-current-sp")
    (stale,) = next(e.data["stale"] for e in finding.evidence if "stale" in e.data)
    # then the plan deletes exactly the previous SP's AcrPull at the registry
    (change,) = plan.changes
    assert change.operation == "delete" and change.before is not None
    assert change.before["principal_id"] == stale["principal_id"]
    assert change.before["role"] == "AcrPull"
    # when applied before grant-pull-role, it refuses and removes nothing
    journal = writes(sim)
    with pytest.raises(RuntimeError, match="apply grant-pull-role first"):
        fx.apply(plan, Reads(sim.clients()))
    assert writes(sim) == journal
    # when grant-pull-role ran first (the documented order), then this fix
    grant = the_fix("grant-pull-role")
    gplan = grant.plan(target, finding, Reads(sim.clients()))
    assert gplan is not None
    grant.apply(gplan, Reads(sim.clients()))
    sim.advance(301)  # Azure honours the assignment minutes later
    wait_running(kb, NS, WORKLOAD)
    granted = assignments(sim)
    result = apply_twice(sim, fx, plan)
    # then the stale assignment is gone, the current SP still pulls, nothing is left to plan
    assert change.resource.lower() not in assignments(sim)
    assert status(sim, "pull-role-on-current-sp", target) == Status.PASS
    wait_running(kb, NS, WORKLOAD)
    assert fx.plan(target, finding, Reads(sim.clients())) is None
    # when rolled back, the same assignment (name, role, scope, principal) is back
    fx.rollback(result, Reads(sim.clients()))
    back = assignments(sim)
    assert back.keys() == granted.keys()
    old = granted[change.resource.lower()]["properties"]
    new = back[change.resource.lower()]["properties"]
    for k in ("principalId", "roleDefinitionId", "scope"):
        assert new[k].lower() == old[k].lower()


# -- rotate-cluster-sp-secret --------------------------------------------------------------------
@pytest.mark.scenario("cluster-sp-secret-expired")
def test_rotate_cluster_sp_secret(sim: Sim, tmp_path: Path) -> None:
    kb = kube(sim, CLUSTER, tmp_path)
    still_failing(kb, NS, WORKLOAD)
    fx, target, finding, plan = planned(sim, "rotate-cluster-sp-secret", "cluster-sp-secret-valid")
    # then the plan adds a password credential and resets the cluster's SP profile with it
    add, reset = plan.changes
    assert add.api == "Graph addPassword" and add.after == {
        "password_credential": "new password credential"}
    assert reset.resource == target.cluster.id and "resetServicePrincipalProfile" in reset.api
    # when applied (twice: the second writes nothing)
    result = apply_twice(sim, fx, plan)
    # then the check passes, the pods run, nothing is left to plan
    assert status(sim, "cluster-sp-secret-valid", target) == Status.PASS
    wait_running(kb, NS, WORKLOAD)
    assert fx.plan(target, finding, Reads(sim.clients())) is None
    # and the result records the credential's keyId and hint, never its value
    info = result.applied[0].after["password_credential"]  # type: ignore[index]
    assert set(info) == {"key_id", "hint", "end"} and len(info["hint"]) <= 3
    assert "secret_text" not in json.dumps(result.model_dump(mode="json"))
    with pytest.raises(NotImplementedError):
        fx.rollback(result, Reads(sim.clients()))


# -- reconcile-cluster ---------------------------------------------------------------------------
@pytest.mark.scenario("kubelet-identity-removed-from-vmss")
def test_reconcile_cluster_puts_the_kubelet_identity_back(sim: Sim, tmp_path: Path) -> None:
    kb = kube(sim, CLUSTER, tmp_path)
    still_failing(kb, NS, WORKLOAD)
    fx, target, finding, plan = planned(sim, "reconcile-cluster", "kubelet-identity-on-vmss")
    (change,) = plan.changes
    assert change.resource == target.cluster.id and change.operation == "update"
    assert change.before and change.before["scale_sets_without_kubelet_identity"]
    result = apply_twice(sim, fx, plan)
    assert status(sim, "kubelet-identity-on-vmss", target) == Status.PASS
    wait_running(kb, NS, WORKLOAD)
    assert fx.plan(target, finding, Reads(sim.clients())) is None
    assert not fx.reversible
    with pytest.raises(NotImplementedError):
        fx.rollback(result, Reads(sim.clients()))


# -- rotate-pull-secret-sp -----------------------------------------------------------------------
@pytest.mark.scenario("pull-secret-sp-expired")
def test_rotate_pull_secret_sp(sim: Sim, tmp_path: Path) -> None:
    kb = kube(sim, CLUSTER, tmp_path)
    still_failing(kb, NS, WORKLOAD)
    old = secret_entry(kb, "acr-pull")
    fx, target, finding, plan = planned(sim, "rotate-pull-secret-sp", "pull-secret-sp-valid")
    add, write = plan.changes
    assert add.api == "Graph addPassword" and write.resource.endswith("/k8s/Secret/web/acr-pull")
    assert write.after and write.after["username"] == old["username"]
    result = apply_twice(sim, fx, plan)
    new = secret_entry(kb, "acr-pull")
    assert new["username"] == old["username"] and new["password"] != old["password"]
    assert status(sim, "pull-secret-sp-valid", target) == Status.PASS
    wait_running(kb, NS, WORKLOAD)
    assert fx.plan(target, finding, Reads(sim.clients())) is None
    no_secret_in(sim, plan, result, secrets=[new["password"], old["password"]])


# -- refresh-pull-secret-admin -------------------------------------------------------------------
@pytest.mark.scenario("pull-secret-admin-regenerated")
def test_refresh_pull_secret_admin_and_rollback_from_the_backup(sim: Sim, tmp_path: Path) -> None:
    kb = kube(sim, CLUSTER, tmp_path)
    still_failing(kb, NS, WORKLOAD)
    original = kb.core.read_namespaced_secret("acr-admin", NS).data
    fx, target, finding, plan = planned(sim, "refresh-pull-secret-admin", "pull-secret-admin-valid")
    (change,) = plan.changes
    assert change.resource.endswith("/k8s/Secret/web/acr-admin")
    assert change.after and change.after["backup"] == "web/acr-admin-pullfix-backup"
    result = apply_twice(sim, fx, plan)
    current = secret_entry(kb, "acr-admin")["password"]
    assert status(sim, "pull-secret-admin-valid", target) == Status.PASS
    wait_running(kb, NS, WORKLOAD)
    assert fx.plan(target, finding, Reads(sim.clients())) is None
    no_secret_in(sim, plan, result, secrets=[current])
    backup = kb.core.read_namespaced_secret("acr-admin-pullfix-backup", NS)
    assert backup.type == "Opaque" and backup.data == original
    # when rolled back, the secret holds its previous data and the backup is gone
    fx.rollback(result, Reads(sim.clients()))
    assert kb.core.read_namespaced_secret("acr-admin", NS).data == original
    assert "acr-admin-pullfix-backup" not in {
        s.metadata.name for s in kb.core.list_namespaced_secret(NS).items}


# -- correct-image-reference ---------------------------------------------------------------------
@pytest.mark.parametrize("scenario", ["login-server-typo", "missing-tag", "missing-repository"])
def test_correct_image_reference(scenario: str, sim_pool: Any, tmp_path: Path) -> None:
    sim: Sim = sim_pool.get(scenario)
    kb = kube(sim, CLUSTER, tmp_path)
    still_failing(kb, NS, WORKLOAD)
    wrong = kb.apps.read_namespaced_deployment(WORKLOAD, NS).spec.template.spec.containers[0].image
    fx, target, finding, plan = planned(sim, "correct-image-reference", "image-reference-valid")
    (change,) = plan.changes
    assert change.resource.endswith("/k8s/Deployment/web/web")
    assert change.before and change.before["image"] == wrong
    assert change.after and change.after["image"] == IMAGE
    result = apply_twice(sim, fx, plan)
    running = wait_running(kb, NS, WORKLOAD)
    assert {p.spec.containers[0].image for p in running} == {IMAGE}
    new_target = targets(sim, CLUSTER)[0]  # the cluster-only target: no pod fails any more
    assert new_target.pod is None
    assert fx.plan(target, finding, Reads(sim.clients())) is None
    fx.rollback(result, Reads(sim.clients()))
    assert kb.apps.read_namespaced_deployment(
        WORKLOAD, NS).spec.template.spec.containers[0].image == wrong


# -- set-os-node-selector ------------------------------------------------------------------------
@pytest.mark.scenario("linux-image-on-windows-pool")
def test_set_os_node_selector(sim: Sim, tmp_path: Path) -> None:
    kb = kube(sim, CLUSTER, tmp_path)
    still_failing(kb, NS, WORKLOAD)
    old = dict(kb.apps.read_namespaced_deployment(WORKLOAD, NS).spec.template.spec.node_selector)
    fx, target, finding, plan = planned(sim, "set-os-node-selector", "image-platform-matches-node")
    (change,) = plan.changes
    assert change.before == {"nodeSelector": {"kubernetes.io/os": "windows"}}
    assert change.after == {"nodeSelector": {"kubernetes.io/os": "linux"}}
    result = apply_twice(sim, fx, plan)
    running = wait_running(kb, NS, WORKLOAD)
    nodes = {n.metadata.name: n.metadata.labels for n in kb.core.list_node().items}
    assert {nodes[p.spec.node_name]["kubernetes.io/os"] for p in running} == {"linux"}
    assert fx.plan(target, finding, Reads(sim.clients())) is None
    fx.rollback(result, Reads(sim.clients()))
    assert kb.apps.read_namespaced_deployment(
        WORKLOAD, NS).spec.template.spec.node_selector == old


@pytest.mark.scenario("amd64-image-on-arm64-pool")
def test_set_os_node_selector_is_not_applicable_when_no_pool_runs_the_image(
        sim: Sim, tmp_path: Path) -> None:
    target, finding = diagnose(sim, "image-platform-matches-node")
    assert finding.status == Status.FAIL
    fx = the_fix("set-os-node-selector")
    journal = writes(sim)
    assert fx.plan(target, finding, Reads(sim.clients())) is None
    reason = getattr(fx, "reason", None) or ""
    assert "no node pool" in reason and "not applicable" in reason
    assert writes(sim) == journal


# -- restart-failing-pods ------------------------------------------------------------------------
@pytest.mark.scenario("missing-pull-role")
def test_restart_failing_pods_deletes_backed_off_pods_bounded(sim: Sim, tmp_path: Path) -> None:
    kb = kube(sim, CLUSTER, tmp_path)
    # given pods sitting out the kubelet's back-off: with a long back-off (x30) the clock is
    # moved on until their status reads ImagePullBackOff (past the first half of a back-off)
    sim.settings(kubelet_backoff_scale=30, speedup=1.0)  # this test moves the clock by hand
    try:
        for _ in range(30):
            found = still_failing(kb, NS, WORKLOAD)
            if all(waiting_reasons(p) == ["ImagePullBackOff"] for p in found):
                break
            sim.advance(60)
        first = {p.metadata.name for p in found}
        _restart_lifecycle(sim, kb, first)
    finally:
        sim.settings(kubelet_backoff_scale=1.0)


def _restart_lifecycle(sim: Sim, kb: Kube, first: set[str]) -> None:
    from tasks.fixes.restart_failing_pods import RestartFailingPods

    target, finding = diagnose(sim, "kubelet-identity-has-pull-role")
    # a cap of 1 lists one pod and says so
    capped = RestartFailingPods(RestartFailingPods.Params(max_pods=1)).plan(
        target, finding, Reads(sim.clients()))
    assert capped is not None and len(capped.changes) == 1 and "capped at 1 of 2" in capped.summary
    # the plan lists both backed-off pods of the Deployment
    fx = the_fix("restart-failing-pods")
    plan = fx.plan(target, finding, Reads(sim.clients()))
    assert plan is not None and {n.split("/")[1] for n in plan.pods} == first
    assert all(c.operation == "delete" for c in plan.changes)
    # when applied (twice: the second writes nothing), the controller replaces them
    result = apply_twice(sim, fx, plan)
    assert len(result.applied) == 2
    replaced = {p.metadata.name for p in still_failing(kb, NS, WORKLOAD)}
    assert not replaced & first
    # the new pods have just tried (ErrImagePull, not backed off): nothing left to restart
    assert fx.plan(target, finding, Reads(sim.clients())) is None
    # and once the cause is fixed they run
    grant = the_fix("grant-pull-role")
    gplan = grant.plan(target, finding, Reads(sim.clients()))
    assert gplan is not None
    grant.apply(gplan, Reads(sim.clients()))
    sim.advance(301)  # Azure honours the assignment minutes later
    wait_running(kb, NS, WORKLOAD)


@pytest.mark.scenario("missing-pull-role")
def test_grant_pull_role_with_propagation_delay_is_not_planned_twice(
        sim: Sim, tmp_path: Path) -> None:
    # given role assignments that take two minutes to be honoured
    sim.settings(role_propagation_seconds=120)
    try:
        kb = kube(sim, CLUSTER, tmp_path)
        fx, target, finding, plan = planned(sim, "grant-pull-role",
                                            "kubelet-identity-has-pull-role")
        # when applied, ARM lists the assignment at once but the pods still fail
        apply_twice(sim, fx, plan)
        still_failing(kb, NS, WORKLOAD)
        # then a re-plan (what a retrying flow would do) plans nothing new
        assert fx.plan(target, finding, Reads(sim.clients())) is None
        # and once it propagated, the pods pull (verification polls for this)
        sim.advance(180)
        wait_running(kb, NS, WORKLOAD)
    finally:
        sim.settings(role_propagation_seconds=0.0)
