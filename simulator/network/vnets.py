"""Virtual networks and their subnets (embedded in the VNet document, as Azure renders them).

A subnet's ``networkSecurityGroup`` / ``routeTable`` / ``natGateway`` references are mirrored
by the referenced resource's ``subnets`` back-reference list, and private endpoints placed in
a subnet appear in its ``privateEndpoints`` list, the way Azure shows them.
"""

from __future__ import annotations

import copy
import ipaddress
import uuid
from typing import Any

from simulator.core import errors
from simulator.core.world import World
from simulator.network.common import (
    NAT_GATEWAY,
    NSG,
    ROUTE_TABLE,
    SUBNET,
    VNET,
    etag,
    find_child,
    must_ref,
    overlaps,
    prefixes_of,
    ref,
    require_location,
    subnet_prefixes,
    upsert_child,
)

# subnet property -> the resource type it references (whose ``subnets`` list mirrors it)
SUBNET_REFS = {"networkSecurityGroup": NSG, "routeTable": ROUTE_TABLE, "natGateway": NAT_GATEWAY}
# what a caller may set on a subnet; the rest (ipConfigurations, privateEndpoints...) is Azure's
SUBNET_WRITABLE = ("addressPrefix", "addressPrefixes", "serviceEndpoints", "delegations",
                   "privateEndpointNetworkPolicies", "privateLinkServiceNetworkPolicies",
                   "defaultOutboundAccess", "serviceEndpointPolicies", "sharingScope")
SUBNET_SERVER_KEYS = ("privateEndpoints", "ipConfigurations", "serviceAssociationLinks",
                      "resourceNavigationLinks", "purpose")


def vnet_doc(*, vnet_id: str, name: str, location: str, prefixes: list[str],
             tags: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "name": name, "id": vnet_id, "etag": etag(), "type": VNET, "location": location,
        "tags": dict(tags or {}),
        "properties": {
            "provisioningState": "Succeeded", "resourceGuid": str(uuid.uuid4()),
            "addressSpace": {"addressPrefixes": list(prefixes)},
            "dhcpOptions": {"dnsServers": []},
            "subnets": [], "virtualNetworkPeerings": [],
            "enableDdosProtection": False, "privateEndpointVNetPolicies": "Disabled",
        },
    }


def subnet_doc(vnet_id: str, name: str, props: dict[str, Any]) -> dict[str, Any]:
    p: dict[str, Any] = {"provisioningState": "Succeeded"}
    p.update(props)
    p.setdefault("delegations", [])
    p.setdefault("privateEndpointNetworkPolicies", "Disabled")
    p.setdefault("privateLinkServiceNetworkPolicies", "Enabled")
    return {"name": name, "id": f"{vnet_id}/subnets/{name}", "etag": etag(), "type": SUBNET,
            "properties": p}


def _validate_prefix(vnet: dict[str, Any], subnet: dict[str, Any]) -> None:
    mine = subnet_prefixes(subnet)
    if not mine:
        raise errors.bad_request(
            "InvalidRequestFormat", f"Cannot parse the request. Subnet '{subnet['name']}' has "
            "no addressPrefix.")
    for prefix in mine:
        try:
            net = ipaddress.ip_network(prefix, strict=False)
        except ValueError:
            raise errors.bad_request(
                "InvalidAddressPrefixFormat",
                f"Address prefix {prefix} of resource {subnet['id']} is not formatted "
                "correctly. It should follow CIDR notation, for example 10.0.0.0/24.") from None
        if not any(net.subnet_of(ipaddress.ip_network(v, strict=False))
                   for v in prefixes_of(vnet) if ipaddress.ip_network(v).version == net.version):
            raise errors.bad_request(
                "NetcfgSubnetRangeOutsideVnet",
                f"Subnet '{subnet['name']}' is not valid because its IP address range is "
                f"outside the IP address range of virtual network '{vnet['name']}'.")
    for other in vnet["properties"].get("subnets") or []:
        if other["name"].lower() != subnet["name"].lower() and overlaps(
                mine, subnet_prefixes(other)):
            raise errors.bad_request(
                "NetcfgSubnetRangesOverlap",
                f"Subnet '{subnet['name']}' is not valid because its IP address range overlaps "
                f"with that of an existing subnet in virtual network '{vnet['name']}'.")


def sync_backrefs(world: World, subnet_id: str, props: dict[str, Any] | None) -> None:
    """Mirror a subnet's references in the referenced resources' ``subnets`` lists."""
    sid = subnet_id.lower()
    for prop, rtype in SUBNET_REFS.items():
        wanted = ((props or {}).get(prop) or {}).get("id", "").lower()
        # only the referenced resource and those that list the subnet now can change
        candidates = {id(d): d for d in world.lookup(f"network:subnet-holders:{rtype.lower()}",
                                                     rtype, _listed_subnets, sid)}
        target = world.get(wanted) if wanted else None
        if target is not None and target.get("type", "").lower() == rtype.lower():
            candidates[id(target)] = target
        for doc in candidates.values():
            lst = doc.setdefault("properties", {}).setdefault("subnets", [])
            has = [s for s in lst if s.get("id", "").lower() == sid]
            if doc["id"].lower() == wanted and not has:
                lst.append(ref(subnet_id))
                world.put(doc)  # re-files it in the holders index
            elif doc["id"].lower() != wanted and has:
                doc["properties"]["subnets"] = [s for s in lst if s not in has]
                world.put(doc)


def _listed_subnets(doc: dict[str, Any]) -> list[str]:
    """The subnets a resource's ``subnets`` back-references list (lower-cased ids)."""
    return [str(s.get("id", "")).lower() for s in (doc.get("properties") or {}).get("subnets")
            or []]


def build_subnet(world: World, vnet: dict[str, Any], name: str, body_props: dict[str, Any]
                 ) -> dict[str, Any]:
    """A subnet document from a request body, validated against the VNet and the world."""
    sid = f"{vnet['id']}/subnets/{name}"
    props = {k: copy.deepcopy(v) for k, v in body_props.items() if k in SUBNET_WRITABLE}
    for prop, rtype in SUBNET_REFS.items():
        r = must_ref(world, body_props.get(prop), rtype, sid)
        if r:
            props[prop] = r
    existing = find_child(vnet, "subnets", name)
    if existing:
        for k in SUBNET_SERVER_KEYS:
            if k in existing.get("properties", {}):
                props[k] = existing["properties"][k]
    subnet = subnet_doc(vnet["id"], name, props)
    _validate_prefix(vnet, subnet)
    return subnet


def _in_use(subnet: dict[str, Any]) -> str | None:
    p = subnet.get("properties", {})
    for key in ("privateEndpoints", "ipConfigurations"):
        if p.get(key):
            return p[key][0]["id"]
    return None


def create_or_update_vnet(world: World, vnet_id: str, name: str, body: dict[str, Any]
                          ) -> tuple[dict[str, Any], bool, list[dict[str, Any]]]:
    """Returns the stored VNet, whether it was created, and the subnets the PUT wrote."""
    location = require_location(body)
    props = body.get("properties") or {}
    prefixes = (props.get("addressSpace") or {}).get("addressPrefixes") or []
    existing = world.get(vnet_id)
    doc = vnet_doc(vnet_id=vnet_id, name=name, location=location, prefixes=prefixes,
                   tags=body.get("tags"))
    if existing:
        doc["properties"]["resourceGuid"] = existing["properties"].get("resourceGuid")
        doc["properties"]["subnets"] = existing["properties"].get("subnets") or []
        doc["properties"]["virtualNetworkPeerings"] = (
            existing["properties"].get("virtualNetworkPeerings") or [])
    for k in ("dhcpOptions", "enableDdosProtection", "encryption", "flowTimeoutInMinutes"):
        if k in props:
            doc["properties"][k] = copy.deepcopy(props[k])
    written = []
    if "subnets" in props:  # PUT semantics: the body's subnets are the VNet's subnets
        staged = {**doc, "properties": {**doc["properties"], "subnets": []}}
        for s in props["subnets"] or []:
            new = build_subnet(world, staged, s["name"], s.get("properties") or {})
            old = find_child(doc, "subnets", s["name"])
            for k in SUBNET_SERVER_KEYS if old else ():
                if k in old["properties"]:
                    new["properties"][k] = old["properties"][k]
            staged["properties"]["subnets"].append(new)
        kept = {s["name"].lower() for s in staged["properties"]["subnets"]}
        for old in doc["properties"]["subnets"]:
            if old["name"].lower() not in kept and _in_use(old):
                raise errors.bad_request(
                    "InUseSubnetCannotBeDeleted",
                    f"Subnet {old['name']} is in use by {_in_use(old)} and cannot be deleted. "
                    "In order to delete the subnet, delete all the resources within the subnet.")
            if old["name"].lower() not in kept:
                sync_backrefs(world, old["id"], None)
        doc["properties"]["subnets"] = staged["properties"]["subnets"]
        written = doc["properties"]["subnets"]
    world.put(doc)
    for s in written:
        sync_backrefs(world, s["id"], s["properties"])
    return doc, existing is None, written


def create_or_update_subnet(world: World, vnet: dict[str, Any], name: str,
                            body: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    subnet = build_subnet(world, vnet, name, body.get("properties") or {})
    created = find_child(vnet, "subnets", name) is None
    upsert_child(vnet, "subnets", subnet)
    sync_backrefs(world, subnet["id"], subnet["properties"])
    return subnet, created


def find_subnet(world: World, subnet_id: str) -> dict[str, Any] | None:
    """A subnet by id, from its VNet's document (for other providers, e.g. the kubelet)."""
    vnet_id, _, name = subnet_id.rstrip("/").rpartition("/subnets/")
    vnet = world.get(vnet_id)
    return find_child(vnet, "subnets", name) if vnet else None
