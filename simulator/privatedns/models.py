"""Microsoft.Network/privateDnsZones: zones, virtual network links and record sets.

Each is its own ARM resource in the world. A zone always has its ``@`` SOA record set, and
its ``numberOf...`` counters are derived from the world when rendered (so record sets and
links stored directly by other providers are counted too).
"""

from __future__ import annotations

import copy
import uuid
from typing import Any

from simulator.core import errors
from simulator.core.ids import key, parse
from simulator.core.world import World, public

ZONE = "Microsoft.Network/privateDnsZones"
LINK = "Microsoft.Network/privateDnsZones/virtualNetworkLinks"
# record type -> the property holding its records
RECORD_KEYS = {"A": "aRecords", "AAAA": "aaaaRecords", "CNAME": "cnameRecord",
               "MX": "mxRecords", "PTR": "ptrRecords", "SOA": "soaRecord",
               "SRV": "srvRecords", "TXT": "txtRecords"}
LIMITS = {"maxNumberOfRecordSets": 25000, "maxNumberOfVirtualNetworkLinks": 1000,
          "maxNumberOfVirtualNetworkLinksWithRegistration": 100}


def new_etag() -> str:
    return str(uuid.uuid4())


def record_type(rtype: str) -> str:
    """The canonical record type for a path segment, or the error Azure gives."""
    up = rtype.upper()
    if up not in RECORD_KEYS:
        raise errors.bad_request(
            "BadRequest", f"The record type '{rtype}' is not supported for private DNS zones.")
    return up


def zone_doc(zone_id: str, name: str, tags: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "id": zone_id, "name": name, "type": ZONE, "location": "global", "etag": new_etag(),
        "tags": dict(tags or {}),
        "properties": {**LIMITS, "numberOfRecordSets": 1, "numberOfVirtualNetworkLinks": 0,
                       "numberOfVirtualNetworkLinksWithRegistration": 0,
                       "provisioningState": "Succeeded",
                       "internalId": f"SW1hZ2luYXJ5Wm9uZTt7{uuid.uuid4().hex[:16]}"},
    }


def record_doc(zone: dict[str, Any], rtype: str, name: str, props: dict[str, Any]
               ) -> dict[str, Any]:
    rtype = record_type(rtype)
    fqdn = f"{zone['name']}." if name == "@" else f"{name}.{zone['name']}."
    p: dict[str, Any] = {"ttl": props.get("ttl", 3600), "fqdn": fqdn, "isAutoRegistered": False}
    if props.get("metadata"):
        p["metadata"] = copy.deepcopy(props["metadata"])
    field = RECORD_KEYS[rtype]
    p[field] = copy.deepcopy(props.get(field) or ({} if field.endswith("Record") else []))
    return {"id": f"{zone['id']}/{rtype}/{name}", "etag": new_etag(), "name": name,
            "type": f"{ZONE}/{rtype}", "properties": p}


def soa_doc(zone: dict[str, Any]) -> dict[str, Any]:
    return record_doc(zone, "SOA", "@", {"ttl": 3600, "soaRecord": {
        "host": "azureprivatedns.net", "email": "azureprivatedns-hostmaster.microsoft.com",
        "serialNumber": 1, "refreshTime": 3600, "retryTime": 300, "expireTime": 2419200,
        "minimumTtl": 10}})


def create_zone(world: World, zone_id: str, name: str, tags: dict[str, str] | None = None
                ) -> dict[str, Any]:
    zone = world.put(zone_doc(zone_id, name, tags))
    world.put(soa_doc(zone))
    return zone


def records(world: World, zone_id: str, rtype: str | None = None) -> list[dict[str, Any]]:
    prefix = key(zone_id) + "/"
    want = f"{ZONE}/{rtype}".lower() if rtype else None
    return [r for k, r in world.resources.items()
            if k.startswith(prefix) and r.get("type", "").lower().startswith(ZONE.lower() + "/")
            and r["type"].lower() != LINK.lower() and (want is None or r["type"].lower() == want)]


def links(world: World, zone_id: str) -> list[dict[str, Any]]:
    return world.of_type(LINK, zone_id)


def render_zone(world: World, zone: dict[str, Any]) -> dict[str, Any]:
    out = public(zone)
    zl = links(world, zone["id"])
    out["properties"].update({
        "numberOfRecordSets": len(records(world, zone["id"])),
        "numberOfVirtualNetworkLinks": len(zl),
        "numberOfVirtualNetworkLinksWithRegistration": sum(
            1 for link in zl if link["properties"].get("registrationEnabled")),
    })
    return out


def put_a_record(world: World, zone_id: str, name: str, ips: list[str], ttl: int = 3600
                 ) -> dict[str, Any]:
    zone = world.must_get(zone_id)
    return world.put(record_doc(zone, "A", name, {
        "ttl": ttl, "aRecords": [{"ipv4Address": ip} for ip in ips]}))


def link_doc(zone: dict[str, Any], name: str, vnet_id: str, *, registration: bool = False,
             resolution_policy: str = "Default", tags: dict[str, str] | None = None
             ) -> dict[str, Any]:
    return {
        "id": f"{zone['id']}/virtualNetworkLinks/{name}", "name": name, "type": LINK,
        "location": "global", "etag": new_etag(), "tags": dict(tags or {}),
        "properties": {"virtualNetwork": {"id": vnet_id}, "registrationEnabled": registration,
                       "resolutionPolicy": resolution_policy,
                       "virtualNetworkLinkState": "Completed",
                       "provisioningState": "Succeeded"},
    }


def check_link(world: World, zone: dict[str, Any], name: str, vnet_id: str) -> str:
    """Validate a link the way Azure does; returns the VNet's id as stored."""
    vnet = world.get(vnet_id) if vnet_id else None
    if vnet is None or vnet.get("type", "").lower() != "microsoft.network/virtualnetworks":
        raise errors.bad_request("BadRequest",
                                 f"Virtual network resource not found for '{vnet_id}'")
    for link in world.of_type(LINK):
        if key(link["properties"]["virtualNetwork"]["id"]) != key(vnet["id"]):
            continue
        other_zone_id = link["id"].rsplit("/virtualNetworkLinks/", 1)[0]
        same_zone = key(other_zone_id) == key(zone["id"])
        if same_zone and link["name"].lower() != name.lower():
            raise errors.arm_error(
                409, "Conflict", f"Private zone '{zone['name']}' is already linked to the "
                f"virtual network '{vnet['id']}'.")
        other_name = parse(other_zone_id).name
        if not same_zone and other_name.lower() == zone["name"].lower():
            raise errors.bad_request(
                "BadRequest", "A virtual network cannot be linked to multiple zones with "
                "overlapping namespaces. You tried to link virtual network with "
                f"'{other_name}' and '{zone['name']}' zones.")
    return vnet["id"]
