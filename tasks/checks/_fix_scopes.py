"""Where each fix pullfix might plan writes, for fixer-has-permissions: the ARM action, the
resources it acts on (resolved from the target with read-only calls) and the built-in roles that
grant it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from azure.mgmt.network import NetworkManagementClient
from azure.mgmt.privatedns import PrivateDnsManagementClient

from tasks.checks import _identity_reads as ir
from tasks.checks._rbac import guarded
from tasks.contract import Target
from tasks.reads import Reads, parse_id

Resolver = Callable[[Target, Reads], list[str]]
RBAC_ADMIN = "Owner, User Access Administrator or Role Based Access Control Administrator"
AKS_WRITER = "Owner, Contributor or Azure Kubernetes Service Contributor Role"
ACR_WRITER = ("Owner, Contributor or Container Registry Contributor and Data Access Configuration "
              "Administrator")
NET_WRITER = "Owner, Contributor or Network Contributor"


def registry(target: Target, reads: Reads) -> list[str]:
    return [target.registry_id] if target.registry_id else []


def cluster(target: Target, reads: Reads) -> list[str]:
    return [target.cluster.id]


def dns_zones(target: Target, reads: Reads) -> list[str]:
    if not target.registry_id:
        return []
    sub = parse_id(target.registry_id)["subscription"]
    zone = "privatelink." + reads.clients.profile.acr_login_server_suffix.lower()
    client = reads.clients.arm(PrivateDnsManagementClient, sub)
    zones = reads.memo(("dns-zones", sub), lambda: guarded(
        f"private DNS zones in /subscriptions/{sub}", "Microsoft.Network/privateDnsZones/read",
        "Reader")(lambda: list(client.private_zones.list())))
    return [z.id for z in zones if (z.name or "").lower() == zone]


def _vnet_of(subnet_id: str | None) -> str | None:
    return subnet_id.split("/subnets/")[0] if subnet_id and "/subnets/" in subnet_id else None


def cluster_vnets(target: Target, reads: Reads) -> list[str]:
    mc = ir.cluster(reads, target)
    return sorted({v for p in mc.agent_pool_profiles or [] if (v := _vnet_of(p.vnet_subnet_id))})


def endpoint_vnets(target: Target, reads: Reads) -> list[str]:
    """The VNets of the registry's private endpoints (the remote side of a peering)."""
    if not target.registry_id:
        return []
    reg = ir.registry(reads, target.registry_id)
    out = set()
    for conn in reg.private_endpoint_connections or []:
        pe_id = conn.private_endpoint.id if conn.private_endpoint else None
        if not pe_id:
            continue
        p = parse_id(pe_id)
        net = reads.clients.arm(NetworkManagementClient, p["subscription"])
        get = partial(net.private_endpoints.get, p["resource_group"], p["name"])
        pe = reads.memo(("pe", pe_id.lower()), partial(guarded(
            f"private endpoint {pe_id}", "Microsoft.Network/privateEndpoints/read", "Reader"), get))
        if vnet := _vnet_of(pe.subnet.id if pe.subnet else None):
            out.add(vnet)
    return sorted(out)


def firewall_policies(target: Target, reads: Reads) -> list[str]:
    sub = target.cluster.subscription_id
    net = reads.clients.arm(NetworkManagementClient, sub)
    found: list[Any] = reads.memo(("fw-policies", sub), lambda: guarded(
        f"firewall policies in /subscriptions/{sub}", "Microsoft.Network/firewallPolicies/read",
        "Reader")(lambda: list(net.firewall_policies.list_all())))
    return [f.id for f in found]


@dataclass(frozen=True)
class Need:
    action: str
    scopes: Resolver
    roles: str


# fix name → the ARM writes it makes; Kubernetes-only fixes are listed with no ARM need
FIXES: dict[str, tuple[Need, ...]] = {
    "grant-pull-role": (Need("Microsoft.Authorization/roleAssignments/write", registry, RBAC_ADMIN),),
    "remove-stale-role-assignment": (
        Need("Microsoft.Authorization/roleAssignments/delete", registry, RBAC_ADMIN),),
    "reconcile-cluster": (Need("Microsoft.ContainerService/managedClusters/write", cluster,
                               AKS_WRITER),),
    "rotate-cluster-sp-secret": (Need(
        "Microsoft.ContainerService/managedClusters/resetServicePrincipalProfile/action", cluster,
        AKS_WRITER),),
    "link-private-dns-zone": (Need("Microsoft.Network/privateDnsZones/virtualNetworkLinks/write",
                                   dns_zones, "Owner, Contributor or Private DNS Zone Contributor"),),
    "allow-cluster-egress-on-registry": (Need("Microsoft.ContainerRegistry/registries/write",
                                              registry, ACR_WRITER),),
    "enable-selected-networks": (Need("Microsoft.ContainerRegistry/registries/write", registry,
                                      ACR_WRITER),),
    "repair-vnet-peering": (
        Need("Microsoft.Network/virtualNetworks/virtualNetworkPeerings/write", cluster_vnets,
             NET_WRITER),
        Need("Microsoft.Network/virtualNetworks/peer/action", endpoint_vnets, NET_WRITER)),
    "allow-registry-on-firewall": (Need(
        "Microsoft.Network/firewallPolicies/ruleCollectionGroups/write", firewall_policies,
        NET_WRITER),),
}
# what ARM cannot tell: Graph app permissions, Kubernetes writes (AKS local accounts are admin)
NOT_VIA_ARM: dict[str, str] = {
    "rotate-cluster-sp-secret": "Graph addPassword on the application (Application.ReadWrite."
                                "OwnedBy as an owner, or Application.ReadWrite.All)",
    **{fix: "Kubernetes writes on the workload/secret/pods" for fix in (
        "correct-image-reference", "set-os-node-selector", "rotate-pull-secret-sp",
        "refresh-pull-secret-admin", "restart-failing-pods")},
}
