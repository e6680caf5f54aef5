"""Pre-flight: would a planned fix be refused by Azure before it could do anything?

Two reasons a write fails that are known before it is attempted, so a fix blocked by either
is decided as blocked and never attempted (nothing half-applied, no misleading 403 later):

- pullfix's own identity lacks an ARM right the fix declares (``Fix.permissions``): asked
  of the Microsoft.Authorization permissions API at the exact resources the plan writes;
- an Azure Policy assignment would deny (or silently revert) what the fix leaves behind
  (``Fix.leaves``), evaluated by ``azure-policy-conflicts``' evaluator.

Both read only; each answer names the action, the resource and the roles that grant it, or
the policy assignment and its scope.
"""

from __future__ import annotations

from tasks.checks.azure_policy_conflicts import conflicts
from tasks.checks.fixer_has_permissions import denied
from tasks.contract import Frozen, Target
from tasks.errors import describe
from tasks.fix import FixPlan, load_fixes
from tasks.reads import Reads


class Blocked(Frozen):
    kind: str  # permission | policy | unknown
    reason: str


def preflight(plan: FixPlan, target: Target, reads: Reads) -> Blocked | None:
    """Why ``plan`` cannot be applied by pullfix here, or ``None`` when nothing stands in the
    way that Azure would tell us before a write."""
    cls = load_fixes()[plan.fix]
    problems: list[str] = []
    try:
        for need in cls.permissions:
            problems += denied(reads, plan.fix, need, need.on.of_plan(plan))
    except Exception as exc:  # noqa: BLE001 - cannot tell: fail closed, say why
        return Blocked(kind="unknown", reason=f"could not check pullfix's rights for "
                                              f"{plan.fix}: {describe(exc)}")
    if problems:
        return Blocked(kind="permission", reason="; ".join(problems))
    if cls.leaves:
        try:
            found = conflicts([plan.fix], target, reads)
        except Exception as exc:  # noqa: BLE001 - cannot tell: fail closed, say why
            return Blocked(kind="unknown", reason=f"could not read the policy assignments "
                                                  f"for {plan.fix}: {describe(exc)}")
        if plan.fix in found:
            return Blocked(kind="policy", reason=found[plan.fix])
    return None
