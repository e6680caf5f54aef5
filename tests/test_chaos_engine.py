"""Engine bugs the chaos suite found, each pinned by a test that fails without its fix."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tasks.diagnose import diagnose_cluster
from tasks.reads import Reads
from tasks.resolve import resolve_cluster
from tests.chaos_campaign import POLICY
from tests.chaoslib import pullfix
from tests.simharness import Sim


@pytest.mark.scenario("missing-pull-role")
def test_a_registry_lookup_that_fails_is_reported_not_raised(sim: Sim) -> None:
    # given ARM fails every registry list (the SDK's retries exhausted), as a bad minute does —
    # before the fix, the exception escaped diagnose_cluster and took the whole sweep down
    # with it: every other cluster's finding was lost
    sim.fault(method="GET", path="/providers/Microsoft.ContainerRegistry/registries$",
              status=500)
    reads = Reads(sim.clients())
    ref = resolve_cluster(reads, "aks-app")
    # when the cluster is diagnosed
    d = diagnose_cluster(reads, ref)
    # then the diagnosis says it could not look the registry up, with ARM's error, and keeps
    # the failing pods it found
    assert d.error == ("cannot look up the registry of contosoapp.azurecr.io/app/web:v1: "
                       "500 InternalServerError: Injected fault: InternalServerError (500) for "
                       f"GET /subscriptions/{sim.subscription}/providers/"
                       "Microsoft.ContainerRegistry/registries.")
    assert len(d.pods) == 2 and d.findings == ()


@pytest.mark.scenario("missing-pull-role")
def test_a_remediation_run_that_fails_is_reported_and_the_sweep_goes_on(sim: Sim,
                                                                         tmp_path: Path) -> None:
    # given ARM answers the sweep's two subscription lists, then fails every later one (the
    # remediation's own lookup of the cluster) — before the fix, the failed remediation run
    # ended the whole apply sweep: no report, and every cluster after it lost
    sim.fault(method="GET", path="^/subscriptions$", status=500, skip=2)
    # when an apply sweep runs
    out = pullfix(sim, tmp_path / "home", "sweep", "--mode", "apply", "--policy", POLICY,
                  "-o", "json")
    # then it finishes (exit 1: a cluster left unhealed) and reports the cluster as failed,
    # with ARM's error
    assert out.returncode == 1, out.stderr[-3000:]
    [r] = json.loads(out.stdout)["remediations"]
    assert (r["cluster"], r["outcome"]) == ("aks-app", "failed")
    assert r["summary"] == ("the remediation run failed: 500 InternalServerError: Injected fault: "
                            "InternalServerError (500) for GET /subscriptions.")
    assert r["failing_checks"] == ["kubelet-identity-has-pull-role"]


@pytest.mark.scenario("missing-pull-role")
def test_a_fix_undone_because_its_verification_could_not_read_is_audited(sim: Sim,
                                                                         tmp_path: Path) -> None:
    from tests.chaoslib import audit_records

    # given the Kubernetes API answers the diagnosis's pod list, then fails every later one
    # (the verification's) — before the fix, the transaction's hook deleted the new role
    # assignment and the audit log said only "failed": a change undone with no record, and
    # the next run granted it again
    sim.fault(method="GET", path="^/k8s/.*/pods$", status=500, skip=1)
    # when the cluster is remediated
    out = pullfix(sim, tmp_path / "home", "remediate", "--cluster", "aks-app", "--policy",
                  POLICY, "-o", "json")
    assert out.returncode == 1, out.stderr[-3000:]  # the cluster is not healed
    # then the grant is reported and audited as rolled back, with why
    [rec] = json.loads(out.stdout)["records"]
    assert (rec["fix"], rec["outcome"]) == ("grant-pull-role", "rolled_back")
    assert rec["reason"].startswith("could not verify it: 500 Internal Server Error: Injected "
                                    "fault: InternalServerError (500) for GET /k8s/")
    assert [e["method"] for e in sim.journal()] == ["PUT", "DELETE"]
    kinds = [r["kind"] for r in audit_records(tmp_path / "home")]
    assert kinds[kinds.index("change"):] == ["change", "rollback", "run-ended"]


@pytest.mark.scenario("healthy")
def test_an_intent_left_by_a_killed_run_on_a_cluster_now_healthy_is_reconciled(
        sim: Sim, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tasks.audit import steps
    from tasks.fix import Change, FixPlan, Risk
    from tests.chaoslib import audit_records, open_intents

    # given an intent a killed run left on a cluster its write healed (chaos found this: the
    # next sweep saw no failing pod, remediated nothing, and the intent stayed open forever)
    home = tmp_path / "home"
    monkeypatch.setenv("PULLFIX_HOME", str(home))
    reads = Reads(sim.clients())
    ref = resolve_cluster(reads, "aks-app")
    plan = FixPlan(fix="grant-pull-role", cluster=ref, summary="grant AcrPull", risk=Risk.LOW,
                   resolves=("kubelet-identity-has-pull-role",), reversible=True,
                   changes=(Change(resource=f"{ref.id}/x", operation="create", api="ARM PUT"),))
    seq = steps.intent(run_id="killed-run", plan=plan)
    assert open_intents(audit_records(home)) == [seq]
    # when an apply sweep runs
    out = pullfix(sim, home, "sweep", "--mode", "apply", "--policy", POLICY, "-o", "json")
    assert out.returncode == 0, out.stderr[-3000:]
    # then the intent is reconciled as found in place, and verified
    records = audit_records(home)
    assert open_intents(records) == []
    [rec] = [r for r in records if r["kind"] == "reconciled"]
    assert rec["data"]["applied"] is True and rec["data"]["intent"] == seq
    assert rec["data"]["reason"] == "found in place by a later run"
    [ver] = [r for r in records if r["kind"] == "verification"]
    assert ver["data"]["ok"] is True
