"""Shared pieces of Microsoft.Network: resource types, ids, errors, rendering and LROs.

Azure's network RP embeds some child resources in their parent's JSON (subnets and peerings
in the VNet, security rules in the NSG, routes in the route table). The simulator stores
them exactly there — the parent document is the one truth, so a VNet another provider
stores directly (AKS) is served the same way. A child written through a long-running
operation carries its operation id as ``_op`` until the operation completes; readers call
:func:`settle_embedded` first, which flips it to ``Succeeded`` (or drops a deleted child).
"""

from __future__ import annotations

import ipaddress
import uuid
from typing import Any

from simulator.core import errors, lro
from simulator.core.ids import parse
from simulator.core.routing import Ctx, Reply
from simulator.core.world import World, public

NS = "Microsoft.Network"
VNET = "Microsoft.Network/virtualNetworks"
SUBNET = "Microsoft.Network/virtualNetworks/subnets"
PEERING = "Microsoft.Network/virtualNetworks/virtualNetworkPeerings"
NSG = "Microsoft.Network/networkSecurityGroups"
RULE = "Microsoft.Network/networkSecurityGroups/securityRules"
DEFAULT_RULE = "Microsoft.Network/networkSecurityGroups/defaultSecurityRules"
ROUTE_TABLE = "Microsoft.Network/routeTables"
ROUTE = "Microsoft.Network/routeTables/routes"
PUBLIC_IP = "Microsoft.Network/publicIPAddresses"
NAT_GATEWAY = "Microsoft.Network/natGateways"
FIREWALL = "Microsoft.Network/azureFirewalls"
POLICY = "Microsoft.Network/firewallPolicies"
RCG = "Microsoft.Network/firewallPolicies/ruleCollectionGroups"
PRIVATE_ENDPOINT = "Microsoft.Network/privateEndpoints"
ZONE_GROUP = "Microsoft.Network/privateEndpoints/privateDnsZoneGroups"
NIC = "Microsoft.Network/networkInterfaces"

# list key in the parent's properties -> ARM type of the embedded child
EMBEDDED = {"subnets": SUBNET, "virtualNetworkPeerings": PEERING, "securityRules": RULE,
            "routes": ROUTE}


def etag() -> str:
    return f'W/"{uuid.uuid4()}"'


def top_id(sub: str, rg: str, rtype: str, name: str) -> str:
    return f"/subscriptions/{sub}/resourceGroups/{rg}/providers/{rtype}/{name}"


def ref(resource_id: str) -> dict[str, str]:
    return {"id": resource_id}


def region(location: str) -> str:
    """``West US`` -> ``westus``: the form Azure uses in operation URLs and hostnames."""
    return location.replace(" ", "").lower()


# -- errors in the network RP's words ----------------------------------------------------------
def child_not_found(resource_id: str) -> errors.CloudError:
    return errors.arm_error(404, "NotFound", f"Resource {resource_id} not found.")


def parent_not_found(resource_id: str) -> errors.CloudError:
    return errors.arm_error(
        404, "ParentResourceNotFound",
        "Can not perform requested operation on nested resource. Parent resource "
        f"'{parse(resource_id).name}' not found.",
    )


def invalid_reference(target: str, by: str) -> errors.CloudError:
    return errors.bad_request(
        "InvalidResourceReference",
        f"Resource {target} referenced by resource {by} was not found. Please make sure that "
        "the referenced resource exists, and that both resources are in the same region.",
    )


def require_location(body: dict[str, Any]) -> str:
    if not body.get("location"):
        raise errors.bad_request("LocationRequired",
                                 "The location property is required for this definition.")
    return str(body["location"])


def must_ref(world: World, value: Any, rtype: str, by: str) -> dict[str, str] | None:
    """A ``{"id": ...}`` reference from a request body, checked to exist and be ``rtype``."""
    if not value:
        return None
    rid = value.get("id") if isinstance(value, dict) else None
    doc = world.get(rid) if rid else None
    if doc is None or doc.get("type", "").lower() != rtype.lower():
        raise invalid_reference(str(rid), by)
    return ref(doc["id"])


# -- embedded children -------------------------------------------------------------------------
def settle_embedded(world: World, doc: dict[str, Any]) -> dict[str, Any]:
    props = doc.get("properties") or {}
    for key in EMBEDDED:
        items = props.get(key)
        if not isinstance(items, list):
            continue
        keep = []
        for item in items:
            op_id = item.get("_op")
            if op_id:
                op = world.operation(op_id)
                if op is None or op["status"] != "InProgress":
                    if item.get("_deleting"):
                        continue
                    item.pop("_op", None)
                    item.setdefault("properties", {})["provisioningState"] = "Succeeded"
            keep.append(item)
        props[key] = keep
    return doc


def render(world: World, doc: dict[str, Any]) -> dict[str, Any]:
    return public(settle_embedded(world, doc))


def find_child(parent: dict[str, Any], key: str, name: str) -> dict[str, Any] | None:
    for item in parent.get("properties", {}).get(key) or []:
        if item.get("name", "").lower() == name.lower():
            return item
    return None


def upsert_child(parent: dict[str, Any], key: str, child: dict[str, Any]) -> None:
    items = parent.setdefault("properties", {}).setdefault(key, [])
    for i, item in enumerate(items):
        if item.get("name", "").lower() == child["name"].lower():
            items[i] = child
            return
    items.append(child)


def get_parent(world: World, parent_id: str, *, for_write: bool) -> dict[str, Any]:
    doc = world.get(parent_id)
    if doc is None:
        world.require_scope(parent_id)
        if for_write:
            raise parent_not_found(parent_id)
        doc = world.must_get(parent_id)
    return settle_embedded(world, doc)


def get_child(world: World, parent_id: str, key: str, name: str) -> dict[str, Any]:
    parent = get_parent(world, parent_id, for_write=False)
    child = find_child(parent, key, name)
    if child is None:
        raise child_not_found(f"{parent['id']}/{key}/{name}")
    return child


# -- long-running operations -------------------------------------------------------------------
def _op_id(reply: Reply) -> str:
    return reply.headers["Azure-AsyncOperation"].split("/operations/")[1].split("?")[0]


def begin(ctx: Ctx, doc: dict[str, Any], *, status: int, kind: str = "put",
          location: str | None = None, embedded: tuple[dict[str, Any], ...] = ()) -> Reply:
    """Answer a PUT/DELETE the way the network RP does: Azure-AsyncOperation (and Location
    for deletes), the body saying ``Updating``/``Deleting``, and the stored state flipping to
    ``Succeeded`` (or going away) when the operation completes."""
    for item in (doc, *embedded):
        item.setdefault("properties", {})["provisioningState"] = (
            "Deleting" if kind == "delete" else "Updating")
    headers = ("Azure-AsyncOperation", "Location") if kind == "delete" else (
        "Azure-AsyncOperation",)
    reply = lro.begin(ctx, resource_id=doc["id"], kind=kind, namespace=NS,
                      location=region(location or doc.get("location") or "global"),
                      status=status, body=None if kind == "delete" else doc, headers=headers)
    op_id = _op_id(reply)
    for item in embedded:
        item["_op"] = op_id
        if kind == "delete":
            item["_deleting"] = True
    return reply


def begin_child(ctx: Ctx, parent: dict[str, Any], key: str, child: dict[str, Any], *,
                status: int, kind: str = "put") -> Reply:
    child.setdefault("properties", {})["provisioningState"] = (
        "Deleting" if kind == "delete" else "Updating")
    headers = ("Azure-AsyncOperation", "Location") if kind == "delete" else (
        "Azure-AsyncOperation",)
    reply = lro.begin(ctx, resource_id=child["id"], kind=kind, namespace=NS,
                      location=region(parent.get("location") or "global"), status=status,
                      body=None if kind == "delete" else child, headers=headers)
    child["_op"] = _op_id(reply)
    if kind == "delete":
        child["_deleting"] = True
    parent["etag"] = etag()
    return reply


# -- listing -----------------------------------------------------------------------------------
def list_top(ctx: Ctx, rtype: str) -> dict[str, Any]:
    sub, rg = ctx.params["sub"], ctx.params.get("rg")
    scope = f"/subscriptions/{sub}" + (f"/resourceGroups/{rg}" if rg else "")
    ctx.world.require_scope(scope)
    return {"value": [render(ctx.world, d) for d in ctx.world.of_type(rtype, scope)]}


# -- addresses ---------------------------------------------------------------------------------
def prefixes_of(vnet: dict[str, Any]) -> list[str]:
    return list((vnet.get("properties", {}).get("addressSpace") or {}).get("addressPrefixes")
                or [])


def subnet_prefixes(subnet: dict[str, Any]) -> list[str]:
    p = subnet.get("properties", {})
    return [p["addressPrefix"]] if p.get("addressPrefix") else list(p.get("addressPrefixes") or [])


def overlaps(a: list[str], b: list[str]) -> bool:
    return any(ipaddress.ip_network(x, strict=False).overlaps(ipaddress.ip_network(y, strict=False))
               for x in a for y in b)


def used_ips(world: World, subnet_id: str) -> set[str]:
    """Private IPs already handed out in a subnet (private endpoints, firewalls, NICs)."""
    out: set[str] = set()
    for nic in world.of_type(NIC):
        for cfg in nic.get("properties", {}).get("ipConfigurations") or []:
            p = cfg.get("properties", {})
            if (p.get("subnet") or {}).get("id", "").lower() == subnet_id.lower():
                out.add(p.get("privateIPAddress", ""))
    for fw in world.of_type(FIREWALL):
        for cfg in fw.get("properties", {}).get("ipConfigurations") or []:
            p = cfg.get("properties", {})
            if (p.get("subnet") or {}).get("id", "").lower() == subnet_id.lower():
                out.add(p.get("privateIPAddress", ""))
    return out


def next_ip(world: World, subnet: dict[str, Any]) -> str:
    """The next free address; Azure reserves the first four of every subnet."""
    taken = used_ips(world, subnet["id"])
    net = ipaddress.ip_network(subnet_prefixes(subnet)[0], strict=False)
    for i, host in enumerate(net.hosts()):
        if i >= 3 and str(host) not in taken:
            return str(host)
    raise errors.bad_request("SubnetIsFull", f"Subnet {subnet['id']} has no free IP addresses.")
