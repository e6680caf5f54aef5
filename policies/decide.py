"""``decide(plan, policy, ...)``: what a policy says about one fix plan on one cluster.

Pure: everything it depends on (the cluster's place and tags, the clock, the changes already
made) is an argument, so the whole rule book is table-tested. The order is the design's:
scope → mode → the fix's rule (overrides, then ``fixes``, then ``defaults``) → a high-risk
fix is never auto → maintenance window → blast-radius caps. Anything it cannot place fails
closed (an unknown fix is denied).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict

from policies.model import (
    DAYS,
    FIX_RISKS,
    FixRule,
    Policy,
    RuleDecision,
    Scope,
    Window,
    duration_seconds,
    minutes,
)
from tasks.fix import FixPlan, Risk

Outcome = Literal["auto", "sign-off", "deny", "out-of-scope", "outside-window", "cap-reached", "plan-only"]
_RISK_ORDER = (Risk.LOW, Risk.MEDIUM, Risk.HIGH)


class Decision(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    outcome: Outcome
    fix: str
    plan_hash: str
    approvers: tuple[str, ...] = ()
    approval_timeout: int = 0  # seconds
    reason: str  # one line naming the rule that decided


def scope_mismatch(scope: Scope, *, cluster_tags: Mapping[str, str], subscription: str,
                   subscription_name: str, resource_group: str) -> str | None:
    """Why a cluster is outside ``scope`` (``None`` when inside). ARM ids, names and tag names
    are case-insensitive in Azure; tag values are not."""
    subs = {s.lower() for s in scope.subscriptions}
    if subs and subscription.lower() not in subs and subscription_name.lower() not in subs:
        return f"subscription '{subscription_name or subscription}' is not one of {list(scope.subscriptions)}"
    if scope.resource_groups and resource_group.lower() not in {r.lower() for r in scope.resource_groups}:
        return f"resource group '{resource_group}' is not one of {list(scope.resource_groups)}"
    tags = {k.lower(): v for k, v in cluster_tags.items()}
    for key, want in scope.cluster_tags.items():
        if tags.get(key.lower()) != want:
            have = tags.get(key.lower())
            return f"tag {key}={want} required (cluster has {key}={have})" if have is not None \
                else f"tag {key}={want} required (cluster has no '{key}' tag)"
    return None


def _rule(policy: Policy, fix: str, where: dict[str, Any]) -> tuple[RuleDecision, tuple[str, ...], str, str]:
    """Merge defaults ← fixes[fix] ← each matching override in order; returns the decision,
    approvers, timeout and the name of the rule that set the decision."""
    d = policy.defaults
    decision, approvers, timeout, source = d.decision, d.approvers, d.approval_timeout, "defaults"
    layers: list[tuple[str, FixRule]] = []
    if fix in policy.fixes:
        layers.append((f"fixes.{fix}", policy.fixes[fix]))
    for i, ov in enumerate(policy.overrides):
        if fix in ov.fixes and scope_mismatch(ov.match, **where) is None:
            layers.append((f"overrides[{i}].fixes.{fix}", ov.fixes[fix]))
    for name, rule in layers:
        if rule.decision is not None:
            decision, source = rule.decision, name
        approvers = rule.approvers if rule.approvers is not None else approvers
        timeout = rule.approval_timeout or timeout
    return decision, approvers, timeout, source


def in_window(window: Window, now: datetime) -> bool:
    local = now.astimezone(ZoneInfo(window.timezone))
    at = local.hour * 60 + local.minute
    return DAYS[local.weekday()] in window.days and minutes(window.start) <= at < minutes(window.end)


def _describe(w: Window) -> str:
    return f"{','.join(w.days)} {w.start}-{w.end} {w.timezone}"


def decide(plan: FixPlan, policy: Policy, *, cluster_tags: Mapping[str, str], subscription: str,
           subscription_name: str, resource_group: str, now: datetime, changes_so_far_run: int,
           changes_so_far_sweep: int) -> Decision:
    if now.tzinfo is None:
        raise ValueError("decide() needs an aware datetime (a window's time zone is meaningless otherwise)")
    base = {"fix": plan.fix, "plan_hash": plan.hash}
    where: dict[str, Any] = {"cluster_tags": cluster_tags, "subscription": subscription,
             "subscription_name": subscription_name, "resource_group": resource_group}

    why = scope_mismatch(policy.scope, **where)
    if why is not None:
        return Decision(outcome="out-of-scope", reason=f"scope: {why}", **base)
    if policy.mode == "plan":
        return Decision(outcome="plan-only", reason="mode: plan (nothing is applied)", **base)
    if plan.fix not in FIX_RISKS:
        return Decision(outcome="deny", reason=f"'{plan.fix}' is not in the fix catalogue", **base)

    decision, approvers, timeout, source = _rule(policy, plan.fix, where)
    rule = {"approvers": approvers, "approval_timeout": duration_seconds(timeout), **base}
    if decision == "deny":
        return Decision(outcome="deny", reason=f"{source}: deny", **rule)
    reason = f"{source}: {decision}"
    # the stricter of the catalogue's and the plan's risk: a mismatch must not loosen anything
    risk = max(FIX_RISKS[plan.fix], plan.risk, key=_RISK_ORDER.index)
    if decision == "auto" and risk == Risk.HIGH:
        decision, reason = "sign-off", f"{source}: auto, but '{plan.fix}' is high risk: sign-off"

    windows = [w for w in policy.maintenance_windows if decision in w.decisions]
    if windows and not any(in_window(w, now) for w in windows):
        return Decision(outcome="outside-window", reason=(
            f"maintenance_windows: {now.isoformat(timespec='minutes')} is outside "
            f"{'; '.join(_describe(w) for w in windows)} ({reason})"), **rule)

    n = len(plan.changes)
    for key, cap, done in (("max_changes_per_run", policy.limits.max_changes_per_run, changes_so_far_run),
                           ("max_changes_per_sweep", policy.limits.max_changes_per_sweep,
                            changes_so_far_sweep)):
        if cap is not None and done + n > cap:
            return Decision(outcome="cap-reached", reason=(
                f"limits.{key}: {done} changes made + {n} planned > {cap}"), **rule)
    return Decision(outcome=decision, reason=reason, **rule)
