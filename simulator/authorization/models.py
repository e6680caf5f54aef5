"""Microsoft.Authorization state: built-in and custom role definitions and the creation of
role assignments, shared by the scenario builders and the API (``definitions.py`` for role
definitions, ``assignments.py`` for role assignments and permissions)."""

from __future__ import annotations

import json
import uuid
from importlib import resources
from typing import Any

from simulator.authorization import exceptions as exc
from simulator.core import authz
from simulator.core.ids import parse
from simulator.core.world import World
from simulator.identity.models import iso

ROLE_DEF_TYPE = "Microsoft.Authorization/roleDefinitions"
ROLE_ASSIGNMENT_TYPE = "Microsoft.Authorization/roleAssignments"
PERMISSION_KEYS = ("actions", "notActions", "dataActions", "notDataActions")


def builtin_roles() -> list[dict[str, Any]]:
    data = resources.files("simulator").joinpath("data/builtin_roles.json").read_text()
    return json.loads(data)


def install_builtin_roles(world: World) -> None:
    for role in builtin_roles():
        world.put({
            "id": f"/providers/Microsoft.Authorization/roleDefinitions/{role['name']}",
            "name": role["name"],
            "type": ROLE_DEF_TYPE,
            "properties": {
                "roleName": role["roleName"],
                "type": "BuiltInRole",
                "description": role["description"],
                "assignableScopes": ["/"],
                "permissions": role["permissions"],
                "createdOn": "2015-02-02T21:55:09.8806423Z",
                "updatedOn": "2024-01-01T00:00:00.0000000Z",
                "createdBy": None,
                "updatedBy": None,
            },
        })


def is_guid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return len(value) in (32, 36)


def guid_of(role_definition_id: str) -> str:
    return role_definition_id.rstrip("/").rsplit("/", 1)[-1].lower()


def role_by_name(world: World, role_name: str) -> dict[str, Any]:
    for r in world.of_type(ROLE_DEF_TYPE):
        if r["properties"]["roleName"].lower() == role_name.lower() or r["name"] == role_name:
            return r
    raise KeyError(role_name)


def create_custom_role(
    world: World, *, name: str, scope: str, permissions: list[dict[str, Any]],
    description: str = "", role_id: str | None = None,
) -> dict[str, Any]:
    role_id = role_id or str(uuid.uuid5(uuid.NAMESPACE_URL, f"role:{scope}:{name}"))
    doc = {
        "id": f"{scope.rstrip('/')}/providers/Microsoft.Authorization/roleDefinitions/{role_id}",
        "name": role_id,
        "type": ROLE_DEF_TYPE,
        "properties": {
            "roleName": name,
            "type": "CustomRole",
            "description": description,
            "assignableScopes": [scope],
            "permissions": [{k: p.get(k, []) for k in PERMISSION_KEYS} for p in permissions],
            "createdOn": iso(world.now()),
            "updatedOn": iso(world.now()),
            "createdBy": None,
            "updatedBy": None,
        },
    }
    return world.put(doc)


def directory_type(world: World, principal_id: str) -> str | None:
    """The principal's type in the directory, or None when it does not exist there."""
    pid = principal_id.lower()
    g = world.graph
    kinds = (("users", "User"), ("groups", "Group"), ("servicePrincipals", "ServicePrincipal"))
    for kind, label in kinds:  # object ids are keys: look them up before scanning
        if pid in g.get(kind, {}) or principal_id in g.get(kind, {}):
            return label
    for kind, label in kinds:
        if any(k.lower() == pid for k in g.get(kind, {})):
            return label
    return None


def principal_type(world: World, principal_id: str) -> str:
    return directory_type(world, principal_id) or "ServicePrincipal"


def create_role_assignment(
    world: World, *, scope: str, role_definition_id: str, principal_id: str,
    name: str | None = None, principal_type_: str | None = None, effective_now: bool = False,
    created_by: str | None = None, description: str | None = None,
    condition: str | None = None, condition_version: str | None = None,
) -> dict[str, Any]:
    """Create an assignment; it is honoured only after the propagation delay unless
    ``effective_now`` (scenario seeding: the world existed before the story starts)."""
    name = name or str(uuid.uuid4())
    guid = guid_of(role_definition_id)
    definition = authz.role_definition(world, guid)
    if definition is None:
        raise exc.role_definition_does_not_exist(guid)
    sub = parse(scope).subscription
    rd_id = (f"/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{guid}"
             if sub else f"/providers/Microsoft.Authorization/roleDefinitions/{guid}")
    now = world.now()
    doc = {
        "id": f"{scope.rstrip('/')}/providers/Microsoft.Authorization/roleAssignments/{name}",
        "name": name,
        "type": ROLE_ASSIGNMENT_TYPE,
        "properties": {
            "roleDefinitionId": rd_id,
            "principalId": principal_id,
            "principalType": principal_type_ or principal_type(world, principal_id),
            "scope": scope,
            "condition": condition,
            "conditionVersion": condition_version or ("2.0" if condition else None),
            "description": description,
            "createdOn": iso(now),
            "updatedOn": iso(now),
            "createdBy": created_by,
            "updatedBy": created_by,
            "delegatedManagedIdentityResourceId": None,
        },
        "_effectiveAt": 0 if effective_now else now + world.delay(
            float(world.settings.get("role_propagation_seconds", 0))),
    }
    return world.put(doc)
