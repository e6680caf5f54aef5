"""Typed recorders for the steps of a remediation, so the flows pass the objects they already
hold (a ``FixPlan``, a policy ``Decision``, an ``Approver``) and every record carries the same
links (run id, cluster, plan hash) and the fields the auditor's views read. Each returns the
record's ``seq``; all go through :func:`tasks.audit.record` (kinds, links, no secrets)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from tasks.audit.api import record
from tasks.audit.kinds import Kind
from tasks.fix import FixPlan, FixResult


def _doc(value: Mapping[str, Any] | BaseModel | None) -> dict[str, Any]:
    if value is None:
        return {}
    return value.model_dump(mode="json") if isinstance(value, BaseModel) else dict(value)


def file_hash(path: str | Path) -> str:
    """sha256 of a file's bytes: which exact policy file decided."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def plan(*, run_id: str, plan: FixPlan) -> int:
    return record(Kind.PLAN, plan.model_dump(mode="json") | {"plan_hash": plan.hash},
                  run_id=run_id, cluster=plan.cluster.id)


def decision(*, run_id: str, plan: FixPlan, decision: Mapping[str, Any] | BaseModel,
             policy: str, policy_hash: str, rule: str = "") -> int:
    """The policy's verdict on ``plan`` (``policies.decide.Decision`` or its dump); ``rule``
    defaults to the decision's reason, which names the rule that decided."""
    d = _doc(decision)
    return record(Kind.DECISION, d | {"plan_hash": plan.hash, "fix": plan.fix, "policy": policy,
                                      "policy_hash": policy_hash,
                                      "rule": rule or str(d.get("reason", ""))},
                  run_id=run_id, cluster=plan.cluster.id)


def approval(*, run_id: str, plan: FixPlan, approver: Mapping[str, Any] | BaseModel,
             verified: str, comment: str = "", token_id: str = "") -> int:
    """A verified sign-off: who (``tasks.approval.Approver``), how it was verified, the
    approver's comment and the token's unique id (never the token)."""
    return record(Kind.APPROVAL, {"plan_hash": plan.hash, "fix": plan.fix,
                                  "approver": _doc(approver), "verified": verified,
                                  "comment": comment, "token_id": token_id},
                  run_id=run_id, cluster=plan.cluster.id)


def rejection(*, run_id: str, plan: FixPlan, reason: str,
              by: Mapping[str, Any] | BaseModel | None = None, comment: str = "") -> int:
    """A sign-off that did not approve: refused (``by`` whom, when known), timed out, or not
    verifiable; ``reason`` says which."""
    return record(Kind.REJECTION, {"plan_hash": plan.hash, "fix": plan.fix, "reason": reason,
                                   "by": _doc(by), "comment": comment},
                  run_id=run_id, cluster=plan.cluster.id)


def intent(*, run_id: str, plan: FixPlan) -> int:
    """Before the first write of ``plan``: returns the seq :func:`tasks.audit.outcome` takes."""
    return record(Kind.INTENT, {"plan_hash": plan.hash, "fix": plan.fix,
                                "changes": [c.model_dump(mode="json") for c in plan.changes]},
                  run_id=run_id, cluster=plan.cluster.id)


def result_change(result: FixResult | None, **request_ids: str) -> dict[str, Any]:
    """What :func:`tasks.audit.outcome` records as ``change`` for a fix's result: what was
    really changed (before/after), ids created, and any ARM request/correlation ids."""
    doc = {"applied": [c.model_dump(mode="json") for c in result.applied],
           "data": dict(result.data)} if result else {}
    return doc | {k.replace("_", "-"): v for k, v in request_ids.items() if v}


def verification(*, run_id: str, plan: FixPlan, ok: bool, detail: Mapping[str, Any]) -> int:
    return record(Kind.VERIFICATION, {"plan_hash": plan.hash, "fix": plan.fix, "ok": ok,
                                      "detail": dict(detail)},
                  run_id=run_id, cluster=plan.cluster.id)


def rollback(*, run_id: str, plan: FixPlan, reason: str, result: FixResult | None = None
             ) -> int:
    return record(Kind.ROLLBACK, {"plan_hash": plan.hash, "fix": plan.fix, "reason": reason,
                                  "changes": result_change(result).get("applied", [])},
                  run_id=run_id, cluster=plan.cluster.id)
