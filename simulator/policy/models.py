"""Microsoft.Authorization policy definitions (built-in and custom) and policy assignments.

Built-in definitions are fixed data (``builtins.py``) served at tenant scope; custom ones and
assignments are world resources. ``evaluate.py`` enforces them on writes.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from simulator.core import errors
from simulator.core.ids import is_within, key, parse
from simulator.core.world import World, public
from simulator.identity.models import iso
from simulator.policy.builtins import builtin_definitions

DEF_TYPE = "Microsoft.Authorization/policyDefinitions"
ASSIGNMENT_TYPE = "Microsoft.Authorization/policyAssignments"


def _system_data(world: World, who: str | None) -> dict[str, Any]:
    now = iso(world.now())
    return {"createdBy": who, "createdByType": "Application" if who else None, "createdAt": now,
            "lastModifiedBy": who, "lastModifiedByType": "Application" if who else None,
            "lastModifiedAt": now}


# -- definitions ---------------------------------------------------------------------------
def builtin(name_or_display: str) -> dict[str, Any] | None:
    wanted = name_or_display.lower()
    for d in builtin_definitions():
        if wanted in (d["name"].lower(), d["properties"]["displayName"].lower(), key(d["id"])):
            return d
    return None


def policy_definition_not_found(name: str) -> errors.CloudError:
    return errors.arm_error(404, "PolicyDefinitionNotFound",
                            f"The policy definition '{name}' could not be found.")


def get_builtin(name: str) -> dict[str, Any]:
    d = builtin(name)
    if d is None or d["name"].lower() != name.lower():
        raise policy_definition_not_found(name)
    return d


def definition(world: World, definition_id: str) -> dict[str, Any] | None:
    """A definition by full id: a built-in or a custom one in the world."""
    if key(definition_id).startswith("/providers/"):
        return builtin(key(definition_id))
    return world.get(definition_id)


def get_subscription_definition(world: World, sub: str, name: str) -> dict[str, Any]:
    found = world.get(f"/subscriptions/{sub}/providers/{DEF_TYPE}/{name}") or builtin(name)
    if found is None or found["name"].lower() != name.lower():
        raise policy_definition_not_found(name)
    return public(found)


def list_subscription_definitions(world: World, sub: str) -> list[dict[str, Any]]:
    custom = world.of_type(DEF_TYPE, f"/subscriptions/{sub}")
    return [public(d) for d in builtin_definitions() + custom]


def create_custom_definition(
    world: World, *, sub: str, display_name: str, policy_rule: dict[str, Any],
    parameters: dict[str, Any] | None = None, mode: str = "Indexed", name: str | None = None,
    description: str = "", created_by: str | None = None,
) -> dict[str, Any]:
    name = name or str(uuid.uuid5(uuid.NAMESPACE_URL, f"{sub}/{display_name}".lower()))
    return world.put({
        "properties": {"displayName": display_name, "policyType": "Custom", "mode": mode,
                       "description": description, "metadata": {"category": "Custom"},
                       "version": "1.0.0", "parameters": parameters or {},
                       "policyRule": policy_rule, "versions": ["1.0.0"]},
        "id": f"/subscriptions/{sub}/providers/{DEF_TYPE}/{name}",
        "type": DEF_TYPE, "name": name, "systemData": _system_data(world, created_by),
    })


# -- assignments ---------------------------------------------------------------------------
def assignment_id(scope: str, name: str) -> str:
    return f"{scope.rstrip('/')}/providers/{ASSIGNMENT_TYPE}/{name}"


def create_assignment(
    world: World, *, scope: str, name: str, policy_definition_id: str,
    parameters: dict[str, Any] | None = None, enforcement_mode: str = "Default",
    display_name: str | None = None, not_scopes: list[str] | None = None,
    description: str | None = None, created_by: str | None = None,
) -> dict[str, Any]:
    d = definition(world, policy_definition_id)
    if d is None:
        raise policy_definition_not_found(policy_definition_id.rsplit("/", 1)[-1])
    allowed = d["properties"].get("parameters") or {}
    for pname, value in (parameters or {}).items():
        spec = allowed.get(pname)
        if spec is None:
            raise errors.bad_request(
                "UndefinedPolicyParameter",
                f"The policy assignment '{name}' has a parameter '{pname}' which is not "
                f"defined in the policy definition '{d['name']}'.")
        if spec.get("allowedValues") and value not in spec["allowedValues"]:
            raise errors.bad_request(
                "InvalidPolicyParameters",
                f"The policy parameter '{pname}' value '{value}' is not allowed; allowed "
                f"values: {spec['allowedValues']}.")
    version = d["properties"].get("version", "1.0.0")
    doc = {
        "properties": {
            "displayName": display_name or d["properties"]["displayName"],
            "policyDefinitionId": d["id"],
            "definitionVersion": version.split(".")[0] + ".*.*",
            "scope": scope,
            "notScopes": not_scopes or [],
            "parameters": {k: {"value": v} for k, v in (parameters or {}).items()},
            "description": description,
            "metadata": {"assignedBy": "pullfix scenario", "createdBy": created_by,
                         "createdOn": iso(world.now()), "updatedBy": None, "updatedOn": None},
            "enforcementMode": enforcement_mode,
            "nonComplianceMessages": [],
            "assignmentType": "Custom",
            "instanceId": str(uuid.uuid4()),
        },
        "id": assignment_id(scope, name),
        "type": ASSIGNMENT_TYPE,
        "name": name,
        "location": None,
        "identity": None,
        "systemData": _system_data(world, created_by),
    }
    if d["properties"]["policyRule"]["then"].get("details", {}).get("roleDefinitionIds"):
        # Modify/DeployIfNotExists assignments carry a system-assigned identity in Azure
        doc["location"] = "eastus"
        doc["identity"] = {"type": "SystemAssigned", "principalId": str(uuid.uuid4()),
                           "tenantId": world.tenant_id}
    return world.put(doc)


def get_assignment(world: World, scope: str, name: str) -> dict[str, Any]:
    found = world.get(assignment_id(scope, name))
    if found is None:
        raise errors.arm_error(404, "PolicyAssignmentNotFound",
                               f"The policy assignment '{name}' is not found.")
    return public(found)


_FILTER = re.compile(r"^\s*(?:(?P<fn>atScope|atExactScope)\(\)|policyDefinitionId\s+eq\s+"
                     r"'(?P<def>[^']+)')\s*$", re.IGNORECASE)


def list_assignments(world: World, target: str, filter_expr: str | None) -> list[dict[str, Any]]:
    """Assignments that apply to ``target`` (at or above it) plus, unfiltered, those on
    anything inside it — the semantics of list / listForResourceGroup / listForResource."""
    fn = def_id = None
    if filter_expr:
        m = _FILTER.match(filter_expr)
        if not m:
            raise errors.bad_request("InvalidFilterInQueryString",
                                     f"Invalid $filter '{filter_expr}' specified in the query "
                                     "string.")
        fn, def_id = (m["fn"] or "").lower(), m["def"]
    out = []
    for a in world.of_type(ASSIGNMENT_TYPE):
        scope = a["properties"]["scope"]
        above = is_within(scope, target)
        if fn == "atexactscope":
            ok = key(scope) == key(target)
        elif fn == "atscope":
            ok = above
        else:
            ok = above or (not def_id and is_within(target, scope))
        if def_id and key(a["properties"]["policyDefinitionId"]) != key(def_id):
            ok = False
        if ok:
            out.append(public(a))
    return out


def delete_assignment(world: World, scope: str, name: str) -> dict[str, Any] | None:
    found = world.delete(assignment_id(scope, name))
    return public(found) if found else None


def subscription_of(scope: str) -> str | None:
    return parse(scope).subscription
