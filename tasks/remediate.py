"""Remediation pieces without Prefect: which fixes a diagnosis calls for, and whether a fix
really healed (the checks it resolves pass, then the pods really pull).

Verification reads fresh (a new :class:`Reads` per poll, nothing memoized from before the
change) and polls with a bound: role assignments can take minutes to be honoured.
"""

from __future__ import annotations

import time
from enum import StrEnum
from typing import Any

from tasks.contract import Finding, Frozen, Status, Target
from tasks.diagnose import ClusterDiagnosis, run_plain
from tasks.errors import describe
from tasks.fix import FixPlan, FixResult, load_fixes
from tasks.reads import Reads
from tasks.registry import load_checks


class Outcome(StrEnum):
    APPLIED = "applied"  # applied and verified
    ROLLED_BACK = "rolled_back"  # applied, verification failed, undone
    AWAITING_SIGN_OFF = "awaiting_sign_off"
    REJECTED = "rejected"  # sign-off refused, timed out, or not acceptable
    DENIED = "denied"  # the policy denies it
    NOT_PERMITTED = "not_permitted"  # pullfix's identity lacks the right
    SKIPPED = "skipped"  # out of scope, outside the window, cap reached
    PLANNED = "planned"  # plan mode: nothing applied
    FAILED = "failed"  # apply raised


class FixRecord(Frozen):
    fix: str
    plan: FixPlan
    outcome: Outcome
    reason: str
    decision: dict[str, Any] = {}
    approval: dict[str, Any] = {}  # the verified approver, never the token
    result: FixResult | None = None
    verification: dict[str, Any] = {}


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


def verify(plan: FixPlan, target: Target, reads: Reads, *, seconds: float = 180,
           interval: float = 2.0) -> tuple[bool, dict[str, Any]]:
    """(healed, detail): every check the fix resolves passes on fresh reads, then the
    target's pod really pulls; polled until ``seconds`` have passed."""
    checks = load_checks()
    deadline = time.monotonic() + seconds
    last: dict[str, Any] = {}
    while True:
        fresh = Reads(reads.clients)
        statuses = {}
        for t in _current_targets(fresh, target):
            for name in plan.resolves:
                spec = checks.get(name)
                if spec is not None:
                    f = run_plain(spec, t, fresh)
                    if name not in statuses or f.status in (Status.FAIL, Status.ERROR):
                        statuses[name] = f
        failing = {n: f.summary for n, f in statuses.items()
                   if f.status in (Status.FAIL, Status.ERROR)}
        pulls: bool | None = None
        if not failing and target.pod is not None:
            from tasks.checks.cluster_can_pull import pod_pulls_now

            try:
                pulls = pod_pulls_now(fresh, target)
            except Exception as exc:  # noqa: BLE001 - recorded; verification keeps polling
                last = {"error": describe(exc)}
                pulls = False
        last = {"checks": {n: f.status.value for n, f in statuses.items()},
                "failing": failing, "pod_pulls": pulls}
        if not failing and pulls in (True, None):
            return True, last
        if time.monotonic() > deadline:
            return False, last
        time.sleep(interval)
