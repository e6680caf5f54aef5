"""Role definitions API: list with ARM's $filter, get, create-or-update custom roles and
delete them. Built-ins are read-only and visible at every scope."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from simulator.authorization import exceptions as exc
from simulator.authorization.models import (
    PERMISSION_KEYS,
    ROLE_ASSIGNMENT_TYPE,
    ROLE_DEF_TYPE,
    guid_of,
    is_guid,
)
from simulator.core import authz, errors
from simulator.core.ids import is_within, parse
from simulator.core.world import World, public
from simulator.identity.models import iso


def definition_id(guid: str, scope: str | None) -> str:
    """ARM renders every definition, built-in or custom, under the subscription it is read
    through, and at the tenant root when read there."""
    sub = parse(scope).subscription if scope else None
    prefix = f"/subscriptions/{sub}" if sub else ""
    return f"{prefix}/providers/Microsoft.Authorization/roleDefinitions/{guid}"


def render_definition(doc: dict[str, Any], scope: str) -> dict[str, Any]:
    out = public(doc)
    home = scope
    if parse(scope).subscription is None and doc["properties"]["type"] == "CustomRole":
        home = doc["properties"]["assignableScopes"][0]
    out["id"] = definition_id(doc["name"], home)
    return out


def visible_at(doc: dict[str, Any], scope: str) -> bool:
    """Built-ins are visible everywhere; a custom role where its assignable scopes overlap."""
    if doc["properties"]["type"] == "BuiltInRole":
        return True
    return any(is_within(a, scope) or is_within(scope, a)
               for a in doc["properties"]["assignableScopes"])


def assignable_at(doc: dict[str, Any], scope: str) -> bool:
    return any(is_within(a, scope) for a in doc["properties"]["assignableScopes"])


def _clauses(expr: str) -> list[str]:
    return [c.strip() for c in re.split(r"\s+and\s+", expr.strip(), flags=re.IGNORECASE)]


_DEF_CLAUSE = re.compile(r"(?P<field>roleName|type)\s+eq\s+'(?P<v>[^']*)'", re.IGNORECASE)


def list_role_definitions(world: World, scope: str, filter_expr: str | None
                          ) -> list[dict[str, Any]]:
    world.require_scope(scope)
    items = [d for d in world.of_type(ROLE_DEF_TYPE) if visible_at(d, scope)]
    for clause in _clauses(filter_expr) if filter_expr else []:
        m = _DEF_CLAUSE.fullmatch(clause)
        if not m:
            raise exc.invalid_filter(filter_expr or "",
                                     "roleName eq '{name}' and type eq '{BuiltInRole|CustomRole}'")
        field = "roleName" if m["field"].lower() == "rolename" else "type"
        items = [d for d in items if d["properties"][field].lower() == m["v"].lower()]
    return [render_definition(d, scope) for d in items]


def get_role_definition(world: World, scope: str, guid: str) -> dict[str, Any]:
    world.require_scope(scope)
    doc = authz.role_definition(world, guid)
    if doc is None or not visible_at(doc, scope):
        raise exc.role_definition_does_not_exist(guid, 404)
    return render_definition(doc, scope)


def _assignments_of(world: World, guid: str) -> list[dict[str, Any]]:
    return [a for a in world.of_type(ROLE_ASSIGNMENT_TYPE)
            if guid_of(a["properties"]["roleDefinitionId"]) == guid.lower()]


def _validate_custom_role(world: World, guid: str, props: dict[str, Any]) -> None:
    name = (props.get("roleName") or "").strip()
    if not name:
        raise exc.invalid_role_definition("The role definition name (roleName) is required.")
    for other in world.of_type(ROLE_DEF_TYPE):
        if other["name"].lower() != guid.lower() and (
                other["properties"]["roleName"].lower() == name.lower()):
            raise exc.role_name_exists()
    scopes = props.get("assignableScopes") or []
    if not scopes:
        raise exc.invalid_role_definition("The role definition must have at least one "
                                          "assignable scope.")
    for s in scopes:
        if s.strip("/") == "":
            # only built-in roles may be assignable at the tenant root
            raise exc.invalid_role_definition("The assignable scope '/' is not allowed for a "
                                              "custom role. Use a subscription, resource group "
                                              "or management group.")
        if not s.lower().startswith(("/subscriptions/", "/providers/microsoft.management/")):
            raise exc.invalid_role_definition(f"The assignable scope '{s}' is not valid.")
        p = parse(s)
        if p.subscription and p.subscription.lower() not in {
                x.lower() for x in world.state["subscriptions"]}:
            raise errors.subscription_not_found(p.subscription)
    perms = props.get("permissions")
    if not perms:
        raise exc.invalid_role_definition("The role definition must have permissions.")
    for perm in perms:
        for k in PERMISSION_KEYS:
            for action in perm.get(k) or []:
                # '*' and '*/read' are the only actions without a provider namespace
                if action not in ("*", "*/read") and "/" not in action.strip("/"):
                    raise exc.invalid_action(action)


def create_or_update_role_definition(
    world: World, scope: str, guid: str, body: dict[str, Any], *,
    may_write: Callable[[str], None], caller: str | None = None,
) -> dict[str, Any]:
    """PUT a custom role. ``may_write(scope)`` raises unless the caller may write role
    definitions at that assignable scope (ARM checks every one, not just the URL's)."""
    if not is_guid(guid):
        raise exc.invalid_role_definition_id(guid)
    world.require_scope(scope)
    props = body.get("properties") or {}
    existing = authz.role_definition(world, guid)
    if existing is not None and existing["properties"]["type"] == "BuiltInRole":
        raise exc.invalid_role_definition(f"The role definition '{guid}' is a built-in role "
                                          "and cannot be updated.")
    _validate_custom_role(world, guid, props)
    for s in props["assignableScopes"]:
        may_write(s)
    now = iso(world.now())
    home = props["assignableScopes"][0]
    doc = {
        "id": definition_id(guid.lower(), home if parse(home).subscription else scope),
        "name": guid.lower(),
        "type": ROLE_DEF_TYPE,
        "properties": {
            "roleName": props["roleName"].strip(),
            "type": "CustomRole",
            "description": props.get("description") or "",
            "assignableScopes": list(props["assignableScopes"]),
            "permissions": [{k: list(p.get(k) or []) for k in PERMISSION_KEYS}
                            for p in props["permissions"]],
            "createdOn": existing["properties"]["createdOn"] if existing else now,
            "updatedOn": now,
            "createdBy": existing["properties"]["createdBy"] if existing else caller,
            "updatedBy": caller,
        },
    }
    if existing is not None:
        world.delete(existing["id"])
    world.put(doc)
    return render_definition(doc, scope)


def delete_role_definition(world: World, scope: str, guid: str) -> dict[str, Any] | None:
    world.require_scope(scope)
    doc = authz.role_definition(world, guid)
    if doc is None or not visible_at(doc, scope):
        return None
    if doc["properties"]["type"] == "BuiltInRole":
        raise exc.invalid_role_definition(f"The role definition '{guid}' is a built-in role "
                                          "and cannot be deleted.")
    if _assignments_of(world, guid):
        raise exc.role_definition_has_assignments()
    world.delete(doc["id"])
    return render_definition(doc, scope)
