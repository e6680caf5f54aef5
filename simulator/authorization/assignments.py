"""Role assignments (list with ARM's $filter, get, create, delete) and the caller's effective
permissions at a scope.

Listing shows an assignment as soon as it is written; *honouring* it waits for the world's
propagation delay (``core.authz``), which is exactly the gap pullfix must tolerate after it
grants a role.
"""

from __future__ import annotations

import re
from typing import Any

from simulator.authorization import exceptions as exc
from simulator.authorization.definitions import assignable_at
from simulator.authorization.models import (
    ROLE_ASSIGNMENT_TYPE,
    create_role_assignment,
    directory_type,
    guid_of,
    is_guid,
)
from simulator.core import authz, errors
from simulator.core.ids import is_within, key
from simulator.core.world import World, public
from simulator.identity.models import iso

SUPPORTED_FILTERS = "atScope(), principalId eq '{id}', assignedTo('{id}'), joined with 'and'"
_PRINCIPAL_EQ = re.compile(r"principalId\s+eq\s+'(?P<id>[^']+)'", re.IGNORECASE)
_ASSIGNED_TO = re.compile(r"assignedTo\('(?P<id>[^']+)'\)", re.IGNORECASE)
_AT_SCOPE = re.compile(r"atScope\(\)", re.IGNORECASE)


def assignment_id(scope: str, name: str) -> str:
    return f"{scope.rstrip('/')}/providers/Microsoft.Authorization/roleAssignments/{name}"


def list_role_assignments(world: World, scope: str, filter_expr: str | None
                          ) -> list[dict[str, Any]]:
    """Without ``atScope()`` ARM answers with assignments at, above and below the scope; with
    it, only at or above (what applies to the scope). ``principalId eq`` matches the principal
    itself, ``assignedTo`` also the groups it is a (transitive) member of."""
    world.require_scope(scope)
    at_scope = False
    principals: set[str] | None = None
    clauses = [c.strip() for c in re.split(r"\s+and\s+", filter_expr.strip(), flags=re.IGNORECASE)
               ] if filter_expr and filter_expr.strip() else []
    for clause in clauses:
        if _AT_SCOPE.fullmatch(clause):
            at_scope = True
            continue
        m = _PRINCIPAL_EQ.fullmatch(clause)
        a = _ASSIGNED_TO.fullmatch(clause)
        if m:
            wanted = {m["id"].lower()}
        elif a:
            wanted = authz.principal_set(world, a["id"])
        else:
            raise exc.invalid_filter(filter_expr or "", SUPPORTED_FILTERS)
        principals = wanted if principals is None else principals & wanted
    out = []
    for ra in world.of_type(ROLE_ASSIGNMENT_TYPE):
        p = ra["properties"]
        above = is_within(p["scope"], scope)
        below = is_within(scope, p["scope"])
        if not (above or (below and not at_scope)):
            continue
        if principals is not None and p["principalId"].lower() not in principals:
            continue
        out.append(public(ra))
    return out


def _find(world: World, scope: str, name: str) -> dict[str, Any] | None:
    ra = world.get(assignment_id(scope, name))
    if ra is not None and ra.get("type", "").lower() == ROLE_ASSIGNMENT_TYPE.lower():
        return ra
    return None


def get_role_assignment(world: World, scope: str, name: str) -> dict[str, Any]:
    world.require_scope(scope)
    ra = _find(world, scope, name)
    if ra is None:
        raise exc.role_assignment_not_found(name)
    return public(ra)


def create_role_assignment_api(
    world: World, scope: str, name: str, body: dict[str, Any], *, caller: str | None
) -> tuple[dict[str, Any], bool]:
    """PUT a role assignment with ARM's validation; returns (assignment, created)."""
    if not is_guid(name):
        raise exc.invalid_role_assignment_id(name)
    world.require_scope(scope)
    props = body.get("properties") or {}
    rd_id, principal = props.get("roleDefinitionId"), props.get("principalId")
    if not rd_id or not principal:
        raise errors.bad_request("InvalidRequestContent", "The request content was invalid: "
                                 "'properties.roleDefinitionId' and 'properties.principalId' "
                                 "are required.")
    guid = guid_of(rd_id)
    definition = authz.role_definition(world, guid)
    # a custom role outside its assignable scopes is invisible there, so ARM reports it missing
    if definition is None or not assignable_at(definition, scope):
        raise exc.role_definition_does_not_exist(guid)
    actual_type = directory_type(world, principal)
    if actual_type is None:
        raise exc.principal_not_found(principal, world.tenant_id)
    given_type = props.get("principalType")
    if given_type and given_type.lower() != actual_type.lower() and not (
            actual_type == "Group" and given_type == "ForeignGroup"):
        raise exc.unmatched_principal_type(principal, actual_type, given_type)
    existing = _find(world, scope, name)
    if existing is not None:
        e = existing["properties"]
        if e["principalId"].lower() != principal.lower() or guid_of(
                e["roleDefinitionId"]) != guid:
            raise exc.role_assignment_update_not_permitted()
        # description and condition may change in place; the assignment keeps its start
        e.update(description=props.get("description"), condition=props.get("condition"),
                 conditionVersion=props.get("conditionVersion") or (
                     "2.0" if props.get("condition") else None), updatedBy=caller,
                 updatedOn=iso(world.now()))
        return public(existing), False
    for ra in world.of_type(ROLE_ASSIGNMENT_TYPE):
        p = ra["properties"]
        if (p["principalId"].lower() == principal.lower() and guid_of(p["roleDefinitionId"])
                == guid and key(p["scope"]) == key(scope)):
            raise exc.role_assignment_exists(ra["name"])
    doc = create_role_assignment(
        world, scope=scope, role_definition_id=guid, principal_id=principal, name=name,
        principal_type_=actual_type if not given_type else given_type, created_by=caller,
        description=props.get("description"), condition=props.get("condition"),
        condition_version=props.get("conditionVersion"),
    )
    return public(doc), True


def delete_role_assignment(world: World, scope: str, name: str) -> dict[str, Any] | None:
    world.require_scope(scope)
    ra = _find(world, scope, name)
    if ra is None:
        return None
    world.delete(ra["id"])
    return public(ra)


def list_permissions(world: World, principal_id: str, scope: str) -> list[dict[str, Any]]:
    """What the caller may do at ``scope``: one entry per permission block of every role it
    holds there (directly or through a group) that is already in force."""
    world.require_scope(scope)
    out = []
    for ra in authz.effective_assignments(world, principal_id, scope):
        definition = authz.role_definition(world, ra["properties"]["roleDefinitionId"])
        for perm in (definition or {}).get("properties", {}).get("permissions", []):
            out.append({k: list(perm.get(k) or []) for k in
                        ("actions", "notActions", "dataActions", "notDataActions")})
    return out
