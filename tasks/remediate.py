"""Remediation pieces without Prefect: what a cluster's diagnosis calls for, whether a fix did
what it claims, and whether the cluster pulls again.

The design's rules (DESIGN.md "Runs, sign-off, audit"):

- a fix is judged by **its own checks** (``Fix.resolves``) on fresh reads; it is rolled back
  only when those still fail after a bounded wait, or when it broke a check that passed before
  — never because another cause still blocks the pull;
- "the pod really pulls" is the verdict for the *cluster*, at the end of the loop;
- a change Azure honours later (``Fix.propagates``: role assignments, DNS links, credentials)
  is waited for with a bound that fits Azure and reported as propagating, never undone while
  it only propagates.

Every verification read is fresh (a new :class:`Reads` per poll, nothing memoized from before
the change).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from enum import StrEnum
from typing import Any

from tasks.contract import ClusterRef, Finding, Frozen, Status, Target
from tasks.diagnose import ClusterDiagnosis, run_plain
from tasks.errors import describe
from tasks.fix import FixPlan, FixResult, load_fixes
from tasks.reads import Reads
from tasks.registry import load_checks


class Outcome(StrEnum):
    """What happened to one planned fix (a stable contract: reports and tests read it)."""

    APPLIED = "applied"  # applied; its own checks pass
    PROPAGATING = "propagating"  # applied and kept; Azure has not honoured it yet
    ROLLED_BACK = "rolled_back"  # applied, its own checks still failed (or it broke one): undone
    AWAITING_SIGN_OFF = "awaiting_sign_off"
    REJECTED = "rejected"  # sign-off refused, timed out, or not acceptable
    DENIED = "denied"  # the policy denies it
    NOT_PERMITTED = "not_permitted"  # pullfix's identity lacks a right it needs: not attempted
    BLOCKED = "blocked"  # an Azure Policy assignment would deny or revert it: not attempted
    SKIPPED = "skipped"  # out of scope, outside the window, cap reached
    PLANNED = "planned"  # plan mode: nothing applied
    FAILED = "failed"  # apply raised, or a fix that cannot be undone failed its checks


KEPT = (Outcome.APPLIED, Outcome.PROPAGATING)
# outcomes that leave the cluster waiting on a person or a permission, not on pullfix
BLOCKING = (Outcome.AWAITING_SIGN_OFF, Outcome.REJECTED, Outcome.DENIED, Outcome.NOT_PERMITTED,
            Outcome.BLOCKED, Outcome.SKIPPED, Outcome.PLANNED)


class ClusterOutcome(StrEnum):
    HEALED = "healed"  # every failing pod pulls
    PARTLY_HEALED = "partly_healed"  # something was fixed (or propagates); pods still fail
    BLOCKED = "blocked"  # nothing could be applied: sign-off, deny, permission, policy conflict
    FAILED = "failed"  # fixes were tried and did not hold, or the cluster could not be read
    NOTHING_TO_DO = "nothing_to_do"  # no failing pod


class FixRecord(Frozen):
    fix: str
    plan: FixPlan
    outcome: Outcome
    reason: str
    pass_no: int = 1
    decision: dict[str, Any] = {}
    approval: dict[str, Any] = {}  # the verified approver, never the token
    result: FixResult | None = None
    verification: dict[str, Any] = {}


class PassRecord(Frozen):
    """One pass of the loop: what the diagnosis found and what was done about it."""

    number: int
    failing_pods: int
    failing_checks: list[str]
    planned: list[str]
    applied: list[str]
    note: str = ""


class RemediationReport(Frozen):
    """What a remediation run did to one cluster: the typed report the flow returns."""

    cluster: str
    id: str
    policy: str
    mode: str
    outcome: ClusterOutcome
    summary: str
    failing_checks: list[str] = []  # what the first pass found
    passes: list[PassRecord] = []
    records: list[FixRecord] = []
    remaining: list[str] = []  # pods that still cannot pull, namespace/name
    waiting: list[str] = []  # what the outcome waits for (sign-offs, propagation, people)
    changes: int = 0
    error: str | None = None

    @property
    def counts(self) -> dict[str, int]:
        return {o.value: sum(1 for r in self.records if r.outcome == o) for o in Outcome}

    def as_json(self) -> dict[str, Any]:
        doc = self.model_dump(mode="json")
        doc["counts"] = self.counts
        return doc


def planned_fixes(reads: Reads, diagnosis: ClusterDiagnosis
                  ) -> list[tuple[FixPlan, Finding, Target]]:
    """One plan per (root cause, suggested fix), deduplicated by plan hash, in the order the
    findings suggest them."""
    fixes = load_fixes()
    out: list[tuple[FixPlan, Finding, Target]] = []
    seen: set[str] = set()
    for finding, target in zip(diagnosis.findings, diagnosis.targets, strict=True):
        if finding.status != Status.FAIL:
            continue
        for name in finding.suggests:
            cls = fixes.get(name)
            if cls is None:
                continue
            plan = cls().plan(target, finding, reads)
            if plan is not None and plan.hash not in seen:
                seen.add(plan.hash)
                out.append((plan, finding, target))
    return out


def apply_fix(plan: FixPlan, reads: Reads) -> FixResult:
    return load_fixes()[plan.fix]().apply(plan, reads)


def rollback_fix(result: FixResult, reads: Reads) -> None:
    load_fixes()[result.fix]().rollback(result, reads)


def _current_targets(fresh: Reads, target: Target) -> list[Target]:
    """The targets to re-check now: the workload's pods that still cannot pull (a fix to the
    workload replaces its pods, so the original pod may be gone); none left = nothing to
    re-check."""
    if target.pod is None or target.pod.workload is None:
        return [target]
    from tasks.detect import failing_pods
    from tasks.targets import target_for

    pods = [p for p in failing_pods(fresh, target.cluster)
            if p.workload == target.pod.workload and p.container == target.pod.container]
    return [target_for(fresh, target.cluster, p, target.classification) for p in pods[:3]]


def _run_checks(names: tuple[str, ...] | list[str], target: Target, fresh: Reads
                ) -> dict[str, Finding]:
    checks = load_checks()
    statuses: dict[str, Finding] = {}
    for t in _current_targets(fresh, target):
        for name in names:
            spec = checks.get(name)
            if spec is not None:
                f = run_plain(spec, t, fresh)
                if name not in statuses or f.status in (Status.FAIL, Status.ERROR):
                    statuses[name] = f
    return statuses


def verify_own(plan: FixPlan, target: Target, reads: Reads, *, seconds: float,
               interval: float = 2.0, sleep: Callable[[float], None] = time.sleep
               ) -> tuple[bool, dict[str, Any]]:
    """(holds, detail): the checks the fix resolves pass on fresh reads, polled until
    ``seconds`` have passed."""
    deadline = time.monotonic() + seconds
    while True:
        statuses = _run_checks(plan.resolves, target, Reads(reads.clients))
        failing = {n: f.summary for n, f in statuses.items()
                   if f.status in (Status.FAIL, Status.ERROR)}
        detail = {"checks": {n: f.status.value for n, f in statuses.items()}, "failing": failing}
        if not failing:
            return True, detail
        if time.monotonic() > deadline:
            return False, detail
        sleep(interval)


def regressions(passed_before: list[str], target: Target, reads: Reads) -> dict[str, str]:
    """Checks that passed on ``target`` before a fix and fail now (what the fix broke)."""
    statuses = _run_checks(passed_before, target, Reads(reads.clients))
    return {n: f.summary for n, f in statuses.items() if f.status == Status.FAIL}


def still_failing(reads: Reads, ref: ClusterRef) -> list[str]:
    """The cluster's pods that still cannot pull, ``namespace/name`` (fresh reads)."""
    from tasks.detect import failing_pods

    return sorted({f"{p.namespace}/{p.name}" for p in failing_pods(Reads(reads.clients), ref)})


def wait_for_pulls(reads: Reads, ref: ClusterRef, *, seconds: float, interval: float = 3.0,
                   sleep: Callable[[float], None] = time.sleep) -> list[str]:
    """Poll until no pod of the cluster fails to pull, or ``seconds`` pass; the pods still
    failing at the end (empty: healed)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            left = still_failing(reads, ref)
        except Exception as exc:  # noqa: BLE001 - a read that fails is retried until the bound
            left = [f"(could not read the pods: {describe(exc)})"]
        if not left or time.monotonic() > deadline:
            return left
        sleep(interval)


def passing_checks(diagnosis: ClusterDiagnosis, target: Target) -> list[str]:
    """The checks that passed for ``target`` in a diagnosis (a fix must not break them)."""
    return sorted({f.check for f, t in zip(diagnosis.findings, diagnosis.targets, strict=True)
                   if f.status == Status.PASS and t == target})


class PlanPreview(Frozen):
    """A fix a diagnosis calls for, as ``diagnose`` and a plan sweep show it: what it would
    change and whether Azure would let pullfix do it (``blocked``: the missing right, or the
    Azure Policy assignment, named)."""

    fix: str
    summary: str
    risk: str
    plan_hash: str
    changes: int
    blocked: str | None = None


def preview_plans(reads: Reads, diagnosis: ClusterDiagnosis) -> list[PlanPreview]:
    """The plans for a diagnosis, each with its pre-flight verdict (read-only)."""
    from tasks.preflight import preflight

    out = []
    for plan, _finding, target in planned_fixes(reads, diagnosis):
        b = preflight(plan, target, reads)
        out.append(PlanPreview(
            fix=plan.fix, summary=plan.summary, risk=plan.risk.value, plan_hash=plan.hash,
            changes=len(plan.changes),
            blocked=None if b is None else b.reason))
    return out


def previews_json(reads: Reads, diagnosis: ClusterDiagnosis) -> dict[str, Any]:
    """``{"plans": [...]}`` for a report, or ``{"plans": [], "plans_error": why}``."""
    if not diagnosis.failing_checks:
        return {"plans": []}
    try:
        return {"plans": [p.model_dump() for p in preview_plans(reads, diagnosis)]}
    except Exception as exc:  # noqa: BLE001 - the diagnosis stands; say why there is no plan
        return {"plans": [], "plans_error": f"could not plan: {describe(exc)}"}
