"""Azure RBAC evaluation over the world's role assignments and definitions.

Used by ARM for the caller of every request, by the ACR data plane for pulls and by the
kubelet. An assignment is effective only after the world's propagation delay, as in Azure
where a new assignment can take minutes to be honoured.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import TYPE_CHECKING

from simulator.core.ids import is_within

if TYPE_CHECKING:
    from simulator.core.world import World

ROLE_ASSIGNMENT_TYPE = "microsoft.authorization/roleassignments"
ROLE_DEFINITION_TYPE = "microsoft.authorization/roledefinitions"


@lru_cache(maxsize=1024)
def _pattern(expr: str) -> re.Pattern[str]:
    return re.compile("^" + re.escape(expr).replace(r"\*", ".*") + "$", re.IGNORECASE)


def action_matches(expr: str, action: str) -> bool:
    return bool(_pattern(expr).match(action))


def principal_set(world: World, principal_id: str) -> set[str]:
    """The principal plus every group it belongs to, transitively."""
    found = {principal_id.lower()}
    groups = world.graph.get("groups", {})
    changed = True
    while changed:
        changed = False
        for gid, group in groups.items():
            if gid.lower() in found:
                continue
            members = {m.lower() for m in group.get("_members", [])}
            if members & found:
                found.add(gid.lower())
                changed = True
    return found


def _guid(doc: dict) -> list[str]:
    return [str(doc["id"]).rstrip("/").rsplit("/", 1)[-1].lower()]


def role_definition(world: World, role_definition_id: str) -> dict | None:
    guid = role_definition_id.rstrip("/").rsplit("/", 1)[-1].lower()
    found = world.lookup("authz:definition-guid", ROLE_DEFINITION_TYPE, _guid, guid)
    return found[0] if found else None


def _principal(doc: dict) -> list[str]:
    return [str(doc["properties"].get("principalId", "")).lower()]


def assignments_of(world: World, principal_ids: set[str]) -> list[dict]:
    """Role assignments held by any of the (lower-cased) principal ids, in the world's order."""
    per = [found for p in principal_ids if (found := world.lookup(
        "authz:assignment-principal", ROLE_ASSIGNMENT_TYPE, _principal, p))]
    if len(per) == 1:
        return per[0]
    held = {id(a) for found in per for a in found}
    return [a for a in world.of_type(ROLE_ASSIGNMENT_TYPE) if id(a) in held]


def effective_assignments(world: World, principal_id: str, scope: str) -> list[dict]:
    """Role assignments for the principal (or its groups) at ``scope`` or above, in force now."""
    ids = principal_set(world, principal_id)
    now = world.now()
    out = []
    for res in assignments_of(world, ids):
        props = res["properties"]
        if not is_within(props["scope"], scope):
            continue
        if res.get("_effectiveAt", 0) > now:
            continue
        out.append(res)
    return out


def permits(permissions: list[dict], action: str, *, data: bool = False) -> bool:
    allow_key, deny_key = ("dataActions", "notDataActions") if data else ("actions", "notActions")
    for perm in permissions:
        if any(action_matches(a, action) for a in perm.get(allow_key, [])) and not any(
            action_matches(n, action) for n in perm.get(deny_key, [])
        ):
            return True
    return False


def is_permitted(
    world: World, principal_id: str, action: str, scope: str, *, data: bool = False
) -> bool:
    for assignment in effective_assignments(world, principal_id, scope):
        definition = role_definition(world, assignment["properties"]["roleDefinitionId"])
        if definition and permits(definition["properties"]["permissions"], action, data=data):
            return True
    return False
