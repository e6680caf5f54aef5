"""Microsoft.Resources: subscriptions, resource groups and the generic resource list."""

from __future__ import annotations

import re
from typing import Any

from simulator.core import authz, errors
from simulator.core.ids import is_within, key, parse
from simulator.core.world import World, public


def subscription_doc(world: World, sub: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": f"/subscriptions/{sub['subscriptionId']}",
        "authorizationSource": "RoleBased",
        "managedByTenants": [],
        "subscriptionId": sub["subscriptionId"],
        "tenantId": world.tenant_id,
        "displayName": sub["displayName"],
        "state": sub.get("state", "Enabled"),
        "subscriptionPolicies": {
            "locationPlacementId": "Public_2014-09-01",
            "quotaId": "PayAsYouGo_2014-09-01",
            "spendingLimit": "Off",
        },
        "tags": sub.get("tags", {}),
    }


def create_subscription(world: World, sub_id: str, name: str, tags: dict | None = None) -> None:
    world.state["subscriptions"][sub_id] = {"subscriptionId": sub_id, "displayName": name,
                                            "tags": tags or {}}


def visible_subscriptions(world: World, principal_id: str) -> list[dict[str, Any]]:
    """Subscriptions the principal holds any role in (at, above or below the subscription)."""
    ids = authz.principal_set(world, principal_id)
    out = []
    for sub_id, sub in world.state["subscriptions"].items():
        scope = f"/subscriptions/{sub_id}"
        for res in world.of_type(authz.ROLE_ASSIGNMENT_TYPE):
            p = res["properties"]
            if p["principalId"].lower() in ids and (
                is_within(p["scope"], scope) or is_within(scope, p["scope"])
            ):
                out.append(subscription_doc(world, sub))
                break
    return out


def get_subscription(world: World, sub_id: str) -> dict[str, Any]:
    for sid, sub in world.state["subscriptions"].items():
        if sid.lower() == sub_id.lower():
            return subscription_doc(world, sub)
    raise errors.subscription_not_found(sub_id)


def create_resource_group(
    world: World, sub_id: str, name: str, location: str, tags: dict | None = None,
    managed_by: str | None = None,
) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": f"/subscriptions/{sub_id}/resourceGroups/{name}",
        "name": name,
        "type": "Microsoft.Resources/resourceGroups",
        "location": location,
        "properties": {"provisioningState": "Succeeded"},
        "tags": tags or {},
    }
    if managed_by:
        doc["managedBy"] = managed_by
    return world.put(doc)


def resource_groups(world: World, sub_id: str) -> list[dict[str, Any]]:
    return world.of_type("Microsoft.Resources/resourceGroups", f"/subscriptions/{sub_id}")


_FILTER_CLAUSE = re.compile(
    r"(?P<field>resourceType|name|tagName|tagValue|location|resourceGroup)\s+eq\s+'(?P<v>[^']*)'",
    re.IGNORECASE,
)
_SUBSTRING = re.compile(r"substringof\('(?P<v>[^']*)',\s*name\)", re.IGNORECASE)


def generic_list(world: World, scope: str, filter_expr: str | None) -> list[dict[str, Any]]:
    """``GET .../resources`` with ARM's ``$filter`` subset (``and`` of ``eq`` clauses)."""
    items = [
        r for r in world.resources.values()
        if is_within(scope, r["id"]) and key(r["id"]) != key(scope)
        and parse(r["id"]).names and r.get("type", "").lower() not in (
            "microsoft.resources/resourcegroups", authz.ROLE_ASSIGNMENT_TYPE,
            authz.ROLE_DEFINITION_TYPE)
        and len(parse(r["id"]).types) == 1  # top-level resources only, as ARM lists them
    ]
    if filter_expr:
        clauses = [c.strip() for c in re.split(r"\s+and\s+", filter_expr, flags=re.IGNORECASE)]
        for clause in clauses:
            m = _FILTER_CLAUSE.fullmatch(clause)
            s = _SUBSTRING.fullmatch(clause)
            if s:
                items = [r for r in items if s["v"].lower() in r["name"].lower()]
                continue
            if not m:
                raise errors.bad_request(
                    "InvalidFilterInQueryString",
                    f"Invalid $filter '{filter_expr}' specified in the query string.",
                )
            field, v = m["field"].lower(), m["v"].lower()
            if field == "resourcetype":
                items = [r for r in items if r["type"].lower() == v]
            elif field == "name":
                items = [r for r in items if r["name"].lower() == v]
            elif field == "location":
                items = [r for r in items if r.get("location", "").lower() == v]
            elif field == "resourcegroup":
                items = [r for r in items if (parse(r["id"]).resource_group or "").lower() == v]
            elif field == "tagname":
                items = [r for r in items if v in {t.lower() for t in (r.get("tags") or {})}]
            elif field == "tagvalue":
                items = [r for r in items
                         if v in {str(t).lower() for t in (r.get("tags") or {}).values()}]
    out = []
    for r in items:
        doc = {k: r[k] for k in ("id", "name", "type", "location", "tags", "kind", "sku",
                                 "identity", "managedBy") if k in r}
        out.append(public(doc))
    return out
