"""Azure Policy enforcement on writes: ``Modify`` rewrites the request, ``Deny`` refuses it.

Enough of the policy language for the resource providers the simulator models: ``field``
conditions (``equals``, ``notEquals``, ``in``, ``notIn``, ``exists``, ``contains``) over
``type``/``name``/``location``/``tags`` and property aliases (``<type>/<path>``), combined
with ``allOf``/``anyOf``/``not``, and ``[parameters('x')]`` references. Providers call
:func:`enforce` with the resource as it would be stored, before storing it.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

from simulator.core import errors
from simulator.core.ids import is_within
from simulator.core.world import World
from simulator.policy import models

_PARAM = re.compile(r"^\[parameters\('(?P<name>[^']+)'\)\]$")
_MISSING = object()


def _resolve(value: Any, params: dict[str, Any]) -> Any:
    if isinstance(value, str):
        m = _PARAM.match(value.strip())
        if m:
            return params.get(m["name"])
    return value


def _params(assignment: dict[str, Any], definition: dict[str, Any]) -> dict[str, Any]:
    out = {k: v.get("defaultValue") for k, v in
           (definition["properties"].get("parameters") or {}).items()}
    out.update({k: v.get("value") for k, v in
                (assignment["properties"].get("parameters") or {}).items()})
    return out


def _path(doc: dict[str, Any], field: str) -> tuple[dict[str, Any], list[str]]:
    """The container and key path an alias or top-level field names."""
    low = field.lower()
    if low in ("type", "name", "location", "kind", "id"):
        return doc, [field.lower()]
    if low.startswith("tags[") or low.startswith("tags."):
        return doc.setdefault("tags", {}), [field[5:].strip("[]'")]
    prefix = doc.get("type", "").lower() + "/"
    if not low.startswith(prefix):
        return doc, ["\0unknown"]
    parts = field[len(prefix):].split(".")
    if parts[0].lower() == "sku":
        return doc.setdefault("sku", {}), parts[1:]
    return doc.setdefault("properties", {}), parts


def _get(doc: dict[str, Any], field: str) -> Any:
    node: Any
    node, parts = _path(copy.deepcopy(doc), field)
    for part in parts:
        if not isinstance(node, dict):
            return _MISSING
        match = next((k for k in node if k.lower() == part.lower()), None)
        if match is None:
            return _MISSING
        node = node[match]
    return node


def _set(doc: dict[str, Any], field: str, value: Any) -> None:
    node, parts = _path(doc, field)
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value


def _eq(a: Any, b: Any) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        return a.lower() == b.lower()
    if isinstance(a, bool) or isinstance(b, bool):
        return str(a).lower() == str(b).lower()
    return a == b


def matches(cond: dict[str, Any], doc: dict[str, Any], params: dict[str, Any]) -> bool:
    if "allOf" in cond:
        return all(matches(c, doc, params) for c in cond["allOf"])
    if "anyOf" in cond:
        return any(matches(c, doc, params) for c in cond["anyOf"])
    if "not" in cond:
        return not matches(cond["not"], doc, params)
    value = _get(doc, cond["field"])
    present = value is not _MISSING and value is not None
    for op, raw in cond.items():
        if op == "field":
            continue
        want = _resolve(raw, params)
        if op == "equals":
            return present and _eq(value, want)
        if op == "notEquals":
            return not (present and _eq(value, want))
        if op == "in":
            return present and any(_eq(value, w) for w in want)
        if op == "notIn":
            return not (present and any(_eq(value, w) for w in want))
        if op == "exists":
            return present == (str(want).lower() == "true")
        if op == "contains":
            return present and str(want).lower() in str(value).lower()
    raise ValueError(f"unsupported policy condition {cond}")


def _in_force(world: World, resource_id: str, *, enforced_only: bool = True
              ) -> list[tuple[dict, dict, dict, str]]:
    out = []
    for a in world.of_type(models.ASSIGNMENT_TYPE):
        p = a["properties"]
        if enforced_only and p.get("enforcementMode", "Default") != "Default":
            continue
        if not is_within(p["scope"], resource_id):
            continue
        if any(is_within(ns, resource_id) for ns in p.get("notScopes") or []):
            continue
        d = models.definition(world, p["policyDefinitionId"])
        if d is None:
            continue
        params = _params(a, d)
        effect = str(_resolve(d["properties"]["policyRule"]["then"]["effect"], params)).lower()
        out.append((a, d, params, effect))
    return out


def enforce(world: World, doc: dict[str, Any], *, caller: Any = None) -> dict[str, Any]:
    """The document as Azure would store it after ``Modify`` policies; raises
    ``RequestDisallowedByPolicy`` (403) when a ``Deny`` policy matches."""
    doc = copy.deepcopy(doc)
    in_force = _in_force(world, doc["id"])
    for _a, d, params, effect in in_force:
        rule = d["properties"]["policyRule"]
        if effect == "modify" and matches(rule["if"], doc, params):
            for op in rule["then"].get("details", {}).get("operations", []):
                if op["operation"].lower() in ("addorreplace", "add"):
                    _set(doc, op["field"], _resolve(op["value"], params))
    denied = [(a, d, params) for a, d, params, effect in in_force
              if effect == "deny" and matches(d["properties"]["policyRule"]["if"], doc, params)]
    if denied:
        raise _disallowed(world, doc, denied, caller)
    return doc


def _disallowed(world: World, doc: dict[str, Any], denied: list[tuple[dict, dict, dict]],
                caller: Any) -> errors.CloudError:
    from simulator.monitor.models import record_event

    infos, ids = [], []
    for a, d, _params in denied:
        p = a["properties"]
        ids.append({"policyAssignment": {"name": p["displayName"], "id": a["id"]},
                    "policyDefinition": {"name": d["properties"]["displayName"], "id": d["id"],
                                         "version": d["properties"].get("version")}})
        infos.append({"type": "PolicyViolation", "info": {
            "policyDefinitionDisplayName": d["properties"]["displayName"],
            "policyDefinitionId": d["id"], "policyDefinitionName": d["name"],
            "policyDefinitionVersion": d["properties"].get("version"),
            "policyDefinitionEffect": "Deny",
            "policyAssignmentId": a["id"], "policyAssignmentName": a["name"],
            "policyAssignmentDisplayName": p["displayName"], "policyAssignmentScope": p["scope"],
            "policyAssignmentParameters": p.get("parameters") or {},
            "policyExemptionIds": [], "policyEnrollmentIds": [],
        }})
        record_event(world, operation_name="Microsoft.Authorization/policies/deny/action",
                     resource_id=doc["id"], caller=caller, status="Failed", category="Policy",
                     level="Error", http_status=403,
                     properties={"policies": json.dumps([ids[-1]]), "isComplianceCheck": "False"})
    reasons = "', '".join(d["properties"]["displayName"] for _a, d, _p in denied)
    return errors.CloudError(403, {"error": {
        "code": "RequestDisallowedByPolicy", "target": doc["name"],
        "message": f"Resource '{doc['name']}' was disallowed by policy. Reasons: '{reasons}'. "
                   "See error details for policy resource IDs.",
        "additionalInfo": infos,
    }})


def violations(world: World, doc: dict[str, Any]) -> list[dict[str, Any]]:
    """Assignments (any effect except Disabled) whose rule the resource does not satisfy,
    as the compliance scan would report them."""
    out = []
    for a, d, params, effect in _in_force(world, doc["id"], enforced_only=False):
        if effect != "disabled" and matches(d["properties"]["policyRule"]["if"], doc, params):
            out.append({"assignment": a["id"], "definition": d["id"], "effect": effect})
    return out

