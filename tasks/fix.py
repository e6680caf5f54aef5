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

import functools
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
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


def top_level(resource_id: str) -> str:
    """The top-level ARM resource an id lives under (what Microsoft.Authorization's
    permissions API answers for): ``…/registries/r/providers/Microsoft.Authorization/
    roleAssignments/x`` → ``…/registries/r``; a resource group or subscription id as is."""
    parts = resource_id.strip("/").split("/")
    low = [p.lower() for p in parts]
    if "providers" in low and "resourcegroups" in low:
        i = low.index("providers")
        return "/" + "/".join(parts[:i + 4])
    return resource_id


@dataclass(frozen=True)
class Scope:
    """Where a fix's write acts: resolved from its plan (exact) and, where it can be, from a
    diagnosis target alone (for ``fixer-has-permissions`` before anything is planned)."""

    describe: str
    of_plan: Callable[[FixPlan], list[str]]
    of_target: Callable[[Target], list[str]] | None = None


def changed(rtype: str, describe: str) -> Scope:
    """The top-level resources of type ``rtype`` the plan's ARM changes touch."""
    want = rtype.lower()

    def of_plan(plan: FixPlan) -> list[str]:
        out = []
        for c in plan.changes:
            if c.resource.lower().startswith("/subscriptions/") and f"/{want}/" in \
                    top_level(c.resource).lower() + "/":
                out.append(top_level(c.resource))
        return sorted(set(out))

    of_target: Callable[[Target], list[str]] | None = None
    if want == "microsoft.containerregistry/registries":
        def of_target(t: Target) -> list[str]:
            return [t.registry_id] if t.registry_id else []
    elif want == "microsoft.containerservice/managedclusters":
        def of_target(t: Target) -> list[str]:
            return [t.cluster.id]
    return Scope(describe, of_plan, of_target)


def param(key: str, describe: str) -> Scope:
    """An ARM id the plan names in ``params[key]`` (e.g. the VNet a DNS link joins)."""
    return Scope(describe, lambda plan: [str(plan.params[key])] if plan.params.get(key) else [])


def any_changed(describe: str) -> Scope:
    """Every ARM resource (or resource group) the plan's changes live under."""
    return Scope(describe, lambda plan: sorted({top_level(c.resource) for c in plan.changes
                                                if c.resource.lower().startswith("/subscriptions/")}))


@dataclass(frozen=True)
class Need:
    """One ARM right a fix needs: the action, where, and the built-in roles that grant it."""

    action: str
    on: Scope
    roles: str


RBAC_ADMIN = "Owner, User Access Administrator or Role Based Access Control Administrator"
AKS_WRITER = "Owner, Contributor or Azure Kubernetes Service Contributor Role"
ACR_WRITER = "Owner, Contributor or Container Registry Contributor and Data Access Configuration " \
             "Administrator"
NET_WRITER = "Owner, Contributor or Network Contributor"
DNS_WRITER = "Owner, Contributor or Private DNS Zone Contributor"
REGISTRY = "the registry"
CLUSTER = "the cluster"


class Fix:
    """Base class; subclasses set the ClassVars and implement plan/apply/rollback.

    The ClassVars are the fix's facts, declared here and nowhere else: the policy model and
    schema read ``risk``, ``fixer-has-permissions`` and the plan's pre-flight read
    ``permissions`` (ARM rights, checked through the permissions API) and ``other_rights``
    (what ARM cannot tell), the remediation loop reads ``propagates`` (a change Azure honours
    later: verified with a wait that fits, never undone while it propagates), and
    ``azure-policy-conflicts`` reads ``leaves`` (the registry properties, as policy aliases,
    the fix leaves behind).
    """

    name: ClassVar[str]
    risk: ClassVar[Risk]
    resolves: ClassVar[tuple[str, ...]]
    permissions: ClassVar[tuple[Need, ...]] = ()
    other_rights: ClassVar[str] = ""
    reversible: ClassVar[bool] = True
    propagates: ClassVar[str] = ""
    leaves: ClassVar[dict[str, Any]] = {}

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


@functools.cache
def load_fixes() -> dict[str, type[Fix]]:
    """Import every module under ``tasks.fixes`` (each registers itself), once per process."""
    import importlib
    import pkgutil

    import tasks.fixes as pkg

    for mod in pkgutil.iter_modules(pkg.__path__):
        importlib.import_module(f"tasks.fixes.{mod.name}")
    return FIXES


def fix_risks() -> dict[str, Risk]:
    """Every registered fix's name (the contract with policy files) and risk, sorted by name."""
    return {name: cls.risk for name, cls in sorted(load_fixes().items())}
