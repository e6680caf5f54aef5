"""Network reads shared by the network checks, memoized per run with ``reads.memo``: the
cluster's node VNet/subnet, the registry's approved private endpoints and their addresses,
private DNS zones and links, route decisions, Azure Firewalls and the cluster's egress IPs.

Route decisions follow Azure's longest-prefix rule: a user-defined route beats a system
route of the same length, and the system routes of the VNet and of Connected peerings win
when longer (so a 0.0.0.0/0 UDR alone does not catch a peered VNet's addresses).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from tasks.checks._reasons import CannotRead, read
from tasks.contract import Target
from tasks.reads import Reads, parse_id

if TYPE_CHECKING:
    from azure.mgmt.network import NetworkManagementClient
    from azure.mgmt.privatedns import PrivateDnsManagementClient


def _network_client() -> type[NetworkManagementClient]:
    """The SDK class, imported when a network check first runs: azure-mgmt-network is the
    largest SDK pullfix uses, and a sweep of healthy clusters never needs it."""
    from tasks.lazy import importing

    with importing():
        from azure.mgmt.network import NetworkManagementClient

    return NetworkManagementClient


def _dns_client() -> type[PrivateDnsManagementClient]:
    from tasks.lazy import importing

    with importing():
        from azure.mgmt.privatedns import PrivateDnsManagementClient

    return PrivateDnsManagementClient


NET_READ = "Reader (Microsoft.Network/*/read)"
DNS_READ = "Reader (Microsoft.Network/privateDnsZones/*/read)"


@dataclass(frozen=True)
class NodeNet:
    vnet: Any  # azure.mgmt.network VirtualNetwork
    subnet: Any  # Subnet (route table, NSG, NAT gateway references)
    pool: str


@dataclass(frozen=True)
class Endpoint:
    """An Approved private endpoint of a registry: its VNet and fqdn → private IP."""

    id: str
    subnet_id: str
    ips: dict[str, str] = field(default_factory=dict)

    @property
    def vnet_id(self) -> str:
        return self.subnet_id.split("/subnets/")[0]


def _listed(call: Callable[..., Any], *args: Any) -> list[Any]:
    return list(call(*args))


def _net(reads: Reads, rid: str) -> NetworkManagementClient:
    return reads.clients.arm(_network_client(), parse_id(rid)["subscription"])


def in_prefixes(ip: str, prefixes: list[str]) -> int:
    """Length of the longest prefix holding ``ip`` (-1: none)."""
    best = -1
    for p in prefixes:
        try:
            net = ipaddress.ip_network(p, strict=False)
        except ValueError:
            continue  # service tags are not address prefixes
        if ipaddress.ip_address(ip) in net:
            best = max(best, net.prefixlen)
    return best


def registry(reads: Reads, target: Target) -> Any | None:
    if not target.registry_id:
        return None
    regs = read("list registries", "Reader (Microsoft.ContainerRegistry/registries/read)",
                reads.registries)
    return next((r for r in regs if (r.id or "").lower() == target.registry_id.lower()), None)


def vnet(reads: Reads, vnet_id: str) -> Any:
    p = parse_id(vnet_id)
    return reads.memo(("net.vnet", vnet_id.lower()), lambda: read(
        f"read VNet {vnet_id}", NET_READ,
        lambda: _net(reads, vnet_id).virtual_networks.get(p["resource_group"], p["name"])))


def node_network(reads: Reads, target: Target) -> NodeNet:
    """The subnet of the pool the pod runs on: ``vnetSubnetID``, else the AKS-managed VNet
    (``aks-vnet-*``) in the node resource group."""
    cluster = read(f"read cluster {target.cluster.id}", "Reader (Microsoft.ContainerService/"
                   "managedClusters/read)", lambda: reads.cluster(target.cluster))
    pools = list(cluster.agent_pool_profiles or [])
    want = target.pod.node_pool if target.pod else None
    pool = next((p for p in pools if p.name == want), pools[0] if pools else None)
    subnet_id = pool.vnet_subnet_id if pool else None
    if subnet_id:
        v = vnet(reads, subnet_id.split("/subnets/")[0])
        name = subnet_id.rsplit("/", 1)[-1].lower()
        subnet = next((s for s in v.subnets or [] if (s.name or "").lower() == name), None)
        if subnet is None:
            raise CannotRead(f"subnet {subnet_id} of the node pool does not exist")
        return NodeNet(v, subnet, pool.name if pool else "")
    node_rg = cluster.node_resource_group or ""
    sub = target.cluster.subscription_id
    found = reads.memo(("net.vnets_in", sub, node_rg.lower()), lambda: read(
        f"list VNets in {node_rg}", NET_READ, lambda: list(reads.clients.arm(
            _network_client(), sub).virtual_networks.list(node_rg))))
    managed = [v for v in found if (v.name or "").startswith("aks-vnet-")] or found
    if not managed or not managed[0].subnets:
        raise CannotRead(f"no VNet found in the node resource group {node_rg}")
    return NodeNet(managed[0], managed[0].subnets[0], pool.name if pool else "")


def _all_private_endpoints(reads: Reads) -> list[Any]:
    def load() -> list[Any]:
        out: list[Any] = []
        for sub, _ in reads.subscriptions():
            client = reads.clients.arm(_network_client(), sub)
            out += read(f"list private endpoints in subscription {sub}", NET_READ,
                        partial(_listed, client.private_endpoints.list_by_subscription))
        return out
    return reads.memo(("net.private_endpoints",), load)


def endpoints(reads: Reads, reg: Any) -> list[Endpoint]:
    """The registry's private endpoints whose connection is Approved: the registry's own
    ``privateEndpointConnections`` decide (ACR's approve/reject changes them there), and
    private endpoints in visible subscriptions that target the registry count too (their
    connection state, when the registry shows no connection for them).

    A registry with no connection at all has no approved endpoint: Azure records every private
    endpoint that targets a registry on the registry too (auto-approved or pending), and a
    connection removed there leaves the endpoint's side Disconnected. Then no subscription's
    endpoints are listed — one ARM call per subscription, and the network SDK's import (≈ 0.8 s),
    saved for every registry without Private Link."""
    if not reg.private_endpoint_connections:
        return []

    def load() -> list[Endpoint]:
        registry_side = {(c.private_endpoint.id or "").lower():
                         c.private_link_service_connection_state.status
                         for c in reg.private_endpoint_connections or []
                         if c.private_endpoint and c.private_link_service_connection_state}
        out = []
        for pe in _all_private_endpoints(reads):
            for conn in pe.private_link_service_connections or []:
                if (conn.private_link_service_id or "").lower() != (reg.id or "").lower():
                    continue
                state = conn.private_link_service_connection_state
                status = registry_side.get((pe.id or "").lower()) or (state.status if state else None)
                if status != "Approved":
                    continue
                ips = {c.fqdn.lower(): c.ip_addresses[0] for c in pe.custom_dns_configs or []
                       if c.fqdn and c.ip_addresses}
                out.append(Endpoint(id=pe.id, subnet_id=pe.subnet.id if pe.subnet else "",
                                    ips=ips))
        return out
    return reads.memo(("net.endpoints", (reg.id or "").lower()), load)


def zones(reads: Reads, name: str) -> list[tuple[Any, list[Any], dict[str, list[str]]]]:
    """Every visible private DNS zone called ``name``: (zone, its VNet links, A records)."""
    def load() -> list[tuple[Any, list[Any], dict[str, list[str]]]]:
        out = []
        for sub, _ in reads.subscriptions():
            client = reads.clients.arm(_dns_client(), sub)
            for z in read(f"list private DNS zones in subscription {sub}", DNS_READ,
                          partial(_listed, client.private_zones.list)):
                if (z.name or "").lower() != name.lower():
                    continue
                rg = parse_id(z.id)["resource_group"]
                links = read(f"list virtual network links of {z.id}", DNS_READ, partial(
                    _listed, client.virtual_network_links.list, rg, z.name))
                recs = read(f"list A records of {z.id}", DNS_READ, partial(
                    _listed, client.record_sets.list_by_type, rg, z.name, "A"))
                a = {(r.name or "").lower(): [x.ipv4_address for x in r.a_records or []]
                     for r in recs}
                out.append((z, links, a))
        return out
    return reads.memo(("net.zones", name.lower()), load)


def connected(reads: Reads, a: Any, b_id: str) -> tuple[bool, str]:
    """(same VNet or peered both ways with Connected state, why not)."""
    if (a.id or "").lower() == b_id.lower():
        return True, "same VNet"
    def side(v: Any, remote: str) -> Any | None:
        return next((p for p in v.virtual_network_peerings or [] if p.remote_virtual_network
                     and (p.remote_virtual_network.id or "").lower() == remote.lower()), None)
    ab = side(a, b_id)
    ba = side(vnet(reads, b_id), a.id)
    if ab is None or ba is None:
        missing = [n for n, p in ((f"{a.name} → {b_id.rsplit('/', 1)[-1]}", ab),
                                  (f"{b_id.rsplit('/', 1)[-1]} → {a.name}", ba)) if p is None]
        return False, "no peering " + " and ".join(missing)
    # the SDK's enums print as VirtualNetworkPeeringState.X; show Azure's own word
    bad = [f"{p.name}: {getattr(p.peering_state, 'value', p.peering_state)}" for p in (ab, ba)
           if p.peering_state != "Connected"
           or p.allow_virtual_network_access is False]
    return (not bad), ", ".join(bad) or "Connected both ways"


def connected_prefixes(reads: Reads, v: Any) -> list[str]:
    """The VNet's address space plus those of peers Connected both ways (system routes)."""
    out = list((v.address_space.address_prefixes if v.address_space else None) or [])
    for p in v.virtual_network_peerings or []:
        rid = p.remote_virtual_network.id if p.remote_virtual_network else ""
        if rid and p.peering_state == "Connected":
            try:
                if connected(reads, v, rid)[0]:
                    r = vnet(reads, rid)
                    out += list(r.address_space.address_prefixes or [])
            except CannotRead:
                continue  # an unreadable peer adds no system route we can vouch for
    return out


def winning_route(reads: Reads, node: NodeNet, ip: str) -> Any | None:
    """The user-defined route that carries ``ip``, or None when a system route wins."""
    rt = node.subnet.route_table
    if rt is None or not rt.id:
        return None
    p = parse_id(rt.id)
    table = reads.memo(("net.route_table", rt.id.lower()), lambda: read(
        f"read route table {rt.id}", NET_READ,
        lambda: _net(reads, rt.id).route_tables.get(p["resource_group"], p["name"])))
    best, best_len = None, -1
    for r in table.routes or []:
        n = in_prefixes(ip, [r.address_prefix or ""])
        if n > best_len:
            best, best_len = r, n
    if best is None or in_prefixes(ip, connected_prefixes(reads, node.vnet)) > best_len:
        return None
    return best


def firewalls(reads: Reads) -> list[Any]:
    def load() -> list[Any]:
        out: list[Any] = []
        for sub, _ in reads.subscriptions():
            client = reads.clients.arm(_network_client(), sub)
            out += read(f"list Azure Firewalls in subscription {sub}", NET_READ,
                        partial(_listed, client.azure_firewalls.list_all))
        return out
    return reads.memo(("net.firewalls",), load)


def firewall_at(reads: Reads, ip: str) -> Any | None:
    for fw in firewalls(reads):
        if any(c.private_ip_address == ip for c in fw.ip_configurations or []):
            return fw
    return None


def public_ip(reads: Reads, rid: str) -> str | None:
    p = parse_id(rid)
    pip = reads.memo(("net.pip", rid.lower()), lambda: read(
        f"read public IP {rid}", NET_READ,
        lambda: _net(reads, rid).public_ip_addresses.get(p["resource_group"], p["name"])))
    return pip.ip_address  # type: ignore[no-any-return]


def egress_ips(reads: Reads, target: Target, node: NodeNet) -> tuple[list[str], str]:
    """(public addresses a public registry sees from the cluster, how they were found):
    the firewall a 0.0.0.0/0 route leads to, else the subnet's NAT gateway, else the
    cluster's managed NAT gateway / load balancer effective outbound IPs."""
    route = winning_route(reads, node, "20.0.0.1")  # any public address: the default route
    if route is not None and (route.next_hop_type or "").lower() == "virtualappliance":
        fw = firewall_at(reads, route.next_hop_ip_address or "")
        if fw is None:
            return [], f"egress through appliance {route.next_hop_ip_address} (not a visible firewall)"
        ips = [public_ip(reads, c.public_ip_address.id) for c in fw.ip_configurations or []
               if c.public_ip_address]
        return [i for i in ips if i], f"Azure Firewall {fw.id}"
    if node.subnet.nat_gateway and node.subnet.nat_gateway.id:
        gid = node.subnet.nat_gateway.id
        p = parse_id(gid)
        nat = read(f"read NAT gateway {gid}", NET_READ, lambda: _net(reads, gid).nat_gateways.get(
            p["resource_group"], p["name"]))
        ips = [public_ip(reads, x.id) for x in nat.public_ip_addresses or []]
        return [i for i in ips if i], f"NAT gateway {gid}"
    cluster = reads.cluster(target.cluster)
    netp = cluster.network_profile
    refs: list[Any] = []
    for prof in (netp.nat_gateway_profile, netp.load_balancer_profile) if netp else ():
        refs += list((prof.effective_outbound_i_ps if prof else None) or [])
    ips = [public_ip(reads, r.id) for r in refs]
    return [i for i in ips if i], f"cluster {target.cluster.name} outbound IPs"


def private_path(reads: Reads, target: Target) -> tuple[Any, list[Endpoint], NodeNet] | None:
    """(registry, its approved endpoints, the pod's node network) when the registry is
    reached through private endpoints; None when it has none (or is not visible)."""
    reg = registry(reads, target)
    if reg is None:
        return None
    eps = endpoints(reads, reg)
    if not eps:
        return None
    return reg, eps, node_network(reads, target)


def pe_vnet(reads: Reads, ep: Endpoint) -> Any:
    return vnet(reads, ep.vnet_id)
