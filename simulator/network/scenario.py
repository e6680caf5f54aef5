"""Scenario builders for Microsoft.Network.

References: ``vnet:NAME``, ``nsg:NAME``, ``route-table:NAME``, ``nat-gateway:NAME``,
``public-ip:NAME``, ``firewall:NAME``, ``firewall-policy:NAME``, ``private-endpoint:NAME``
(or an ARM id); a bare name means the resource of that kind in the entry's own group. A
subnet is referred to as ``vnet:NAME/subnets/SUBNET`` (or its ARM id) — subnets live inside
their VNet's document, so :func:`resolve_subnet` resolves them, not ``resolve_scope``.

.. code-block:: yaml

    - kind: vnet
      name: spoke
      group: rg-net
      address_space: [10.1.0.0/16]
      subnets: [{name: aks, prefix: 10.1.0.0/22, nsg: aks-nsg, route_table: to-fw}]
    - kind: peering
      from: vnet:spoke
      to: vnet:hub
      both_sides: true
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from simulator.core import errors
from simulator.core.ids import parse
from simulator.core.world import World
from simulator.network import common as c
from simulator.network.edge import (
    attach_rcg,
    firewall_doc,
    nat_gateway_doc,
    policy_doc,
    public_ip_doc,
    rcg_doc,
)
from simulator.network.endpoints import create_private_endpoint, create_zone_group
from simulator.network.peerings import peering_doc, set_state
from simulator.network.security import nsg_doc, route_table_doc
from simulator.network.vnets import build_subnet, find_subnet, sync_backrefs, vnet_doc
from simulator.scenario import REF_TYPES, Spec, builder, resolve_scope, subscription_id

REF_TYPES.update({
    "vnet": c.VNET, "nsg": c.NSG, "route-table": c.ROUTE_TABLE, "nat-gateway": c.NAT_GATEWAY,
    "public-ip": c.PUBLIC_IP, "firewall": c.FIREWALL, "firewall-policy": c.POLICY,
    "private-endpoint": c.PRIVATE_ENDPOINT,
})


class Placed(Spec):
    name: str
    group: str
    subscription: str | None = None
    location: str = "eastus"
    tags: dict[str, str] = {}

    def rid(self, world: World, rtype: str) -> str:
        rid = c.top_id(subscription_id(world, self.subscription), self.group, rtype, self.name)
        world.require_scope(rid)
        return rid


def _resolve(world: World, value: str, kind: str, near: str) -> str:
    """``kind:NAME``, an ARM id, or a bare name in the same group as ``near``."""
    if value.startswith("/") or ":" in value:
        return resolve_scope(world, value)
    p = parse(near)
    rid = c.top_id(p.subscription or "", p.resource_group or "", REF_TYPES[kind], value)
    if world.get(rid) is None:
        raise ValueError(f"unknown {kind} '{value}' in group '{p.resource_group}' "
                         "(define it above this entry)")
    return world.get(rid)["id"]


def resolve_subnet(world: World, value: str) -> str:
    """``vnet:NAME/subnets/SUBNET`` or a subnet ARM id -> the subnet's id."""
    vnet_ref, sep, subnet = value.partition("/subnets/")
    if not sep:
        raise ValueError(f"'{value}' is not a subnet reference: use vnet:NAME/subnets/SUBNET")
    found = find_subnet(world, f"{resolve_scope(world, vnet_ref)}/subnets/{subnet}")
    if found is None:
        raise ValueError(f"unknown subnet '{value}' (define it in its vnet above)")
    return found["id"]


# -- virtual networks and peerings -------------------------------------------------------------
class SubnetSpec(Spec):
    name: str
    prefix: str
    nsg: str | None = None
    route_table: str | None = None
    nat_gateway: str | None = None


class VnetSpec(Placed):
    address_space: list[str]
    subnets: list[SubnetSpec] = []


@builder("vnet", VnetSpec)
def build_vnet(world: World, spec: VnetSpec) -> None:
    vid = spec.rid(world, c.VNET)
    doc = vnet_doc(vnet_id=vid, name=spec.name, location=spec.location,
                   prefixes=spec.address_space, tags=spec.tags)
    for s in spec.subnets:
        props: dict = {"addressPrefix": s.prefix}
        for field, kind, value in (("networkSecurityGroup", "nsg", s.nsg),
                                   ("routeTable", "route-table", s.route_table),
                                   ("natGateway", "nat-gateway", s.nat_gateway)):
            if value:
                props[field] = c.ref(_resolve(world, value, kind, vid))
        try:
            doc["properties"]["subnets"].append(build_subnet(world, doc, s.name, props))
        except errors.CloudError as exc:  # the ARM error, as a scenario error
            raise ValueError(f"subnet '{s.name}': {exc.body['error']['message']}") from None
    world.put(doc)
    for s in doc["properties"]["subnets"]:
        sync_backrefs(world, s["id"], s["properties"])


class PeeringSpec(Spec):
    from_: str = Field(alias="from")
    to: str
    name: str | None = None  # default: <from>-to-<to>
    reverse_name: str | None = None
    both_sides: bool = False
    state: Literal["Initiated", "Connected", "Disconnected"] | None = None


@builder("peering", PeeringSpec)
def build_peering(world: World, spec: PeeringSpec) -> None:
    local = world.must_get(resolve_scope(world, spec.from_))
    remote = world.must_get(resolve_scope(world, spec.to))
    name = spec.name or f"{local['name']}-to-{remote['name']}"
    state = spec.state or ("Connected" if spec.both_sides else "Initiated")
    c.upsert_child(local, "virtualNetworkPeerings", peering_doc(local, remote, name, state))
    if spec.both_sides:
        back = peering_doc(remote, local, spec.reverse_name or f"{remote['name']}-to-"
                           f"{local['name']}", "Connected")
        c.upsert_child(remote, "virtualNetworkPeerings", back)
        if state != "Connected":
            set_state(back, state)


# -- public IPs, NAT gateways, NSGs, route tables ----------------------------------------------
class PublicIpSpec(Placed):
    address: str | None = None


@builder("public-ip", PublicIpSpec)
def build_public_ip(world: World, spec: PublicIpSpec) -> None:
    world.put(public_ip_doc(pip_id=spec.rid(world, c.PUBLIC_IP), name=spec.name,
                            location=spec.location, address=spec.address, tags=spec.tags))


class NatGatewaySpec(Placed):
    public_ips: list[str] = []


@builder("nat-gateway", NatGatewaySpec)
def build_nat_gateway(world: World, spec: NatGatewaySpec) -> None:
    nid = spec.rid(world, c.NAT_GATEWAY)
    pips = [_resolve(world, p, "public-ip", nid) for p in spec.public_ips]
    world.put(nat_gateway_doc(world, nat_id=nid, name=spec.name, location=spec.location,
                              public_ips=pips, tags=spec.tags))


class RuleSpec(Spec):
    name: str
    priority: int
    direction: Literal["Inbound", "Outbound"]
    access: Literal["Allow", "Deny"]
    protocol: str = "*"
    source: str = "*"
    destination: str = "*"
    source_port: str = "*"
    destination_port: str = "*"


class NsgSpec(Placed):
    rules: list[RuleSpec] = []


@builder("nsg", NsgSpec)
def build_nsg(world: World, spec: NsgSpec) -> None:
    rules = [{"name": r.name, "properties": {
        "priority": r.priority, "direction": r.direction, "access": r.access,
        "protocol": r.protocol, "sourceAddressPrefix": r.source,
        "destinationAddressPrefix": r.destination, "sourcePortRange": r.source_port,
        "destinationPortRange": r.destination_port}} for r in spec.rules]
    world.put(nsg_doc(nsg_id=spec.rid(world, c.NSG), name=spec.name, location=spec.location,
                      rules=rules, tags=spec.tags))


class RouteSpec(Spec):
    name: str
    prefix: str
    next_hop_type: Literal["VirtualNetworkGateway", "VnetLocal", "Internet",
                           "VirtualAppliance", "None"]
    next_hop_ip: str | None = None


class RouteTableSpec(Placed):
    routes: list[RouteSpec] = []
    disable_bgp_propagation: bool = False


@builder("route-table", RouteTableSpec)
def build_route_table(world: World, spec: RouteTableSpec) -> None:
    routes = [{"name": r.name, "properties": {
        "addressPrefix": r.prefix, "nextHopType": r.next_hop_type,
        **({"nextHopIpAddress": r.next_hop_ip} if r.next_hop_ip else {})}}
        for r in spec.routes]
    world.put(route_table_doc(table_id=spec.rid(world, c.ROUTE_TABLE), name=spec.name,
                              location=spec.location, routes=routes,
                              disable_bgp=spec.disable_bgp_propagation, tags=spec.tags))


# -- firewall ----------------------------------------------------------------------------------
class NetworkRuleSpec(Spec):
    name: str
    source_addresses: list[str] = ["*"]
    destination_addresses: list[str] = []
    destination_fqdns: list[str] = []
    destination_ports: list[str]
    protocols: list[Literal["TCP", "UDP", "ICMP", "Any"]] = ["TCP"]

    def arm(self) -> dict:
        return {"ruleType": "NetworkRule", "name": self.name, "ipProtocols": self.protocols,
                "sourceAddresses": self.source_addresses,
                "destinationAddresses": self.destination_addresses,
                "destinationFqdns": self.destination_fqdns,
                "destinationPorts": self.destination_ports}


class CollectionSpec(Spec):
    name: str
    priority: int
    action: Literal["Allow", "Deny"] = "Allow"
    rules: list[NetworkRuleSpec]


class RuleCollectionGroupSpec(Spec):
    name: str
    priority: int
    collections: list[CollectionSpec] = []


class PolicySpec(Spec):
    name: str
    rule_collection_groups: list[RuleCollectionGroupSpec] = []


class FirewallSpec(Placed):
    subnet: str  # vnet:NAME/subnets/AzureFirewallSubnet
    private_ip: str | None = None  # default: the subnet's first usable address
    public_ip: str | None = None
    policy: PolicySpec | None = None
    network_rule_collections: list[CollectionSpec] = []  # classic rules, without a policy


@builder("firewall", FirewallSpec)
def build_firewall(world: World, spec: FirewallSpec) -> None:
    fid = spec.rid(world, c.FIREWALL)
    subnet_id = resolve_subnet(world, spec.subnet)
    policy_id = None
    if spec.policy:
        policy_id = c.top_id(parse(fid).subscription or "", spec.group, c.POLICY,
                             spec.policy.name)
        policy = world.put(policy_doc(policy_id=policy_id, name=spec.policy.name,
                                      location=spec.location))
        for g in spec.policy.rule_collection_groups:
            rcg = rcg_doc(policy, g.name, {"priority": g.priority, "ruleCollections": [
                {"ruleCollectionType": "FirewallPolicyFilterRuleCollection", "name": col.name,
                 "priority": col.priority, "action": {"type": col.action},
                 "rules": [r.arm() for r in col.rules]} for col in g.collections]})
            world.put(rcg)
            attach_rcg(policy, rcg["id"])
    world.put(firewall_doc(
        world, fw_id=fid, name=spec.name, location=spec.location, subnet_id=subnet_id,
        private_ip=spec.private_ip or c.next_ip(world, find_subnet(world, subnet_id)),
        public_ip=_resolve(world, spec.public_ip, "public-ip", fid) if spec.public_ip else None,
        policy_id=policy_id, tags=spec.tags,
        network_rule_collections=[{"name": col.name, "priority": col.priority,
                                   "action": col.action, "rules": [r.arm() for r in col.rules]}
                                  for col in spec.network_rule_collections]))


# -- private endpoints -------------------------------------------------------------------------
class ZoneGroupSpec(Spec):
    name: str = "default"
    zones: list[str]  # private-dns-zone:NAME or ARM ids


class PrivateEndpointSpec(Placed):
    subnet: str  # vnet:NAME/subnets/SUBNET
    target: str  # registry:NAME or an ARM id
    group_ids: list[str] = ["registry"]
    status: Literal["Approved", "Pending", "Rejected", "Disconnected"] = "Approved"
    dns_zone_group: ZoneGroupSpec | None = None


@builder("private-endpoint", PrivateEndpointSpec)
def build_private_endpoint(world: World, spec: PrivateEndpointSpec) -> None:
    pe = create_private_endpoint(
        world, pe_id=spec.rid(world, c.PRIVATE_ENDPOINT), name=spec.name,
        location=spec.location, subnet_id=resolve_subnet(world, spec.subnet),
        target_id=resolve_scope(world, spec.target), group_ids=spec.group_ids,
        status=spec.status, tags=spec.tags)
    target_id = resolve_scope(world, spec.target)
    if "/providers/microsoft.containerregistry/registries/" in target_id.lower() and \
            world.get(target_id) is not None:
        # Azure records the connection on the registry too (privateEndpointConnections)
        from simulator.containerregistry.private_endpoints import add_connection
        from simulator.core.errors import CloudError

        try:
            add_connection(world, target_id, private_endpoint_id=pe["id"], status=spec.status)
        except CloudError as exc:  # e.g. a non-Premium registry: Azure refuses the endpoint
            raise ValueError(exc.body["error"]["message"]) from exc
    if spec.dns_zone_group:
        create_zone_group(world, pe, spec.dns_zone_group.name,
                          [resolve_scope(world, z) for z in spec.dns_zone_group.zones])
