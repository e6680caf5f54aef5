"""The remediation loop against the scenario library's ``expect.remediation`` blocks: a
cluster with several causes at once heals end to end with every fix kept (a cause hidden
behind another is found on a later pass), a slow-propagating grant is waited for and never
undone, and a fix that Azure Policy or pullfix's own rights would refuse is decided as blocked
before any write — the twin's write journal and request stats show no attempt."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from prefect import tags

from flows.remediate import remediate_cluster
from simulator.scenario import ScenarioDoc, read_scenario, scenario_names
from tests.scenariolib import WORKER_TAG
from tests.simharness import ROOT, Sim
from tests.test_remediate import _Approver

WRITES = ("PUT ", "PATCH ", "DELETE ")


def _remediation(name: str) -> Any:
    doc, _ = read_scenario(name)
    return ScenarioDoc.model_validate(doc).expect.remediation


SCENARIOS = [n for n in scenario_names() if n != "demo" and _remediation(n) is not None]


def _policy(name: str) -> str:
    for folder in (ROOT / "policies", ROOT / "tests" / "policies"):
        if (folder / f"{name}.yaml").exists():
            return str(folder / f"{name}.yaml")
    raise AssertionError(f"no policy named {name}")


def test_the_library_has_multi_cause_and_blocked_scenarios() -> None:
    assert {"dns-hides-missing-role", "vmss-identity-and-missing-role", "dns-and-firewall",
            "role-and-pull-secret", "three-causes", "role-propagation-ten-minutes",
            "egress-fix-denied-by-policy", "fixer-cannot-assign-roles"} <= set(SCENARIOS)


@pytest.mark.parametrize("name", SCENARIOS)
def test_remediation_ends_as_the_scenario_expects(name: str, sim_pool: Any,
                                                  sim_env: Callable[[Sim], None],
                                                  prefect_harness: None) -> None:
    want = _remediation(name)
    sim: Sim = sim_pool.get(name)
    sim_env(sim)
    approver = _Approver()  # answers sign-offs where the policy allows UI approvals
    try:
        with tags(WORKER_TAG):
            report = remediate_cluster(cluster=want.cluster, policy=_policy(want.policy),
                                       sign_off="wait", verify_seconds=30,
                                       propagation_seconds=90, approval_poll_seconds=1)
    finally:
        approver.stop.set()
    outcomes = {r.fix: (r.outcome.value, r.reason) for r in report.records}
    assert report.outcome.value == want.outcome, (report.summary, outcomes,
                                                  [p.model_dump() for p in report.passes])
    for fix in want.kept:
        assert outcomes.get(fix, ("missing",))[0] == "applied", (fix, outcomes)
    assert not [f for f, (o, _) in outcomes.items() if o in ("rolled_back", "failed")], outcomes
    for fix, fragment in want.blocked.items():
        outcome, reason = outcomes[fix]
        assert outcome in ("blocked", "not_permitted") and fragment in reason, (fix, outcome,
                                                                                 reason)
    assert len(report.passes) >= want.min_passes, [p.model_dump() for p in report.passes]
    if want.outcome == "healed":
        assert report.remaining == []
    if want.writes is not None:
        assert len(sim.journal()) == want.writes, sim.journal()
        attempts = {k: v for k, v in sim.stats().items() if k.startswith(WRITES)}
        assert attempts == {}, attempts


@pytest.mark.parametrize("name,fix,fragment", [
    ("fixer-cannot-assign-roles", "grant-pull-role",
     "pullfix needs Microsoft.Authorization/roleAssignments/write on "),
    ("egress-fix-denied-by-policy", "allow-cluster-egress-on-registry",
     "blocked by policy assignment 'deny-public-acr'"),
])
def test_diagnose_says_which_planned_fix_azure_would_refuse_and_why(
        name: str, fix: str, fragment: str, sim_pool: Any, sim_env: Callable[[Sim], None],
        prefect_harness: None) -> None:
    from flows.diagnose import diagnose_cluster_flow

    sim: Sim = sim_pool.get(name)
    sim_env(sim)
    result = diagnose_cluster_flow(cluster="aks-app")
    [plan] = [p for p in result["plans"] if p["fix"] == fix]
    assert plan["blocked"] and fragment in plan["blocked"], plan
    assert sim.journal() == []
    assert {k: v for k, v in sim.stats().items() if k.startswith(WRITES)} == {}
