"""Remediation against the scenario library: every fix's lifecycle (generated from the fix
registry), remediation under policies, failed verification, plan mode and the blast-radius
cap — with the simulator's write journal as the witness."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from prefect import tags
from prefect.flow_runs import resume_flow_run

from flows.cli.signoff import _description
from flows.remediate import remediate_cluster
from simulator.scenario import ScenarioDoc, read_scenario, scenario_names
from tasks.diagnose import diagnose_cluster
from tasks.fix import fix_risks, load_fixes
from tasks.reads import Reads
from tasks.remediate import apply_fix, planned_fixes, rollback_fix, verify_own, wait_for_pulls
from tests.checklib import cluster_refs
from tests.scenariolib import WORKER_TAG, kube, own_paused_runs, wait_running
from tests.simharness import ROOT, Sim

POLICIES = ROOT / "tests" / "policies"
LIBRARY = [n for n in scenario_names() if n not in ("demo", "minimal")]


def _expect(name: str) -> Any:
    doc, _ = read_scenario(name)
    return ScenarioDoc.model_validate(doc).expect


def _single(name: str) -> bool:
    """One cause, healed by its fixes alone (scenarios with an ``expect.remediation`` block —
    several causes, blocked fixes — are run by tests/test_remediate_loop.py)."""
    return _expect(name).remediation is None


def _scenario_for(fix: str) -> str:
    if fix == "restart-failing-pods":
        return "missing-pull-role"  # any failing scenario: it restarts backed-off pods
    for name in LIBRARY:
        if fix in _expect(name).fixes and name not in NOT_HEALING and _single(name):
            return name
    raise AssertionError(f"no library scenario lists the fix {fix}")


def test_the_fix_registry_is_the_catalogue() -> None:
    fixes = load_fixes()
    assert set(fixes) == set(fix_risks())
    for name, cls in fixes.items():
        assert cls.risk == fix_risks()[name], name
        import importlib

        doc = importlib.import_module(cls.__module__).__doc__ or ""
        assert len(doc) > 150, f"{name}: the module docstring says what it changes, why it " \
                               "is safe and how it is undone"


# fixes whose scenario cannot be healed by them on purpose, with the reason
NOT_HEALING = {
    # arm64-only cluster: no node pool can run an amd64 image, so there is no selector to set
    "amd64-image-on-arm64-pool",
}


@pytest.mark.parametrize("fix", sorted(fix_risks()))
def test_fix_lifecycle(fix: str, sim_pool: Any, tmp_path: Any) -> None:
    """plan → apply → verify → plan again is None → apply again writes nothing → rollback
    brings the cause back (reversible fixes)."""
    scenario = _scenario_for(fix)
    sim: Sim = sim_pool.get(scenario)
    [ref] = [r for n, r in cluster_refs(sim).items() if n == "aks-app"]
    reads = Reads(sim.clients())
    diagnosis = diagnose_cluster(reads, ref)
    candidates = [(p, f, t) for p, f, t in planned_fixes(reads, diagnosis) if p.fix == fix]
    if fix == "restart-failing-pods":
        from tasks.fixes.restart_failing_pods import RestartFailingPods  # type: ignore

        target = diagnosis.targets[0]
        plan = None
        # pods qualify in the second half of a back-off (ImagePullBackOff); a pooled world's
        # pods may already back off 300 s, so look for up to a whole back-off (120 x 3 s)
        for _ in range(120):
            plan = RestartFailingPods().plan(target, diagnosis.findings[0], Reads(sim.clients()))
            if plan is not None:
                break
            sim.advance(3)
        assert plan is not None and plan.changes
        before = len(sim.journal())
        apply_fix(plan, reads)
        assert len(sim.journal()) > before  # pods deleted, controllers recreate them
        return
    assert candidates, f"{fix}: no plan on {scenario}"
    plan, finding, target = candidates[0]
    # fixes a finding suggests before this one are its prerequisites (grant, then remove)
    for earlier, _, _ in planned_fixes(reads, diagnosis):
        if earlier.fix == fix:
            break
        apply_fix(earlier, reads)
    cls = load_fixes()[fix]
    before = _arm_state(sim)
    result = apply_fix(plan, reads)
    ok, detail = verify_own(plan, target, Reads(sim.clients()), seconds=30, interval=0.5)
    assert ok, detail
    assert wait_for_pulls(Reads(sim.clients()), ref, seconds=30, interval=0.5) == []
    assert cls().plan(target, finding, Reads(sim.clients())) is None
    writes = len(sim.journal())
    apply_fix(plan, Reads(sim.clients()))
    assert len(sim.journal()) == writes, sim.journal()[writes:]
    if cls.reversible:
        rollback_fix(result, Reads(sim.clients()))
        sim.advance(1)  # let rollback LROs settle
        after = _arm_state(sim)
        assert set(after) == set(before), set(after) ^ set(before)
        for change in plan.changes:
            rid = change.resource.lower()
            if rid in before:
                assert after[rid] == before[rid], (rid, before[rid], after[rid])


VOLATILE = {"provisioningState", "etag", "createdOn", "updatedOn", "updatedBy", "createdBy",
            "resourceGuid", "lastModifiedTime", "peeringSyncLevel", "systemData"}


def _strip(doc: Any) -> Any:
    if isinstance(doc, dict):
        return {k: _strip(v) for k, v in doc.items() if k not in VOLATILE and
                not k.startswith("_")}
    if isinstance(doc, list):
        return [_strip(v) for v in doc]
    return doc


def _arm_state(sim: Sim) -> dict[str, Any]:
    """The ARM resources of the world (ids lower-cased), without volatile bookkeeping."""
    return {k: _strip(v) for k, v in sim.snapshot()["resources"].items()}


class _Approver:
    """Answers every pending sign-off from the Prefect UI side (no identity), for policies
    that allow unauthenticated UI approvals."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.thread.start()

    def loop(self) -> None:
        import re

        while not self.stop.is_set():
            for run in own_paused_runs():
                m = re.search(r"\[plan ([0-9a-f]{64})\]", _description(run))
                if m:
                    try:
                        resume_flow_run(run.id, run_input={"plan_hash": m.group(1),
                                                           "approve": True})
                    except Exception:  # noqa: BLE001 - resumed meanwhile: try the next one
                        pass
            time.sleep(0.5)


@pytest.mark.parametrize("name", [n for n in LIBRARY if _expect(n).fixes and _single(n)])
def test_remediate_with_an_all_auto_policy_heals_every_pod(
        name: str, sim_pool: Any, sim_env: Callable[[Sim], None], prefect_harness: None,
        tmp_path: Any) -> None:
    sim: Sim = sim_pool.get(name)
    sim_env(sim)
    approver = _Approver()
    try:
        with tags(WORKER_TAG):
            summary = remediate_cluster(cluster="aks-app", policy=str(POLICIES / "all-auto.yaml"),
                                        verify_seconds=30, approval_poll_seconds=1).as_json()
    finally:
        approver.stop.set()
    outcomes = {r["fix"]: (r["outcome"], r["reason"]) for r in summary["records"]}
    if name in NOT_HEALING:
        assert all(o != "applied" for o, _ in outcomes.values()), outcomes
        return
    assert any(o == "applied" for o, _ in outcomes.values()), outcomes
    assert all(o in ("applied",) for o, _ in outcomes.values()), outcomes
    kb = kube(sim, "aks-app", tmp_path)
    for pod in _expect(name).pods:
        wait_running(kb, pod.namespace, pod.workload, seconds=30)


def test_default_policy_applies_auto_fixes_and_leaves_sign_offs_waiting(
        sim_pool: Any, sim_env: Callable[[Sim], None], prefect_harness: None) -> None:
    auto = sim_pool.get("missing-pull-role")
    sim_env(auto)
    summary = remediate_cluster(cluster="aks-app", policy=str(ROOT / "policies/default.yaml"),
                                sign_off="defer", verify_seconds=30).as_json()
    assert [(r["fix"], r["outcome"]) for r in summary["records"]] == [
        ("grant-pull-role", "applied")]
    signoff = sim_pool.get("kubelet-identity-removed-from-vmss")
    sim_env(signoff)
    summary = remediate_cluster(cluster="aks-app", policy=str(ROOT / "policies/default.yaml"),
                                sign_off="defer", verify_seconds=30).as_json()
    assert [(r["fix"], r["outcome"]) for r in summary["records"]] == [
        ("reconcile-cluster", "awaiting_sign_off")]
    assert signoff.journal() == []


def test_plan_mode_writes_nothing(sim_pool: Any, sim_env: Callable[[Sim], None],
                                  prefect_harness: None) -> None:
    sim = sim_pool.get("pull-role-on-previous-sp")
    sim_env(sim)
    summary = remediate_cluster(cluster="aks-app", policy=str(POLICIES / "plan-only.yaml")).as_json()
    assert summary["records"] and all(r["outcome"] == "planned" for r in summary["records"])
    assert sim.journal() == []


def test_the_blast_radius_cap_stops_further_writes_and_says_so(
        sim_pool: Any, sim_env: Callable[[Sim], None], prefect_harness: None) -> None:
    sim = sim_pool.get("pull-role-on-previous-sp")
    sim_env(sim)
    summary = remediate_cluster(cluster="aks-app", policy=str(POLICIES / "cap-one.yaml"),
                                verify_seconds=30).as_json()
    outcomes = [(r["fix"], r["outcome"]) for r in summary["records"]]
    assert outcomes[0] == ("grant-pull-role", "applied"), summary["records"]
    skipped = [r for r in summary["records"] if r["outcome"] == "skipped"]
    assert skipped and "max_changes_per_run" in skipped[0]["reason"]
    assert len([j for j in sim.journal() if j["method"] in ("PUT", "DELETE")]) == 1


def test_a_grant_azure_has_not_honoured_yet_is_kept_and_reported_as_propagating(
        sim_pool: Any, sim_env: Callable[[Sim], None], prefect_harness: None) -> None:
    # given role assignments that take an hour to be honoured and a 3 s propagation bound
    sim = sim_pool.get("missing-pull-role")
    sim_env(sim)
    sim.settings(role_propagation_seconds=3600 * 100)
    summary = remediate_cluster(cluster="aks-app", policy=str(ROOT / "policies/default.yaml"),
                                sign_off="defer", verify_seconds=3,
                                propagation_seconds=3).as_json()
    # then the grant is kept (its own check passes), the cluster is partly healed, and the
    # report says what it waits for — the correct grant is never deleted
    [rec] = summary["records"]
    assert rec["outcome"] == "propagating", rec
    assert "waiting for propagation" in rec["reason"]
    assert summary["outcome"] == "partly_healed", summary["summary"]
    assert summary["remaining"]
    methods = [j["method"] for j in sim.journal() if "roleAssignments" in j["path"]]
    assert methods == ["PUT"]


@pytest.mark.parametrize("name", [n for n in LIBRARY if _expect(n).fixes and _single(n)])
def test_default_policy_on_every_scenario(name: str, sim_pool: Any,
                                          sim_env: Callable[[Sim], None],
                                          prefect_harness: None) -> None:
    """Under default.yaml: auto fixes are applied and verified, sign-off fixes wait, denied
    ones are reported — and only applied fixes wrote anything."""
    from policies.model import load_policy

    sim: Sim = sim_pool.get(name)
    sim_env(sim)
    policy = load_policy(str(ROOT / "policies/default.yaml"))
    summary = remediate_cluster(cluster="aks-app", policy=str(ROOT / "policies/default.yaml"),
                                sign_off="defer", verify_seconds=30).as_json()
    expected = {"auto": "applied", "sign-off": "awaiting_sign_off", "deny": "denied"}
    for r in summary["records"]:
        rule = policy.fixes.get(r["fix"])
        decision = str(rule.decision if rule and rule.decision else policy.defaults.decision)
        assert r["outcome"] == expected[decision], (r["fix"], r["outcome"], r["reason"])
    if not any(r["outcome"] == "applied" for r in summary["records"]):
        assert sim.journal() == []
