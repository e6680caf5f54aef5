"""The typed step recorders take the objects the flow already holds — a ``FixPlan``, the
policy's ``Decision``, the verified ``Approver``, the ``FixResult`` — and leave a run that
``audit verify`` finds intact and complete."""

from __future__ import annotations

from pathlib import Path

import pytest

from policies.decide import Decision
from tasks import audit
from tasks.approval import Approver
from tasks.audit import Kind, SecretInAuditRecord, completeness, steps, store, verify_chain
from tasks.contract import ClusterRef
from tasks.fix import Change, FixPlan, FixResult, Risk
from tests.auditlib import CLUSTER, ROOT

REF = ClusterRef(subscription_id="00000000-0000-0000-0000-000000000001", resource_group="rg-apps",
                 name="aks-prod", id=CLUSTER)
ASSIGNMENT = "/subscriptions/00000000-0000-0000-0000-000000000001/providers/Microsoft.Authorization/" \
             "roleAssignments/3f2a"


@pytest.fixture(autouse=True)
def own_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PULLFIX_AUDIT_URL", f"sqlite:///{tmp_path / 'audit.db'}")


def grant_plan() -> FixPlan:
    return FixPlan(fix="grant-pull-role", cluster=REF, summary="grant AcrPull on acrprod",
                   resolves=("kubelet-identity-has-pull-role",), risk=Risk.LOW, reversible=True,
                   changes=(Change(resource=ASSIGNMENT, operation="create",
                                   api="ARM PUT roleAssignments",
                                   after={"role": "AcrPull", "principal": "kubelet-oid"}),))


def test_a_signed_off_remediation_recorded_step_by_step_verifies() -> None:
    # given a run that records each step with the objects the flow holds
    plan, run = grant_plan(), "run-1"
    policy = ROOT / "policies" / "prod.yaml"
    audit.record(Kind.RUN_STARTED, {"policy": "policies/prod.yaml"}, run_id=run, cluster=REF.id)
    audit.record(Kind.EVIDENCE, {"findings": [], "root_causes": [
        {"check": "kubelet-identity-has-pull-role"}]}, run_id=run, cluster=REF.id)
    steps.plan(run_id=run, plan=plan)
    steps.decision(run_id=run, plan=plan, policy="policies/prod.yaml",
                   policy_hash=steps.file_hash(policy),
                   decision=Decision(outcome="sign-off", fix=plan.fix, plan_hash=plan.hash,
                                     approvers=("group:pullfix-approvers",),
                                     reason="fixes.grant-pull-role: sign-off"))
    steps.approval(run_id=run, plan=plan, verified="Entra token (JWKS), Graph membership",
                   approver=Approver(object_id="5b1f", name="Alice", tenant_id="t", kind="user"),
                   comment="ok", token_id="uti-1")
    seq = steps.intent(run_id=run, plan=plan)
    result = FixResult(fix=plan.fix, plan_hash=plan.hash, applied=plan.changes)
    audit.outcome(seq, applied=True,
                  change=steps.result_change(result, x_ms_request_id="req-9", x_ms_correlation_request_id=""))
    steps.verification(run_id=run, plan=plan, ok=True, detail={"pod": "apps/web-1 pulled"})
    audit.record(Kind.RUN_ENDED, {"counts": {"applied": 1}}, run_id=run, cluster=REF.id)
    # then the chain is intact and the change complete
    recs = store().records()
    assert verify_chain(recs, store().head()) == []
    assert completeness(recs) == ([], [])
    # and the records carry what the auditor reads
    by_kind = {r.kind: r.payload for r in recs}
    assert by_kind["plan"]["plan_hash"] == plan.hash
    assert (by_kind["decision"]["outcome"], by_kind["decision"]["rule"],
            by_kind["decision"]["policy_hash"]) == ("sign-off", "fixes.grant-pull-role: sign-off",
                                                    steps.file_hash(policy))
    assert by_kind["approval"]["approver"]["object_id"] == "5b1f"
    assert by_kind["change"]["change"] == {"applied": [plan.changes[0].model_dump(mode="json")],
                                           "data": {}, "x-ms-request-id": "req-9"}


def test_a_rejection_names_who_and_why() -> None:
    plan = grant_plan()
    seq = steps.rejection(run_id="run-1", plan=plan, reason="rejected: not during the freeze",
                          by={"object_id": "7c2e", "name": "Bob"}, comment="not during the freeze")
    rec = store().records(seq=seq)[0]
    assert (rec.kind, rec.payload["by"]["name"], rec.payload["plan_hash"]) == ("rejection", "Bob",
                                                                                plan.hash)


def test_a_plan_holding_a_secret_value_is_refused() -> None:
    # given a plan whose change shows a credential's value
    plan = grant_plan().model_copy(update={"changes": (Change(
        resource=ASSIGNMENT, operation="update", api="ARM POST resetServicePrincipalProfile",
        after={"client_id": "app-1", "secret": "Zx8Q~value"}),)})
    # then recording it is refused, naming where
    with pytest.raises(SecretInAuditRecord, match=r"^audit record refused: data\.changes\[0\]\.after"
                                                  r"\.secret holds a value under a secret's name"):
        steps.plan(run_id="run-1", plan=plan)
