"""Azure RBAC evaluation for the identity checks: which role assignments give a principal an
action at a resource, following Azure's rules (wildcards, notActions per permission block,
assignments at any parent scope, group membership)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache, partial
from typing import Any

from azure.core.exceptions import HttpResponseError

from tasks.errors import describe
from tasks.reads import Reads

PULL = "Microsoft.ContainerRegistry/registries/pull/read"
CONTENT_READ = "Microsoft.ContainerRegistry/registries/repositories/content/read"
ABAC_MODE = "AbacRepositoryPermissions"
ACR_PULL = "7f951dda-4ed3-4680-a7ca-43fe172d538d"
REPO_READER = "b93aa761-3e63-49ed-ac28-beffa264f7ac"  # Container Registry Repository Reader


@lru_cache(maxsize=512)
def _pattern(glob: str) -> re.Pattern[str]:
    return re.compile("^" + re.escape(glob).replace(r"\*", ".*") + "$", re.IGNORECASE)


def matches(glob: str, action: str) -> bool:
    return bool(_pattern(glob).match(action))


def permits(permissions: Iterable[Any], action: str, data: bool = False) -> bool:
    """Does any permission block grant ``action``? notActions subtract within their own block
    only (a second role — or block — that grants the action still grants it)."""
    for p in permissions or []:
        allow = (p.data_actions if data else p.actions) or []
        deny = (p.not_data_actions if data else p.not_actions) or []
        if any(matches(a, action) for a in allow) and not any(matches(n, action) for n in deny):
            return True
    return False


def covers(scope: str, resource_id: str) -> bool:
    """Is ``resource_id`` at or below ``scope`` (ids are case-insensitive; "/" is the root)?"""
    s, r = scope.lower().rstrip("/"), resource_id.lower().rstrip("/")
    return s == "" or r == s or r.startswith(s + "/")


def guarded(what: str, action: str, role: str) -> Callable[[Callable[[], Any]], Any]:
    """Run a read; a 403 becomes a PermissionError naming the read and the role it needs."""
    def run(thunk: Callable[[], Any]) -> Any:
        try:
            return thunk()
        except HttpResponseError as exc:
            if exc.status_code == 403:
                raise PermissionError(f"cannot read {what}: {describe(exc)} — pullfix needs {role} "
                                      f"({action}) there") from exc
            raise
    return run


@dataclass(frozen=True)
class Grant:
    principal_id: str
    principal_type: str
    role_name: str
    role_id: str
    scope: str
    broad: bool = False  # granted only through a bare "*" (Owner, Contributor): not a pull grant


def _broad(permissions: Iterable[Any], action: str, data: bool) -> bool:
    return not any(matches(a, action) for p in permissions or []
                   for a in ((p.data_actions if data else p.actions) or []) if a.strip() != "*")


def grants(reads: Reads, resource_id: str, action: str, data: bool = False) -> list[Grant]:
    """Every assignment at ``resource_id`` or a parent whose role grants ``action``."""
    def load() -> list[Grant]:
        assignments = guarded(f"role assignments at {resource_id}",
                              "Microsoft.Authorization/roleAssignments/read", "Reader")(
            lambda: reads.role_assignments(resource_id))
        out = []
        for ra in assignments:
            if not covers(ra.scope or "", resource_id):
                continue  # listed because it sits below the scope: it does not apply here
            rd = guarded(f"role definition {ra.role_definition_id}",
                         "Microsoft.Authorization/roleDefinitions/read", "Reader")(
                partial(reads.role_definition, ra.role_definition_id))
            if permits(rd.permissions, action, data):
                out.append(Grant(ra.principal_id, str(ra.principal_type or ""), rd.role_name or rd.name,
                                 rd.name, ra.scope, _broad(rd.permissions, action, data)))
        return out
    return reads.memo(("grants", resource_id.lower(), action.lower(), data), load)


def assigned_roles(reads: Reads, resource_id: str, principal_id: str) -> list[str]:
    """Names of every role the principal holds at or above the resource (evidence)."""
    out = []
    for ra in reads.role_assignments(resource_id):
        if ra.principal_id.lower() == principal_id.lower() and covers(ra.scope or "", resource_id):
            rd = reads.role_definition(ra.role_definition_id)
            out.append(f"{rd.role_name} at {ra.scope}")
    return out


def holds(reads: Reads, principal_id: str, resource_id: str, action: str, data: bool = False,
          groups: Callable[[str], set[str]] | None = None) -> Grant | None:
    """The grant giving the principal ``action`` (directly, or through a group it is in)."""
    found = grants(reads, resource_id, action, data)
    for g in found:
        if g.principal_id.lower() == principal_id.lower():
            return g
    via_group = [g for g in found if g.principal_type.lower() == "group"]
    if via_group and groups is not None:
        member_of = groups(principal_id)
        for g in via_group:
            if g.principal_id.lower() in member_of:
                return g
    return None


def mode(registry: Any) -> str:
    m = getattr(registry, "role_assignment_mode", None)
    return str(getattr(m, "value", m) or "LegacyRegistryPermissions")


def pull_action(registry: Any) -> tuple[str, bool, str]:
    """(action, is-data-action, the built-in role that grants it) for this registry's mode:
    ABAC-mode registries honour only the repository data actions, not AcrPull."""
    if mode(registry) == ABAC_MODE:
        return CONTENT_READ, True, f"Container Registry Repository Reader ({REPO_READER})"
    return PULL, False, f"AcrPull ({ACR_PULL})"
