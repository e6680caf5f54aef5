"""Remediation of one cluster, as the design's run diagram reads. It heals a *cluster*, not a
fix: a loop of passes, each

    diagnose → plan → pre-flight (rights, Azure Policy) → decide (policy) → [sign-off]
    → apply in a transaction, judged by the fix's own checks (rolled back only if they fail
      or it broke a check that passed) → let the pods try again

until no pod fails, or a pass makes no progress, bounded by the policy's passes and caps. One
cause can hide another (a 403 from the public endpoint hides a missing pull role), so the next
pass finds it. A change Azure honours later is waited for (``verification.propagation``) and
reported as propagating, never undone for it. The verdict — the pods really pull — is the
cluster's, at the end. Artifacts: the report with every pass and every fix's evidence, plan,
decision, approval, change and verification.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import threading
from dataclasses import dataclass
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.context import get_run_context
from prefect.flow_runs import pause_flow_run, resume_flow_run
from prefect.input import RunInput
from prefect.transactions import get_transaction, transaction

from flows.runs import REPORT_KEY, WAITING_KEY, pause_key, post_report, waiting_run_for
from policies.decide import Decision, decide
from policies.model import Policy, duration_seconds, load_policy
from tasks import audit
from tasks.approval import (
    ApprovalError,
    Approvers,
    approver_allowed,
    bind_token,
    resolve_approvers,
    verify_token,
)
from tasks.audit import steps as audit_steps
from tasks.clients import Clients
from tasks.contract import ClusterRef, Finding, Frozen, Target
from tasks.diagnose import ClusterDiagnosis
from tasks.errors import describe
from tasks.fix import FixPlan, FixResult, load_fixes
from tasks.preflight import preflight
from tasks.reads import Reads
from tasks.remediate import (
    KEPT,
    ClusterOutcome,
    FixRecord,
    Outcome,
    PassRecord,
    RemediationReport,
    apply_fix,
    passing_checks,
    planned_fixes,
    regressions,
    rollback_fix,
    still_failing,
    verify_own,
    wait_for_pulls,
)
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


class Bounds(Frozen):
    """How long this run waits, in seconds (the policy's ``verification``, or the caller's)."""

    fix_checks: float
    propagation: float
    max_passes: int
    approval_poll: int


# --- apply, in a transaction with a rollback hook ------------------------------------------
@task(name="apply-fix", task_run_name="apply-{plan.fix}", cache_policy=NO_CACHE,
      persist_result=False)
def apply_task(plan: FixPlan, reads: Reads) -> FixResult:
    result = apply_fix(plan, reads)
    txn = get_transaction()
    if txn is not None:
        txn.set("result", result)  # what undoing needs: ids this run created, no secrets
    return result


@apply_task.on_rollback
def _undo(txn: Any) -> None:
    result: FixResult | None = txn.get("result", None)
    if result is not None:
        # the hook runs without the flow's objects: it builds its clients from the
        # environment, as the flow did
        rollback_fix(result, Reads(Clients()))


def _apply_and_judge(plan: FixPlan, target: Target, reads: Reads, *, passed_before: list[str],
                     bounds: Bounds) -> tuple[Outcome, str, FixResult | None, dict[str, Any]]:
    """Apply one fix and judge it by what it claims: its own checks pass (bounded wait) and
    nothing that passed before fails now; otherwise undo it (if it can be undone). The audit
    log gets the intent before the first write and its outcome after, so a process that dies
    in between leaves an open intent the next run reconciles."""
    detail: dict[str, Any] = {}
    result: FixResult | None = None
    cls = load_fixes()[plan.fix]
    run_id = str(get_run_context().flow_run.id)  # type: ignore[union-attr]
    intent = audit_steps.intent(run_id=run_id, plan=plan)
    outcome_recorded = False
    try:
        # keyed by plan *and* run: a key alone would make a later run of the same plan (after
        # someone reverted the fix) find the old commit and skip the work
        with transaction(key=f"fix-{plan.hash[:24]}-{run_id}", write_on_commit=False):
            try:
                result = apply_task(plan, reads)
            except Exception as exc:
                audit.outcome(intent, applied=False, reason=f"apply failed: {describe(exc)}")
                outcome_recorded = True
                raise
            audit.outcome(intent, applied=True, change=audit_steps.result_change(result),
                          reason="applied")
            outcome_recorded = True
            ok, detail = verify_own(plan, target, reads, seconds=bounds.fix_checks)
            if ok:
                broke = regressions(passed_before, target, reads)
                if broke:
                    detail["broke"] = broke
                    ok = False
            audit_steps.verification(run_id=run_id, plan=plan, ok=ok, detail=detail)
            if not ok:
                raise VerificationFailed(detail)
    except VerificationFailed:
        why = "its own checks still fail: " + "; ".join(
            f"{k}: {v}" for k, v in detail.get("failing", {}).items()) if detail.get("failing") \
            else "it broke checks that passed before: " + "; ".join(
                f"{k}: {v}" for k, v in detail.get("broke", {}).items())
        if not cls.reversible:
            return Outcome.FAILED, why + " (not reversible: left in place)", result, detail
        audit_steps.rollback(run_id=run_id, plan=plan, reason=why, result=result)
        return Outcome.ROLLED_BACK, why + "; rolled back", result, detail
    except Exception as exc:  # noqa: BLE001 - a failed apply is recorded with its reason
        if not outcome_recorded:
            audit.outcome(intent, applied=False, reason=f"apply failed: {describe(exc)}")
            return Outcome.FAILED, f"apply failed: {describe(exc)}", result, detail
        # applied, then judging it failed (a read that kept failing): the transaction's hook
        # has undone the change, and the audit log must say so
        why = f"could not verify it: {describe(exc)}"
        if not cls.reversible:
            return Outcome.FAILED, why + " (not reversible: left in place)", result, detail
        audit_steps.rollback(run_id=run_id, plan=plan, reason=why, result=result)
        return Outcome.ROLLED_BACK, why + "; rolled back", result, detail
    return Outcome.APPLIED, "applied; its own checks pass", result, detail


# --- sign-off ---------------------------------------------------------------------------------
def _await_approval(plan: FixPlan, timeout: int, poll: int) -> tuple[Approval, dt.datetime]:
    """Pause for a typed approval; a guard submits a rejection just before the deadline so a
    timeout expires cleanly (a paused run that times out would fail the whole run). Returns
    the answer and when the pause began (an approver's token must be newer)."""
    ctx = get_run_context()
    run_id = ctx.flow_run.id  # type: ignore[union-attr]
    asked_at = dt.datetime.now(dt.UTC)
    key = pause_key(plan.hash)
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

    try:
        delete_flow_run_input(key=f"paused-{key}-response", flow_run_id=run_id)
    except Exception as exc:  # noqa: BLE001 - logged: the operator must know
        get_run_logger().warning("could not delete the approval input %s: %s", key,
                                 describe(exc))


def _signed_off(plan: FixPlan, finding: Finding, target: Target, reads: Reads,
                decision: Decision, poll: int, allow_ui: bool
                ) -> tuple[bool, str, dict[str, Any]]:
    # who may approve, as object ids, before anyone is asked: a policy whose group name two
    # Entra groups share would otherwise let a member of the wrong one approve
    resolved: Approvers | None = None
    if not allow_ui:
        try:
            resolved = resolve_approvers(reads, list(decision.approvers))
        except ApprovalError as exc:
            return False, f"{exc}: nothing applied", {}
    timeout = int(decision.approval_timeout)
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
    fresh = load_fixes()[plan.fix]().plan(target, finding, Reads(reads.clients))
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


# --- one planned fix: pre-flight, decision, sign-off, apply -----------------------------------
class _Place(Frozen):
    """Where the cluster sits, for the policy: its tags, subscription, group."""

    ref: ClusterRef
    tags: dict[str, str]
    subscription_name: str
    policy: str
    policy_hash: str


def _decide(plan: FixPlan, ctx: _Ctx, *, changes_run: int) -> Decision:
    place = ctx.place
    return decide(plan, ctx.pol, cluster_tags=place.tags, subscription=place.ref.subscription_id,
                  subscription_name=place.subscription_name,
                  resource_group=place.ref.resource_group, now=dt.datetime.now(dt.UTC),
                  changes_so_far_run=changes_run,
                  changes_so_far_sweep=ctx.changes_before + changes_run)


def _handle(plan: FixPlan, finding: Finding, target: Target, *, pass_no: int, ctx: _Ctx,
            reads: Reads, diagnosis: ClusterDiagnosis, sign_off: str,
            changes_run: int) -> FixRecord:
    decision = _decide(plan, ctx, changes_run=changes_run)
    d = decision.model_dump(mode="json")
    audit_steps.plan(run_id=ctx.run_id, plan=plan)
    audit_steps.decision(run_id=ctx.run_id, plan=plan, decision=decision,
                         policy=ctx.place.policy, policy_hash=ctx.place.policy_hash)

    def record(outcome: Outcome, reason: str) -> FixRecord:
        return FixRecord(fix=plan.fix, plan=plan, outcome=outcome, reason=reason,
                         pass_no=pass_no, decision=d)

    word = str(decision.outcome)
    if word in ("out-of-scope", "outside-window", "cap-reached"):
        return record(Outcome.SKIPPED, decision.reason)
    # a fix Azure would refuse is decided as blocked before anyone is asked or anything written
    blocked = preflight(plan, target, reads)
    if blocked is not None:
        return record(Outcome.BLOCKED if blocked.kind == "policy" else Outcome.NOT_PERMITTED,
                      f"blocked: {blocked.reason}")
    if word == "deny":
        return record(Outcome.DENIED, decision.reason)
    if word == "plan-only":
        return record(Outcome.PLANNED, decision.reason)
    if word == "sign-off" and sign_off == "defer":
        return record(Outcome.AWAITING_SIGN_OFF, decision.reason)
    if word == "sign-off":
        return _sign_off_then_apply(plan, finding, target, reads, decision=decision,
                                    diagnosis=diagnosis, pass_no=pass_no, ctx=ctx)
    outcome, why, result, detail = _apply_and_judge(
        plan, target, reads, passed_before=passing_checks(diagnosis, target),
        bounds=ctx.bounds)
    return FixRecord(fix=plan.fix, plan=plan, outcome=outcome, reason=why, pass_no=pass_no,
                     decision=d, result=result, verification=detail)


def _sign_off_then_apply(plan: FixPlan, finding: Finding, target: Target, reads: Reads, *,
                         decision: Decision, diagnosis: ClusterDiagnosis, pass_no: int,
                         ctx: _Ctx) -> FixRecord:
    """Ask (a typed pause), verify the answer, record it, and apply only an approved plan."""
    d = decision.model_dump(mode="json")
    ok, why, approval = _signed_off(plan, finding, target, reads, decision,
                                    ctx.bounds.approval_poll,
                                    ctx.pol.allow_unauthenticated_ui_approvals)
    if not ok:
        audit_steps.rejection(run_id=ctx.run_id, plan=plan, reason=why)
        return FixRecord(fix=plan.fix, plan=plan, outcome=Outcome.REJECTED, reason=why,
                         pass_no=pass_no, decision=d)
    approver = approval.get("approver")
    audit_steps.approval(run_id=ctx.run_id, plan=plan,
                         approver=approver if isinstance(approver, dict) else
                         {"object_id": "", "name": str(approver)},
                         verified=str(approval.get("verified", "Prefect UI form (no "
                                                              "identity; policy allows it)")),
                         comment=str(approval.get("comment", "")),
                         token_id=str(approval.get("token_id", "")))
    outcome, why, result, detail = _apply_and_judge(
        plan, target, reads, passed_before=passing_checks(diagnosis, target),
        bounds=ctx.bounds)
    return FixRecord(fix=plan.fix, plan=plan, outcome=outcome, reason=why, pass_no=pass_no,
                     decision=d, approval=approval, result=result, verification=detail)


# --- the loop -----------------------------------------------------------------------------------
def _bounds(pol: Policy, verify_seconds: float | None, propagation_seconds: float | None,
            approval_poll_seconds: int) -> Bounds:
    v = pol.verification
    return Bounds(
        fix_checks=verify_seconds if verify_seconds is not None else
        duration_seconds(v.fix_checks),
        propagation=propagation_seconds if propagation_seconds is not None else
        duration_seconds(v.propagation),
        max_passes=v.max_passes, approval_poll=approval_poll_seconds)


def _pods_signature(diagnosis: ClusterDiagnosis) -> set[tuple[str, str]]:
    return {(f"{r.pod.namespace}/{r.pod.name}", r.pod.message) for r in diagnosis.pods}


class _Run:
    """What one remediation has found and done so far (its passes feed its verdict)."""

    def __init__(self) -> None:
        self.records: list[FixRecord] = []
        self.passes: list[PassRecord] = []
        self.tried: set[str] = set()
        self.changes = 0
        self.first_failing: list[str] = []
        self.waited_for_propagation = False
        self.error: str | None = None
        # sign-offs left for after the passes (sign_off="after"): plan hash -> what asking needs
        self.asks: dict[str, tuple[FixPlan, Finding, Target, ClusterDiagnosis]] = {}


@dataclass(frozen=True)
class _Ctx:
    """What every pass of one run shares."""

    ref: ClusterRef
    pol: Policy
    place: _Place
    bounds: Bounds
    run_id: str
    changes_before: int


@flow(name="remediate-cluster", log_prints=False, persist_result=False)
def remediate_cluster(cluster: str, policy: str = "policies/default.yaml",
                      sign_off: str = "wait", verify_seconds: float | None = None,
                      propagation_seconds: float | None = None,
                      approval_poll_seconds: int = 10, changes_before: int = 0,
                      sweep_run_id: str = "") -> RemediationReport:
    """Remediate one cluster under a policy file until its pods pull or no pass makes
    progress. ``sign_off``: ``wait`` pauses for each sign-off when its fix comes up (one-off
    runs); ``after`` first does everything the policy allows, then pauses for each sign-off
    (a sweep's runs: the low-risk fixes do not wait for a person), one request per plan across
    runs; ``defer`` only records them (in-process sweeps). ``verify_seconds`` /
    ``propagation_seconds`` override the policy's ``verification`` bounds."""
    if sign_off not in SIGN_OFF_MODES:
        raise ValueError(f"unknown sign_off '{sign_off}'; valid: {', '.join(SIGN_OFF_MODES)}")
    pol = load_policy(policy)
    bounds = _bounds(pol, verify_seconds, propagation_seconds, approval_poll_seconds)
    reads = Reads(Clients())
    ref = resolve_cluster(reads, cluster)
    place = _Place(ref=ref, tags=dict(reads.cluster(ref).tags or {}),
                   subscription_name=dict(reads.subscriptions()).get(ref.subscription_id, ""),
                   policy=policy, policy_hash=audit_steps.file_hash(policy))
    run_id = str(get_run_context().flow_run.id)  # type: ignore[union-attr]
    _record_crashed_runs(run_id)
    audit.record(audit.Kind.RUN_STARTED, {"policy": policy, "policy_hash": place.policy_hash,
                                          "mode": pol.mode, "sweep": sweep_run_id,
                                          "host": socket.gethostname(), "pid": os.getpid()},
                 run_id=run_id, cluster=ref.id)
    ctx = _Ctx(ref=ref, pol=pol, place=place, bounds=bounds, run_id=run_id,
               changes_before=changes_before)
    st = _Run()
    _passes(st, ctx, reads, sign_off=sign_off)
    if sign_off == "after" and st.asks and st.error is None:
        if _ask_sign_offs(st, ctx, reads, policy=policy):
            _passes(st, ctx, reads, sign_off="after", more=True)
    report = _verdict(ref, policy, pol, st.records, st.passes, st.first_failing, st.changes,
                      st.error, reads)
    audit.record(audit.Kind.RUN_ENDED, {"outcome": report.outcome.value, "counts": report.counts,
                                        "changes": report.changes, "summary": report.summary,
                                        "remaining": report.remaining},
                 run_id=run_id, cluster=ref.id)
    _publish(report)
    post_report(report.as_json(), key=REPORT_KEY)
    return report


SIGN_OFF_MODES = ("wait", "after", "defer")


def _passes(st: _Run, ctx: _Ctx, reads: Reads, *, sign_off: str, more: bool = False) -> None:
    """Passes until no pod fails, nothing new can be done, or the policy's bound. ``more``:
    the passes after sign-offs were answered (one more look even at the bound)."""
    ref, bounds = ctx.ref, ctx.bounds
    first = len(st.passes) + 1
    last = max(bounds.max_passes, first) if more else bounds.max_passes
    for number in range(first, last + 1):
        diagnosis = diagnose_cluster_task(Reads(reads.clients), ref)
        if diagnosis.error:
            st.error = diagnosis.error
            break
        audit.record(audit.Kind.EVIDENCE, _evidence(diagnosis, number), run_id=ctx.run_id,
                     cluster=ref.id)
        if number == 1:
            st.first_failing = diagnosis.failing_checks
            _reconcile_intents(ref, diagnosis, reads, ctx.run_id)
        if not diagnosis.pods:
            st.passes.append(PassRecord(number=number, failing_pods=0, failing_checks=[],
                                        planned=[], applied=[], note="no pod fails to pull"))
            break
        plans = [p for p in planned_fixes(Reads(reads.clients), diagnosis)
                 if p[0].hash not in st.tried]
        if not plans:
            propagating = [r.fix for r in st.records
                           if r.outcome in KEPT and load_fixes()[r.fix].propagates]
            if st.asks and not more:
                # a sign-off is still to be asked: waiting for Azure first would keep the
                # person (and the pods) waiting for nothing
                st.passes.append(PassRecord(
                    number=number, failing_pods=len(diagnosis.pods),
                    failing_checks=diagnosis.failing_checks, planned=[], applied=[],
                    note=f"{len(st.asks)} sign-off(s) to ask before anything else"))
                break
            if propagating and not st.waited_for_propagation:
                # the right changes are made; Azure has not honoured them yet
                st.waited_for_propagation = True
                left = wait_for_pulls(reads, ref, seconds=bounds.propagation)
                st.passes.append(PassRecord(
                    number=number, failing_pods=len(diagnosis.pods),
                    failing_checks=diagnosis.failing_checks, planned=[], applied=[],
                    note=f"waited up to {int(bounds.propagation)}s for Azure to honour "
                         f"{', '.join(propagating)}: {len(left)} pod(s) still failing"))
                if not left:
                    break
                continue  # one more look: the pods may now show a cause the wait uncovered
            st.passes.append(PassRecord(number=number, failing_pods=len(diagnosis.pods),
                                        failing_checks=diagnosis.failing_checks, planned=[],
                                        applied=[], note="nothing new to do"))
            break
        applied: list[str] = []
        for plan, finding, target in plans:
            st.tried.add(plan.hash)
            rec = _handle(plan, finding, target, pass_no=number, ctx=ctx, reads=reads,
                          diagnosis=diagnosis,
                          sign_off="defer" if sign_off == "after" else sign_off,
                          changes_run=st.changes)
            if sign_off == "after" and rec.outcome == Outcome.AWAITING_SIGN_OFF:
                st.asks[plan.hash] = (plan, finding, target, diagnosis)
            st.records.append(rec)
            if rec.result is not None:
                st.changes += len(plan.changes)
            if rec.outcome in KEPT:
                applied.append(plan.fix)
        st.passes.append(PassRecord(number=number, failing_pods=len(diagnosis.pods),
                                    failing_checks=diagnosis.failing_checks,
                                    planned=[p.fix for p, _, _ in plans], applied=applied))
        if not applied:
            break  # no progress this pass: what is left waits for a person
        _settle(reads, ref, before=_pods_signature(diagnosis), seconds=bounds.fix_checks)


def _ask_sign_offs(st: _Run, ctx: _Ctx, reads: Reads, *, policy: str) -> bool:
    """After everything the policy allows is done: pause for each sign-off still wanted, one
    at a time (a sweep has already recorded this run as waiting: its report so far is posted
    first). A plan another run is already waiting on is not asked twice. True when an
    approved fix was kept."""
    kept = False
    for plan_hash, (plan, finding, target, diagnosis) in list(st.asks.items()):
        i = next(n for n, r in enumerate(st.records) if r.plan.hash == plan_hash)
        rec = st.records[i]
        other = waiting_run_for(plan_hash, exclude=ctx.run_id)
        if other:
            st.records[i] = rec.model_copy(update={"reason": (
                f"already waiting for sign-off in flow run {other} (one request per plan): "
                f"pullfix approve {other}")})
            continue
        decision = _decide(plan, ctx, changes_run=st.changes)
        if str(decision.outcome) != "sign-off":
            st.records[i] = rec.model_copy(update={
                "outcome": Outcome.SKIPPED, "reason": decision.reason,
                "decision": decision.model_dump(mode="json")})
            continue
        post_report(_verdict(ctx.ref, policy, ctx.pol, st.records, st.passes, st.first_failing,
                             st.changes, st.error, reads).as_json(), key=WAITING_KEY)
        new = _sign_off_then_apply(plan, finding, target, reads, decision=decision,
                                   diagnosis=diagnosis, pass_no=rec.pass_no, ctx=ctx)
        st.records[i] = new
        if new.result is not None:
            st.changes += len(plan.changes)
        kept = kept or new.outcome in KEPT
    return kept


def _evidence(diagnosis: ClusterDiagnosis, number: int) -> dict[str, Any]:
    """What a pass's plans rest on, for the audit log: each finding with its evidence lines
    (the raw data stays in the Prefect artifact)."""
    return {"pass": number, "failing_pods": sorted({f"{r.pod.namespace}/{r.pod.name}"
                                                    for r in diagnosis.pods}),
            "findings": [{"check": f.check, "status": f.status.value, "summary": f.summary,
                          "root_cause": f.root_cause,
                          "evidence": [f"{e.source}: {e.detail}" for e in f.evidence]}
                         for f in diagnosis.findings],
            "root_causes": [{"check": c.check, "key": c.key, "summary": c.summary}
                            for c in diagnosis.root_causes]}


def _reconcile_intents(ref: ClusterRef, diagnosis: ClusterDiagnosis, reads: Reads,
                       run_id: str) -> None:
    """A process that died between an intent and its outcome left a change recorded nowhere:
    look at the cloud now. If the same plan is still planned, its change is not there; if
    not, it was applied (the cause it fixed is gone)."""
    mine = [i for i in audit.open_intents() if i.cluster.lower() == ref.id.lower()
            and i.run_id != run_id]
    if not mine:
        return
    planned = {p.hash for p, _, _ in planned_fixes(Reads(reads.clients), diagnosis)}
    failing = set(diagnosis.failing_checks)
    for it in mine:
        applied = it.plan_hash not in planned
        audit.outcome(it.seq, applied=applied, reconciled_by=run_id,
                      reason="found in place by a later run" if applied else
                      "not in place: the same plan is still needed")
        if applied:
            resolves = list(load_fixes()[it.fix].resolves) if it.fix in load_fixes() else []
            still = sorted(failing & set(resolves))
            audit.record(audit.Kind.VERIFICATION, {
                "plan_hash": it.plan_hash, "fix": it.fix, "ok": not still,
                "detail": {"checks": resolves, "failing": still,
                           "by": "the run that reconciled the intent"}},
                run_id=run_id, cluster=ref.id)


def _process_alive(pid: int) -> bool:
    import os

    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _record_crashed_runs(run_id: str) -> None:
    """Runs that started and never ended: if Prefect says they are over, or they ran on this
    host in a process that no longer exists (Prefect would show them RUNNING forever), record
    them as crashed in the audit log and mark the Prefect run Crashed."""
    import socket
    from uuid import UUID

    from prefect import get_client
    from prefect.states import Crashed

    open_ = [r for r in audit.open_runs() if r.run_id != run_id]
    if not open_:
        return
    started = {r.run_id: r.payload for r in audit.store().records(
        kinds=(audit.Kind.RUN_STARTED.value,)) if r.run_id in {o.run_id for o in open_}}
    host = socket.gethostname()
    with get_client(sync_client=True) as client:
        for r in open_:
            info = started.get(r.run_id, {})
            try:
                state = client.read_flow_run(UUID(r.run_id)).state
            except Exception as exc:  # noqa: BLE001 - unknown to this Prefect server: leave it
                get_run_logger().debug("run %s not found in Prefect: %s", r.run_id, exc)
                continue
            word = state.type.value if state else ""
            dead_here = info.get("host") == host and isinstance(info.get("pid"), int) and \
                not _process_alive(int(info["pid"]))
            if word in ("RUNNING", "PAUSED", "PENDING", "SCHEDULED") and not dead_here:
                continue  # still running somewhere: its own end will be recorded
            if word == "RUNNING" and dead_here:
                client.set_flow_run_state(UUID(r.run_id), Crashed(
                    message=f"pullfix: the process (pid {info['pid']} on {host}) is gone"),
                    force=True)
            audit.record(audit.Kind.CRASHED, {
                "reason": "the run ended without recording its end" + (
                    f" (its process, pid {info.get('pid')} on {host}, is gone)" if dead_here
                    else ""),
                "prefect_state": word, "found_by": run_id}, run_id=r.run_id, cluster=r.cluster)


def _settle(reads: Reads, ref: ClusterRef, *, before: set[tuple[str, str]], seconds: float,
            interval: float = 0.25, longest: float = 2.0) -> None:
    """After a pass's fixes: wait (bounded) until the pods pulled or show something new, so
    the next pass diagnoses what the fixes uncovered rather than the old error. Polls soon
    (a pod often pulls within a second of a verified fix), then less often (one pod list per
    poll)."""
    import time

    from tasks.detect import failing_pods

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            now = {(f"{p.namespace}/{p.name}", p.message)
                   for p in failing_pods(Reads(reads.clients), ref)}
        except Exception:  # noqa: BLE001 - a failed read: try again until the bound
            now = before
        if not now or now != before:
            return
        time.sleep(interval)
        interval = min(longest, interval * 2)


def _verdict(ref: ClusterRef, policy: str, pol: Policy, records: list[FixRecord],
             passes: list[PassRecord], first_failing: list[str], changes: int,
             error: str | None, reads: Reads) -> RemediationReport:
    """The cluster's outcome: do its pods really pull now? Kept fixes that propagate are
    reported as such when pods still fail."""
    try:
        left = still_failing(reads, ref) if error is None else []
    except Exception as exc:  # noqa: BLE001 - the verdict says it could not look
        error, left = f"cannot read the cluster's pods: {describe(exc)}", []
    if left:
        records = [r.model_copy(update={
            "outcome": Outcome.PROPAGATING,
            "reason": f"{r.reason}; waiting for propagation: "
                      f"{load_fixes()[r.fix].propagates}"})
            if r.outcome == Outcome.APPLIED and load_fixes()[r.fix].propagates else r
            for r in records]
    kept = [r for r in records if r.outcome in KEPT]
    waiting = [f"{r.fix}: {r.reason}" for r in records
               if r.outcome not in (Outcome.APPLIED, Outcome.ROLLED_BACK, Outcome.FAILED)]
    if error is not None:
        outcome, summary = ClusterOutcome.FAILED, error
    elif not passes or (passes[0].failing_pods == 0 and not records):
        outcome, summary = ClusterOutcome.NOTHING_TO_DO, "no pod fails to pull"
    elif not left:
        outcome = ClusterOutcome.HEALED
        summary = f"healed: every pod pulls ({len(kept)} fix(es) kept, {len(passes)} pass(es))"
    elif kept:
        outcome = ClusterOutcome.PARTLY_HEALED
        summary = f"partly healed: {len(kept)} fix(es) kept, {len(left)} pod(s) still fail"
    elif any(r.outcome in (Outcome.ROLLED_BACK, Outcome.FAILED) for r in records):
        outcome, summary = ClusterOutcome.FAILED, "fixes were tried and did not hold"
    else:
        outcome = ClusterOutcome.BLOCKED
        summary = ("blocked: " + "; ".join(waiting)) if waiting else \
            "blocked: no automatic fix for " + ", ".join(first_failing or ["the failing pods"])
    return RemediationReport(
        cluster=ref.name, id=ref.id, policy=policy, mode=pol.mode, outcome=outcome,
        summary=summary, failing_checks=first_failing, passes=passes, records=records,
        remaining=left, waiting=waiting, changes=changes, error=error)


def _publish(report: RemediationReport) -> None:
    key = "remediation-" + "".join(c if c.isalnum() else "-" for c in report.cluster.lower())[:40]
    lines = [f"# Remediation of `{report.cluster}` — {report.outcome.value}", "",
             report.summary, "", f"Policy `{report.policy}` (mode {report.mode}); first "
             f"pass found: {', '.join(report.failing_checks) or 'nothing failing'}", ""]
    for p in report.passes:
        lines.append(f"- pass {p.number}: {p.failing_pods} pod(s) failing; planned "
                     f"{', '.join(p.planned) or '-'}; kept {', '.join(p.applied) or '-'}"
                     f"{'; ' + p.note if p.note else ''}")
    lines.append("")
    for r in report.records:
        plan = r.plan
        lines += [f"## {r.fix} — {r.outcome.value} (pass {r.pass_no})", "", plan.summary, "",
                  f"- plan `{plan.hash[:16]}` risk {plan.risk.value}, decision: "
                  f"{r.decision.get('outcome')} ({r.decision.get('reason')})",
                  f"- outcome: {r.reason}"]
        if r.approval:
            lines.append(f"- approval: {r.approval.get('approver')}")
        for c in plan.changes:
            lines.append(f"- change: {c.operation} `{c.resource}` via {c.api}: "
                         f"{c.before} → {c.after}")
        if r.verification:
            lines.append(f"- verification: {r.verification}")
        lines.append("")
    if report.remaining:
        lines.append(f"Still failing: {', '.join(report.remaining)}")
    try:
        create_markdown_artifact(key=key, markdown="\n".join(lines),
                                 description=f"pullfix remediation of {report.id}")
        create_table_artifact(key=key + "-fixes", table=[
            {"fix": r.fix, "pass": r.pass_no, "outcome": r.outcome.value, "reason": r.reason}
            for r in report.records] or [{"fix": "-", "pass": 0,
                                          "outcome": report.outcome.value,
                                          "reason": report.summary}])
    except Exception as exc:  # noqa: BLE001 - the changes are made and audited: report them
        get_run_logger().warning("could not store the remediation artifacts in Prefect: %s",
                                 describe(exc))
