"""The fix contract (STYLE.md "A fix"): one class per fix in ``tasks/fixes/``.

A fix declares its ``risk``, the checks it ``resolves``, the ARM ``permissions`` it needs and
whether it is ``reversible``; ``plan()`` is read-only and returns ``None`` when there is
nothing to do; ``apply()`` is idempotent by construction (deterministic names, "already
exists" is success, a half-finished apply converges when re-run); ``rollback()`` undoes
exactly what this run changed. A :class:`FixPlan` lists its changes (resource, operation,
before, after) and carries a hash that the approval, the transaction key and the audit
record share. Plans and results never hold secrets: a new password appears as its hint.
"""

from __future__ import annotations

import hashlib
import json
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict

from tasks.contract import ClusterRef, Finding, Frozen, Target

if TYPE_CHECKING:
    from tasks.reads import Reads


class Risk(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"  # never auto-applied, whatever a policy says


class Change(Frozen):
    resource: str  # ARM id, Graph object, or k8s ``<cluster id>/k8s/<kind>/<ns>/<name>``
    operation: str  # create | update | delete | action
    api: str  # e.g. "ARM PUT roleAssignments", "Graph addPassword", "k8s PATCH deployment"
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None


class FixPlan(Frozen):
    fix: str
    cluster: ClusterRef
    summary: str
    resolves: tuple[str, ...]
    risk: Risk
    reversible: bool
    changes: tuple[Change, ...]
    params: dict[str, Any] = {}  # what apply needs (ids, names), never secrets
    pods: tuple[str, ...] = ()  # namespace/name of the pods this should heal

    @property
    def hash(self) -> str:
        """sha256 over the canonical plan: what an approval binds to."""
        doc = self.model_dump(mode="json")
        return hashlib.sha256(json.dumps(doc, sort_keys=True, separators=(",", ":"))
                              .encode()).hexdigest()


class FixResult(Frozen):
    fix: str
    plan_hash: str
    applied: tuple[Change, ...]  # what this run actually changed (for rollback and audit)
    data: dict[str, Any] = {}  # ids created by this run, never secrets


class Fix:
    """Base class; subclasses set the ClassVars and implement plan/apply/rollback."""

    name: ClassVar[str]
    risk: ClassVar[Risk]
    resolves: ClassVar[tuple[str, ...]]
    permissions: ClassVar[tuple[str, ...]] = ()
    reversible: ClassVar[bool] = True

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid", frozen=True)

    def plan(self, target: Target, finding: Finding, reads: Reads) -> FixPlan | None:
        raise NotImplementedError

    def apply(self, plan: FixPlan, reads: Reads) -> FixResult:
        raise NotImplementedError

    def rollback(self, result: FixResult, reads: Reads) -> None:
        raise NotImplementedError(f"{self.name} is not reversible")


FIXES: dict[str, type[Fix]] = {}


def fix(cls: type[Fix]) -> type[Fix]:
    """Register a fix class under its ``name``."""
    for attr in ("name", "risk", "resolves"):
        if not hasattr(cls, attr):
            raise TypeError(f"{cls.__name__} must declare {attr}")
    if cls.name in FIXES:
        raise ValueError(f"fix '{cls.name}' registered twice")
    FIXES[cls.name] = cls
    return cls


def load_fixes() -> dict[str, type[Fix]]:
    import importlib
    import pkgutil

    import tasks.fixes as pkg

    for mod in pkgutil.iter_modules(pkg.__path__):
        importlib.import_module(f"tasks.fixes.{mod.name}")
    return FIXES


# DESIGN.md "The catalogue": each fix's name (the contract with policy files) and risk. A
# fix class must declare the same risk (a meta-test checks); high risk is never auto-applied.
CATALOGUE: dict[str, Risk] = {
    "grant-pull-role": Risk.LOW,
    "remove-stale-role-assignment": Risk.MEDIUM,
    "rotate-cluster-sp-secret": Risk.HIGH,
    "reconcile-cluster": Risk.MEDIUM,
    "rotate-pull-secret-sp": Risk.HIGH,
    "refresh-pull-secret-admin": Risk.MEDIUM,
    "correct-image-reference": Risk.HIGH,
    "link-private-dns-zone": Risk.LOW,
    "allow-cluster-egress-on-registry": Risk.MEDIUM,
    "enable-selected-networks": Risk.HIGH,
    "repair-vnet-peering": Risk.MEDIUM,
    "allow-registry-on-firewall": Risk.MEDIUM,
    "set-os-node-selector": Risk.MEDIUM,
    "restart-failing-pods": Risk.LOW,
}
CATALOGUE_FIXES = tuple(CATALOGUE)
