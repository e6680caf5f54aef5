"""Remediation of one cluster, as the design's run diagram reads:

diagnose → plan → decide (policy) → [sign-off] → apply in a transaction with a rollback hook
→ verify (the resolved checks pass, the pod really pulls) → roll back on failed verification
→ report (artifacts: evidence, plan, decision, approval, changes, verification).
"""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.context import get_run_context
from prefect.flow_runs import pause_flow_run, resume_flow_run
from prefect.input import RunInput
from prefect.transactions import get_transaction, transaction

from policies.decide import decide
from policies.model import load_policy
from tasks.approval import (
    ApprovalError,
    approver_allowed,
    bind_token,
    resolve_approvers,
    verify_token,
)
from tasks.clients import Clients
from tasks.contract import Target
from tasks.errors import describe
from tasks.fix import FixPlan, FixResult, load_fixes
from tasks.reads import Reads
from tasks.remediate import FixRecord, Outcome, apply_fix, planned_fixes, rollback_fix, verify
from tasks.resolve import resolve_cluster
from tasks.runner import diagnose_cluster_task


class Approval(RunInput):
    """What an approver sends (``pullfix approve`` / ``reject``, or the Prefect UI form)."""

    plan_hash: str
    run_id: str = ""  # the flow run being approved: an approval binds to one run and plan
    approve: bool = False
    token: str = ""  # the approver's Entra access token; removed once verified
    comment: str = ""
    timed_out: bool = False  # sent by the flow's own deadline guard


class VerificationFailed(Exception):
    pass


@task(name="apply-fix", task_run_name="apply-{plan.fix}", cache_policy=NO_CACHE,
      persist_result=False)
def apply_task(plan: FixPlan, reads: Reads) -> FixResult:
    result = apply_fix(plan, reads)
    # the rollback hook receives this task's transaction: give it what undoing needs (values
    # are deep-copied on read, so the clients stay in _READS, keyed by the plan)
    txn = get_transaction()
    if txn is not None:
        txn.set("result", result)
        _READS[plan.hash] = reads
    return result


_READS: dict[str, Reads] = {}


@apply_task.on_rollback
def _undo(txn: Any) -> None:
    result: FixResult | None = txn.get("result", None)
    if result is not None:
        rollback_fix(result, _READS.pop(result.plan_hash))


def _apply_and_verify(plan: FixPlan, target: Target, reads: Reads, verify_seconds: float
                      ) -> tuple[Outcome, str, FixResult | None, dict[str, Any]]:
    detail: dict[str, Any] = {}
    result: FixResult | None = None
    try:
        # keyed by plan *and* run: a key alone would make a later run of the same plan (after
        # someone reverted the fix) find the old commit and skip the work
        run_id = get_run_context().flow_run.id  # type: ignore[union-attr]
        with transaction(key=f"fix-{plan.hash[:24]}-{run_id}", write_on_commit=False):
            result = apply_task(plan, reads)
            ok, detail = verify(plan, target, reads, seconds=verify_seconds)
            if not ok:
                raise VerificationFailed(detail)
    except VerificationFailed:
        why = "verification failed: " + (
            "; ".join(f"{k}: {v}" for k, v in detail.get("failing", {}).items())
            or "the pod still cannot pull")
        if not load_fixes()[plan.fix].reversible:
            return Outcome.FAILED, why + " (not reversible: left in place)", result, detail
        return Outcome.ROLLED_BACK, why + "; rolled back", result, detail
    except Exception as exc:  # noqa: BLE001 - a failed apply is recorded with its reason
        return Outcome.FAILED, f"apply failed: {describe(exc)}", result, detail
    return Outcome.APPLIED, "applied and verified", result, detail


def _await_approval(plan: FixPlan, timeout: int, poll: int) -> tuple[Approval, dt.datetime]:
    """Pause for a typed approval; a guard submits a rejection just before the deadline so a
    timeout expires cleanly (a paused run that times out would fail the whole run). Returns
    the answer and when the pause began (an approver's token must be newer)."""
    ctx = get_run_context()
    run_id = ctx.flow_run.id  # type: ignore[union-attr]
    asked_at = dt.datetime.now(dt.UTC)
    key = f"approve-{plan.hash[:16]}"
    guard = threading.Timer(max(1.0, timeout - 2 * poll - 1), lambda: _expire(run_id, plan))
    guard.daemon = True
    guard.start()
    try:
        approval: Approval = pause_flow_run(
            wait_for_input=Approval.with_initial_data(
                plan_hash=plan.hash, run_id=str(run_id),
                description=f"Approve {plan.fix} on {plan.cluster.name}: {plan.summary} "
                f"[plan {plan.hash}]"),
            timeout=timeout, poll_interval=poll, key=key)
    finally:
        guard.cancel()
    _forget_input(run_id, key)
    return approval, asked_at


def _expire(run_id: Any, plan: FixPlan) -> None:
    try:
        resume_flow_run(run_id, run_input={"plan_hash": plan.hash, "approve": False,
                                           "timed_out": True, "comment": "approval timed out"})
    except Exception:  # noqa: BLE001 - already resumed by an approver: nothing to expire
        return


def _forget_input(run_id: Any, key: str) -> None:
    """No token stays in Prefect's database: delete the stored run input."""
    from prefect.input.actions import delete_flow_run_input

    for suffix in ("response",):
        try:
            delete_flow_run_input(key=f"paused-{key}-{suffix}", flow_run_id=run_id)
        except Exception as exc:  # noqa: BLE001 - logged: the operator must know
            get_run_logger().warning("could not delete the approval input %s: %s", key,
                                     describe(exc))


def _signed_off(plan: FixPlan, target: Target, reads: Reads, decision: Any, timeout: int,
                poll: int, allow_ui: bool) -> tuple[bool, str, dict[str, Any]]:
    # who may approve, as object ids, before anyone is asked: a policy whose group name two
    # Entra groups share would otherwise let a member of the wrong one approve
    resolved = None
    if not allow_ui:
        try:
            resolved = resolve_approvers(reads, list(decision.approvers))
        except ApprovalError as exc:
            return False, f"{exc}: nothing applied", {}
    approval, asked_at = _await_approval(plan, timeout, poll)
    run_id = str(get_run_context().flow_run.id)  # type: ignore[union-attr]
    if approval.timed_out:
        return False, f"no decision within {timeout}s: nothing applied", {}
    if not approval.approve:
        return False, f"rejected{': ' + approval.comment if approval.comment else ''}", {}
    if approval.plan_hash != plan.hash:
        return False, "the approval is for another plan: nothing applied", {}
    if approval.run_id != run_id:
        return False, (f"the approval is for run {approval.run_id or '(none)'}, not this run "
                       f"{run_id}: nothing applied"), {}
    fresh = load_fixes()[plan.fix]().plan(target, _finding_for(plan), Reads(reads.clients))
    if fresh is None or fresh.hash != plan.hash:
        return False, "the plan changed since it was approved: nothing applied", {}
    if not approval.token:
        if allow_ui:
            return True, "approved in the Prefect UI (policy allows unauthenticated approvals)", \
                {"approver": "unauthenticated (Prefect UI)", "comment": approval.comment}
        return False, "the approval carries no verifiable identity: nothing applied", {}
    try:
        claims = verify_token(reads, approval.token, reads.tenant_id())
        if resolved is None:
            resolved = resolve_approvers(reads, list(decision.approvers))
        who = approver_allowed(reads, claims, resolved)
        token_id = bind_token(claims, asked_at=asked_at, run_id=run_id, plan_hash=plan.hash,
                              approver=who.object_id)
    except ApprovalError as exc:
        return False, f"{exc}: nothing applied", {}
    return True, f"approved by {who.name}", {"approver": who.model_dump(),
                                             "comment": approval.comment,
                                             "plan_hash": plan.hash, "run_id": run_id,
                                             "token_id": token_id,
                                             "verified": "Entra token (JWKS), Graph membership"}


_FINDINGS: dict[str, Any] = {}


def _finding_for(plan: FixPlan) -> Any:
    return _FINDINGS[plan.hash]


@flow(name="remediate-cluster", log_prints=False, persist_result=False)
def remediate_cluster(cluster: str, policy: str = "policies/default.yaml",
                      sign_off: str = "wait", verify_seconds: float = 180,
                      approval_poll_seconds: int = 10, changes_before: int = 0
                      ) -> dict[str, Any]:
    """Remediate one cluster under a policy file. ``sign_off``: ``wait`` pauses for each
    sign-off (for one-off runs), ``defer`` leaves them pending (for sweeps)."""
    pol = load_policy(policy)
    reads = Reads(Clients())
    ref = resolve_cluster(reads, cluster)
    diagnosis = diagnose_cluster_task(reads, ref)
    cluster_doc = reads.cluster(ref)
    subs = dict(reads.subscriptions())
    plans = planned_fixes(reads, diagnosis)
    from tasks.checks.fixer_has_permissions import missing_permissions

    missing = missing_permissions([p.fix for p, _, _ in plans], plans[0][2], reads) if plans \
        else {}
    records: list[FixRecord] = []
    changes = 0
    for plan, finding, target in plans:
        _FINDINGS[plan.hash] = finding
        decision = decide(plan, pol, cluster_tags=dict(cluster_doc.tags or {}),
                          subscription=ref.subscription_id,
                          subscription_name=subs.get(ref.subscription_id, ""),
                          resource_group=ref.resource_group,
                          now=dt.datetime.now(dt.UTC), changes_so_far_run=changes,
                          changes_so_far_sweep=changes_before + changes)
        d = decision.model_dump(mode="json")
        outcome_word = str(decision.outcome)
        if plan.fix in missing:
            records.append(FixRecord(fix=plan.fix, plan=plan, outcome=Outcome.NOT_PERMITTED,
                                     reason=missing[plan.fix], decision=d))
            continue
        if outcome_word == "deny":
            records.append(FixRecord(fix=plan.fix, plan=plan, outcome=Outcome.DENIED,
                                     reason=decision.reason, decision=d))
            continue
        if outcome_word == "plan-only":
            records.append(FixRecord(fix=plan.fix, plan=plan, outcome=Outcome.PLANNED,
                                     reason=decision.reason, decision=d))
            continue
        if outcome_word in ("out-of-scope", "outside-window", "cap-reached"):
            records.append(FixRecord(fix=plan.fix, plan=plan, outcome=Outcome.SKIPPED,
                                     reason=decision.reason, decision=d))
            continue
        approval: dict[str, Any] = {}
        if outcome_word == "sign-off":
            if sign_off == "defer":
                records.append(FixRecord(fix=plan.fix, plan=plan,
                                         outcome=Outcome.AWAITING_SIGN_OFF,
                                         reason=decision.reason, decision=d))
                continue
            ok, why, approval = _signed_off(plan, target, reads, decision,
                                            int(decision.approval_timeout),
                                            approval_poll_seconds,
                                            pol.allow_unauthenticated_ui_approvals)
            if not ok:
                records.append(FixRecord(fix=plan.fix, plan=plan, outcome=Outcome.REJECTED,
                                         reason=why, decision=d))
                continue
        outcome, why, result, detail = _apply_and_verify(plan, target, reads, verify_seconds)
        changes += len(plan.changes)
        records.append(FixRecord(fix=plan.fix, plan=plan, outcome=outcome, reason=why,
                                 decision=d, approval=approval, result=result,
                                 verification=detail))
    summary = {
        "cluster": ref.name, "id": ref.id, "policy": policy, "mode": pol.mode,
        "failing_checks": diagnosis.failing_checks,
        "records": [r.model_dump(mode="json") for r in records],
        "counts": {o.value: sum(1 for r in records if r.outcome == o) for o in Outcome},
        "changes": changes,
    }
    _publish(ref.name, summary)
    return summary


def _publish(name: str, summary: dict[str, Any]) -> None:
    key = "remediation-" + "".join(c if c.isalnum() else "-" for c in name.lower())[:40]
    lines = [f"# Remediation of `{summary['cluster']}`", "", f"Policy `{summary['policy']}` "
             f"(mode {summary['mode']}); failing checks: "
             f"{', '.join(summary['failing_checks']) or 'none'}", ""]
    for r in summary["records"]:
        plan = r["plan"]
        lines += [f"## {r['fix']} — {r['outcome']}", "", f"{plan['summary']}", "",
                  f"- plan `{plan['changes'] and r['plan'].get('fix')}` risk {plan['risk']}, "
                  f"decision: {r['decision'].get('outcome')} ({r['decision'].get('reason')})",
                  f"- outcome: {r['reason']}"]
        if r["approval"]:
            lines.append(f"- approval: {r['approval'].get('approver')}")
        for c in plan["changes"]:
            lines.append(f"- change: {c['operation']} `{c['resource']}` via {c['api']}: "
                         f"{c['before']} → {c['after']}")
        if r["verification"]:
            lines.append(f"- verification: {r['verification']}")
        lines.append("")
    create_markdown_artifact(key=key, markdown="\n".join(lines),
                             description=f"pullfix remediation of {summary['id']}")
    create_table_artifact(key=key + "-fixes", table=[
        {"fix": r["fix"], "outcome": r["outcome"], "reason": r["reason"]}
        for r in summary["records"]] or [{"fix": "-", "outcome": "nothing to do", "reason": ""}])
