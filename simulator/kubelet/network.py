"""What a node's packets meet on the way to a registry: name resolution from the node's VNet,
routes (system routes for the VNet and Connected peerings, user-defined routes, Azure
Firewall as next hop), network security groups, and the registry's public-endpoint rules
as seen from the cluster's egress IPs.

Simplifications (each makes a pull fail no less often than Azure would): private endpoints'
/32 ``InterfaceEndpoint`` system routes are not modelled, so a user-defined route matching
the endpoint's address sends its traffic through the appliance; custom DNS servers on the
VNet resolve like Azure DNS (the server only appears in messages).
"""

from __future__ import annotations

import hashlib
import ipaddress
from dataclasses import dataclass, field
from typing import Any

from simulator.core.ids import key
from simulator.core.world import World

AZURE_DNS = "168.63.129.16"
PE_TYPE = "Microsoft.Network/privateEndpoints"
FIREWALL_TYPE = "Microsoft.Network/azureFirewalls"
ZONE_TYPE = "Microsoft.Network/privateDnsZones"
LINK_TYPE = "Microsoft.Network/privateDnsZones/virtualNetworkLinks"
PEC_TYPE = "Microsoft.ContainerRegistry/registries/privateEndpointConnections"
REGISTRY_SUFFIX = "azurecr.io"


@dataclass
class NodeNet:
    """Where a node pool's machines sit."""

    subnet_id: str
    vnet: dict[str, Any]
    subnet: dict[str, Any]
    nic_nsg: str | None = None

    @property
    def dns_server(self) -> str:
        servers = (self.vnet["properties"].get("dhcpOptions") or {}).get("dnsServers") or []
        return servers[0] if servers else AZURE_DNS


@dataclass
class Path:
    """The verdict for one destination: reachable or not, and through which egress IPs."""

    ok: bool
    cause: str = ""
    egress_ips: list[str] = field(default_factory=list)


def _net(value: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    return ipaddress.ip_network(value, strict=False)


def _in(ip: str, prefixes: list[str]) -> bool:
    addr = ipaddress.ip_address(ip)
    for p in prefixes:
        try:
            if addr in _net(p):
                return True
        except ValueError:
            continue
    return False


def _prefixes(doc: dict[str, Any]) -> list[str]:
    return list(((doc.get("properties") or {}).get("addressSpace") or {}).get("addressPrefixes")
                or [])


def _subnet_prefixes(subnet: dict[str, Any]) -> list[str]:
    p = subnet.get("properties") or {}
    return [p["addressPrefix"]] if p.get("addressPrefix") else list(p.get("addressPrefixes") or [])


def _settled(world: World, rid: str) -> dict[str, Any] | None:
    """A network document as the network RP would show it now: embedded children (subnets,
    peerings, security rules, routes) whose delete operation has completed are gone. The RP
    drops them lazily on its own reads, so without this a rule deleted through the API would
    keep applying until someone read its parent."""
    from simulator.network.common import settle_embedded

    doc = world.get(rid) if rid else None
    return settle_embedded(world, doc) if doc is not None else None


def _find_subnet(world: World, subnet_id: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
    vnet_id, _, name = subnet_id.partition("/subnets/")
    vnet = _settled(world, vnet_id)
    if vnet is None:
        return None
    for s in vnet["properties"].get("subnets") or []:
        if s["name"].lower() == name.lower():
            return vnet, s
    return None


def node_network(world: World, cluster: dict[str, Any], profile: dict[str, Any]
                 ) -> NodeNet | None:
    """The pool's subnet: ``vnetSubnetID``, else the one its scale set's NICs use."""
    from simulator.containerservice.models import pool_vmss_id

    subnet_id = profile.get("vnetSubnetID")
    vmss = world.get(pool_vmss_id(cluster, profile))
    nic_nsg = None
    if vmss is not None:
        nic = vmss["properties"]["virtualMachineProfile"]["networkProfile"][
            "networkInterfaceConfigurations"][0]["properties"]
        nic_nsg = (nic.get("networkSecurityGroup") or {}).get("id")
        subnet_id = subnet_id or nic["ipConfigurations"][0]["properties"]["subnet"]["id"]
    found = _find_subnet(world, subnet_id) if subnet_id else None
    if found is None:
        return None
    return NodeNet(subnet_id=found[1]["id"], vnet=found[0], subnet=found[1], nic_nsg=nic_nsg)


# -- name resolution ---------------------------------------------------------------------------
def public_ip_of(host: str) -> str:
    """A registry's public frontend address: stable per host, inside Azure's 20.0.0.0/8."""
    h = hashlib.sha256(host.lower().encode()).digest()
    return f"20.{h[0] % 200 + 40}.{h[1]}.{h[2] % 250 + 2}"


def _approved_endpoints(world: World, registry: dict[str, Any]) -> list[dict[str, Any]]:
    """Private endpoints whose connection to the registry is Approved (the registry side
    wins: ACR's approve/reject API changes it there)."""
    registry_side = {key(c["properties"]["privateEndpoint"]["id"]):
                     c["properties"]["privateLinkServiceConnectionState"]["status"]
                     for c in world.children(registry["id"], PEC_TYPE)}
    out = []
    for pe in world.of_type(PE_TYPE):
        for conn in pe["properties"].get("privateLinkServiceConnections") or []:
            cp = conn.get("properties") or {}
            if key(cp.get("privateLinkServiceId", "")) != key(registry["id"]):
                continue
            status = registry_side.get(key(pe["id"])) or (
                cp.get("privateLinkServiceConnectionState") or {}).get("status")
            if status == "Approved":
                out.append(pe)
    return out


def resolve(world: World, vnet: dict[str, Any], registry: dict[str, Any], host: str
            ) -> tuple[str | None, bool]:
    """``(address, private)`` for a registry host as Azure DNS answers from ``vnet``; the
    address is None for NXDOMAIN. With a private endpoint the public name is a CNAME to
    ``NAME.privatelink.azurecr.io``: a ``privatelink.azurecr.io`` zone linked to the VNet
    answers it (or, lacking the record, nobody does); without a linked zone the public
    resolver answers with the public endpoint."""
    host = host.lower()
    if not _approved_endpoints(world, registry):
        return public_ip_of(host), False
    suffix = "." + REGISTRY_SUFFIX
    relative = host[: -len(suffix)] if host.endswith(suffix) else host
    zone_name = "privatelink." + REGISTRY_SUFFIX
    for link in world.of_type(LINK_TYPE):
        if key(link["properties"]["virtualNetwork"]["id"]) != key(vnet["id"]):
            continue
        zone_id = link["id"].rsplit("/virtualNetworkLinks/", 1)[0]
        zone = world.get(zone_id)
        if zone is None or zone["name"].lower() != zone_name:
            continue
        record = world.get(f"{zone_id}/A/{relative}")
        ips = [r.get("ipv4Address") for r in ((record or {}).get("properties") or {}).get(
            "aRecords") or []]
        return (ips[0] if ips else None), True
    return public_ip_of(host), False


# -- reachability ------------------------------------------------------------------------------
def _peering(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any] | None:
    for p in a["properties"].get("virtualNetworkPeerings") or []:
        remote = ((p.get("properties") or {}).get("remoteVirtualNetwork") or {}).get("id", "")
        if key(remote) == key(b["id"]):
            return p
    return None


def connected(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Same VNet, or peered with both sides Connected and VNet access allowed."""
    if key(a["id"]) == key(b["id"]):
        return True
    ab, ba = _peering(a, b), _peering(b, a)
    return bool(ab and ba and all(
        p["properties"].get("peeringState") == "Connected"
        and p["properties"].get("allowVirtualNetworkAccess", True) for p in (ab, ba)))


def _connected_vnets(world: World, vnet: dict[str, Any]) -> list[dict[str, Any]]:
    out = [vnet]
    for p in vnet["properties"].get("virtualNetworkPeerings") or []:
        remote = _settled(world, ((p.get("properties") or {}).get("remoteVirtualNetwork")
                                  or {}).get("id", ""))
        if remote is not None and connected(vnet, remote):
            out.append(remote)
    return out


def _vnet_of_ip(world: World, ip: str) -> dict[str, Any] | None:
    """The VNet holding a private endpoint (or firewall) address."""
    for pe in world.of_type(PE_TYPE):
        for cfg in pe["properties"].get("customDnsConfigs") or []:
            if ip in (cfg.get("ipAddresses") or []):
                found = _find_subnet(world, pe["properties"]["subnet"]["id"])
                return found[0] if found else None
    for fw in world.of_type(FIREWALL_TYPE):
        for cfg in fw["properties"].get("ipConfigurations") or []:
            if cfg["properties"].get("privateIPAddress") == ip:
                found = _find_subnet(world, cfg["properties"]["subnet"]["id"])
                return found[0] if found else None
    return None


def _next_hop(world: World, node: NodeNet, ip: str) -> dict[str, Any] | None:
    """The user-defined route that wins for ``ip`` (longest prefix; it beats system routes of
    the same length), or None when a system route (VNet, Connected peering, Internet) wins."""
    table = _settled(world, ((node.subnet["properties"].get("routeTable")) or {}).get("id", ""))
    best, best_len = None, -1
    for r in (table or {}).get("properties", {}).get("routes") or []:
        prefix = r["properties"].get("addressPrefix", "")
        try:
            net = _net(prefix)
        except ValueError:
            continue  # service-tag prefixes are not modelled
        if ipaddress.ip_address(ip) in net and net.prefixlen > best_len:
            best, best_len = r, net.prefixlen
    if best is None:
        return None
    for v in _connected_vnets(world, node.vnet):
        for p in _prefixes(v):
            net = _net(p)
            if ipaddress.ip_address(ip) in net and net.prefixlen > best_len:
                return None
    return best


def _firewall_at(world: World, ip: str) -> dict[str, Any] | None:
    for fw in world.of_type(FIREWALL_TYPE):
        for cfg in fw["properties"].get("ipConfigurations") or []:
            if cfg["properties"].get("privateIPAddress") == ip:
                return fw
    return None


def _firewall_public_ips(world: World, fw: dict[str, Any]) -> list[str]:
    out = []
    for cfg in fw["properties"].get("ipConfigurations") or []:
        pip = world.get((cfg["properties"].get("publicIPAddress") or {}).get("id", ""))
        if pip and pip["properties"].get("ipAddress"):
            out.append(pip["properties"]["ipAddress"])
    return out


def egress_ips(world: World, cluster: dict[str, Any], node: NodeNet) -> list[str]:
    """The public addresses the registry sees without a firewall in the way: the subnet's NAT
    gateway, else the cluster's managed NAT gateway or load balancer outbound IPs."""
    nat = world.get(((node.subnet["properties"].get("natGateway")) or {}).get("id", ""))
    ids = [p["id"] for p in (nat or {}).get("properties", {}).get("publicIpAddresses") or []]
    if not ids:
        net = cluster["properties"].get("networkProfile") or {}
        for prof in ("natGatewayProfile", "loadBalancerProfile"):
            ids += [p["id"] for p in (net.get(prof) or {}).get("effectiveOutboundIPs") or []]
    out = []
    for rid in ids:
        pip = world.get(rid)
        if pip and pip["properties"].get("ipAddress"):
            out.append(pip["properties"]["ipAddress"])
    return out


def path(world: World, cluster: dict[str, Any], node: NodeNet, ip: str, private: bool,
         host: str) -> Path:
    """Can a TCP connection from the node reach ``ip``:443?"""
    from simulator.kubelet.firewall import firewall_allows, nsg_allows

    source_prefixes = _subnet_prefixes(node.subnet)
    vnet_space = [p for v in _connected_vnets(world, node.vnet) for p in _prefixes(v)]
    for nsg_id in (node.nic_nsg, (node.subnet["properties"].get("networkSecurityGroup")
                                  or {}).get("id")):
        nsg = _settled(world, nsg_id) if nsg_id else None
        if nsg and not nsg_allows(nsg, ip, private=private, vnet_space=vnet_space):
            return Path(False, "nsg_denied")
    hop = _next_hop(world, node, ip)
    from_vnet, egress = node.vnet, None
    if hop is not None:
        kind = hop["properties"].get("nextHopType", "").lower()
        if kind == "none":
            return Path(False, "route_drops")
        if kind == "virtualappliance":
            appliance_ip = hop["properties"].get("nextHopIpAddress", "")
            appliance_vnet = _vnet_of_ip(world, appliance_ip)
            if appliance_vnet is None or not connected(node.vnet, appliance_vnet):
                return Path(False, "appliance_unreachable")
            fw = _firewall_at(world, appliance_ip)
            if fw is not None:
                if not firewall_allows(world, fw, ip, host, source_prefixes, private=private):
                    return Path(False, "firewall_denied")
                from_vnet, egress = appliance_vnet, _firewall_public_ips(world, fw)
    if private:
        target = _vnet_of_ip(world, ip)
        if target is None or not connected(from_vnet, target):
            return Path(False, "peering_not_connected" if target is not None else
                        "private_address_unreachable")
        return Path(True)
    return Path(True, egress_ips=egress if egress is not None else
                egress_ips(world, cluster, node))


def public_access(registry: dict[str, Any], egress: list[str]) -> str | None:
    """Why the registry's public endpoint refuses these egress IPs (403), or None."""
    props = registry["properties"]
    if props.get("publicNetworkAccess") == "Disabled":
        return "public_access_disabled"
    rules = props.get("networkRuleSet") or {}
    if rules.get("defaultAction") == "Deny":
        allowed = [r["value"] for r in rules.get("ipRules") or [] if r.get("action", "Allow")
                   == "Allow"]
        if not any(_in(ip, allowed) for ip in egress):
            return "egress_ip_not_allowed"
    return None
