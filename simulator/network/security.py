"""Network security groups (security rules embedded, default rules rendered as Azure does)
and route tables (routes embedded)."""

from __future__ import annotations

import copy
import uuid
from typing import Any

from simulator.core import errors
from simulator.network.common import DEFAULT_RULE, NSG, ROUTE, ROUTE_TABLE, RULE, etag

RULE_WRITABLE = ("description", "protocol", "sourcePortRange", "destinationPortRange",
                 "sourceAddressPrefix", "destinationAddressPrefix", "sourcePortRanges",
                 "destinationPortRanges", "sourceAddressPrefixes", "destinationAddressPrefixes",
                 "sourceApplicationSecurityGroups", "destinationApplicationSecurityGroups",
                 "access", "priority", "direction")
# (name, description, source, destination, access, priority, direction): Azure's six defaults
DEFAULT_RULES = (
    ("AllowVnetInBound", "Allow inbound traffic from all VMs in VNET", "VirtualNetwork",
     "VirtualNetwork", "Allow", 65000, "Inbound"),
    ("AllowAzureLoadBalancerInBound", "Allow inbound traffic from azure load balancer",
     "AzureLoadBalancer", "*", "Allow", 65001, "Inbound"),
    ("DenyAllInBound", "Deny all inbound traffic", "*", "*", "Deny", 65500, "Inbound"),
    ("AllowVnetOutBound", "Allow outbound traffic from all VMs to all VMs in VNET",
     "VirtualNetwork", "VirtualNetwork", "Allow", 65000, "Outbound"),
    ("AllowInternetOutBound", "Allow outbound traffic from all VMs to Internet", "*",
     "Internet", "Allow", 65001, "Outbound"),
    ("DenyAllOutBound", "Deny all outbound traffic", "*", "*", "Deny", 65500, "Outbound"),
)


def _rule_props(p: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"provisioningState": "Succeeded"}
    out.update(p)
    for k in ("sourcePortRanges", "destinationPortRanges", "sourceAddressPrefixes",
              "destinationAddressPrefixes"):
        out.setdefault(k, [])
    return out


def default_rules(nsg_id: str) -> list[dict[str, Any]]:
    return [
        {"name": n, "id": f"{nsg_id}/defaultSecurityRules/{n}", "etag": etag(),
         "type": DEFAULT_RULE,
         "properties": _rule_props({
             "description": d, "protocol": "*", "sourcePortRange": "*",
             "destinationPortRange": "*", "sourceAddressPrefix": s,
             "destinationAddressPrefix": t, "access": a, "priority": pr, "direction": dr})}
        for n, d, s, t, a, pr, dr in DEFAULT_RULES
    ]


def rule_doc(nsg_id: str, name: str, props: dict[str, Any]) -> dict[str, Any]:
    rid = f"{nsg_id}/securityRules/{name}"
    p = {k: copy.deepcopy(v) for k, v in props.items() if k in RULE_WRITABLE}
    prio = p.get("priority")
    if not isinstance(prio, int) or not 100 <= prio <= 4096:
        raise errors.bad_request(
            "SecurityRuleInvalidPriority",
            f"Security rule has invalid Priority. Value provided: {prio}. Allowed values are "
            "from 100 to 4096.")
    for field, allowed in (("access", ("Allow", "Deny")), ("direction", ("Inbound", "Outbound")),
                           ("protocol", ("Tcp", "Udp", "Icmp", "Esp", "Ah", "*"))):
        if str(p.get(field, "")).lower() not in {a.lower() for a in allowed}:
            raise errors.bad_request(
                f"SecurityRuleInvalid{field.capitalize()}",
                f"Security rule {rid} has invalid {field.capitalize()}. Value provided: "
                f"{p.get(field)}. Allowed values are {', '.join(allowed)}.")
    return {"name": name, "id": rid, "etag": etag(), "type": RULE, "properties": _rule_props(p)}


def check_conflicts(rules: list[dict[str, Any]]) -> None:
    seen: dict[tuple[int, str], str] = {}
    for r in rules:
        k = (r["properties"]["priority"], r["properties"]["direction"].lower())
        if k in seen:
            raise errors.bad_request(
                "SecurityRuleConflict",
                f"Security rule {r['name']} conflicts with rule {seen[k]}. Rules cannot have "
                "the same Priority and Direction. To learn more, see aka.ms/nsgrules.")
        seen[k] = r["name"]


def nsg_doc(*, nsg_id: str, name: str, location: str, rules: list[dict[str, Any]],
            tags: dict[str, str] | None = None) -> dict[str, Any]:
    built = [rule_doc(nsg_id, r["name"], r.get("properties") or {}) for r in rules]
    check_conflicts(built)
    return {
        "name": name, "id": nsg_id, "etag": etag(), "type": NSG, "location": location,
        "tags": dict(tags or {}),
        "properties": {"provisioningState": "Succeeded", "resourceGuid": str(uuid.uuid4()),
                       "securityRules": built, "defaultSecurityRules": default_rules(nsg_id)},
    }


ROUTE_WRITABLE = ("addressPrefix", "nextHopType", "nextHopIpAddress")
NEXT_HOPS = ("VirtualNetworkGateway", "VnetLocal", "Internet", "VirtualAppliance", "None")


def route_doc(table_id: str, name: str, props: dict[str, Any]) -> dict[str, Any]:
    p = {k: v for k, v in props.items() if k in ROUTE_WRITABLE}
    if str(p.get("nextHopType", "")).lower() not in {h.lower() for h in NEXT_HOPS}:
        raise errors.bad_request(
            "InvalidRequestFormat",
            f"Cannot parse the request. Route {table_id}/routes/{name} has invalid nextHopType "
            f"'{p.get('nextHopType')}'.")
    if p["nextHopType"].lower() == "virtualappliance" and not p.get("nextHopIpAddress"):
        raise errors.bad_request(
            "RouteNextHopIpAddressMissing",
            f"Route {table_id}/routes/{name} has next hop type VirtualAppliance but no next hop "
            "IP address.")
    return {"name": name, "id": f"{table_id}/routes/{name}", "etag": etag(), "type": ROUTE,
            "properties": {"provisioningState": "Succeeded", **p, "hasBgpOverride": False}}


def route_table_doc(*, table_id: str, name: str, location: str, routes: list[dict[str, Any]],
                    disable_bgp: bool = False, tags: dict[str, str] | None = None
                    ) -> dict[str, Any]:
    return {
        "name": name, "id": table_id, "etag": etag(), "type": ROUTE_TABLE, "location": location,
        "tags": dict(tags or {}),
        "properties": {"provisioningState": "Succeeded", "resourceGuid": str(uuid.uuid4()),
                       "disableBgpRoutePropagation": disable_bgp,
                       "routes": [route_doc(table_id, r["name"], r.get("properties") or {})
                                  for r in routes]},
    }
