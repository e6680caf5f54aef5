"""vnet-peering-connected — cause 4 (443 i/o timeout) of a private registry.

Failure mode: the node resolves the login server to the registry's private endpoint, but the
endpoint sits in another VNet that is not peered with the AKS VNet, or whose peering is not
``Connected`` on both sides (``Initiated`` / ``Disconnected`` after the remote VNet was
re-created): ``dial tcp 10.x.y.z:443: i/o timeout``.

Evidence: the registry's approved private endpoints (ARM GET) and the peerings of the AKS
VNet and of each endpoint's VNet (ARM GET virtualNetworks, embedded peerings).
Fix: ``repair-vnet-peering`` (create the missing side(s); delete and recreate Disconnected).
"""

from __future__ import annotations

from tasks.checks import _network as net
from tasks.checks._reasons import CannotRead, error, no_pod, not_applicable
from tasks.contract import Category, Evidence, Finding, Group, Status, Target
from tasks.reads import Reads
from tasks.registry import check

NAME = "vnet-peering-connected"
GROUP = Group.NETWORK


@check(NAME, group=GROUP, suggests=("repair-vnet-peering",),
       permissions=("Microsoft.ContainerRegistry/registries/read",
                    "Microsoft.Network/privateEndpoints/read",
                    "Microsoft.Network/virtualNetworks/read",
                    "Microsoft.Network/virtualNetworks/virtualNetworkPeerings/read"),
       categories=(Category.TIMEOUT,))
def vnet_peering_connected(target: Target, reads: Reads) -> Finding:
    if target.pod is None:
        return no_pod(NAME, GROUP)
    try:
        return _judge(target, reads)
    except CannotRead as exc:
        return error(NAME, GROUP, exc)


def _judge(target: Target, reads: Reads) -> Finding:
    found = net.private_path(reads, target)
    if found is None:
        return not_applicable(NAME, GROUP, "the registry has no approved private endpoint "
                              "pullfix can see: no peering is involved")
    reg, eps, node = found
    ev, broken = [], []
    for ep in eps:
        ok, why = net.connected(reads, node.vnet, ep.vnet_id)
        ev.append(Evidence(source=f"ARM GET {node.vnet.id}, {ep.vnet_id}",
                           detail=f"{node.vnet.name} ↔ {ep.vnet_id.rsplit('/', 1)[-1]} "
                                  f"(endpoint {ep.id.rsplit('/', 1)[-1]}): {why}",
                           data={"endpoint": ep.id, "ips": ep.ips, "connected": ok,
                                 "vnet": node.vnet.id, "remote_vnet": ep.vnet_id}))
        if ok:
            return Finding(check=NAME, status=Status.PASS, group=GROUP, evidence=tuple(ev),
                           summary=f"the cluster's VNet {node.vnet.name} reaches private "
                                   f"endpoint {ep.id.rsplit('/', 1)[-1]} of {reg.name}: {why}")
        broken.append((ep, why))
    ep, why = broken[0]
    pair = sorted([node.vnet.id.lower(), ep.vnet_id.lower()])
    return Finding(
        check=NAME, status=Status.FAIL, group=GROUP, evidence=tuple(ev),
        suggests=("repair-vnet-peering",), root_cause=f"peering:{pair[0]}<->{pair[1]}",
        summary=f"the cluster's VNet {node.vnet.name} is not connected to "
                f"{ep.vnet_id.rsplit('/', 1)[-1]}, where {reg.name}'s private endpoint "
                f"({', '.join(ep.ips.values())}) lives: {why}")
