"""private-dns-zone-linked — cause 3 (403 Forbidden) of a private registry.

Failure mode: the registry has Approved private endpoints, but the cluster's VNet has no
``privatelink.azurecr.io`` zone linked (or the linked zone lacks the A records of the login
server and the regional data endpoint ``<name>.<region>.data``). The node then resolves the
login server to the public endpoint, which refuses it (public access disabled or not
allowed): ``failed to resolve reference … 403 Forbidden``. With a record missing, name
resolution fails instead (``no such host``).

Evidence: the registry's private endpoints and their addresses (ARM GET), every visible zone
of that name with its VNet links and A records, the node pool's VNet.
Fix: ``link-private-dns-zone`` (link the zone holding the records to the AKS VNet).
"""

from __future__ import annotations

from tasks.checks import _network as net
from tasks.checks._reasons import CannotRead, error, no_pod, not_applicable
from tasks.contract import Category, Evidence, Finding, Group, Status, Target
from tasks.reads import Reads
from tasks.registry import check

NAME = "private-dns-zone-linked"
GROUP = Group.NETWORK


@check(NAME, group=GROUP, suggests=("link-private-dns-zone",),
       permissions=("Microsoft.ContainerRegistry/registries/read",
                    "Microsoft.Network/privateEndpoints/read",
                    "Microsoft.Network/virtualNetworks/read",
                    "Microsoft.Network/privateDnsZones/read",
                    "Microsoft.Network/privateDnsZones/virtualNetworkLinks/read",
                    "Microsoft.Network/privateDnsZones/A/read"),
       categories=(Category.FORBIDDEN, Category.TIMEOUT, Category.UNAUTHORIZED, Category.OTHER))
def private_dns_zone_linked(target: Target, reads: Reads) -> Finding:
    if target.pod is None:
        return no_pod(NAME, GROUP)
    try:
        return _judge(target, reads)
    except CannotRead as exc:
        return error(NAME, GROUP, exc)


def _judge(target: Target, reads: Reads) -> Finding:
    reg = net.registry(reads, target)
    if reg is None:
        return not_applicable(NAME, GROUP, "the image is not in a registry pullfix can see")
    eps = net.endpoints(reads, reg)
    if not eps:
        return not_applicable(NAME, GROUP, f"registry {reg.name} has no approved private "
                              "endpoint: it is reached publicly")
    suffix = reads.clients.profile.acr_login_server_suffix
    zone_name = f"privatelink.{suffix}"
    login = (reg.login_server or "").lower()
    short = login.split(".", 1)[0]
    region = (reg.location or "").replace(" ", "").lower()
    wanted = {short: login, f"{short}.{region}.data": f"{short}.{region}.data.{suffix}"}
    node = net.node_network(reads, target)
    vnet_id = node.vnet.id
    ev = [Evidence(source=f"ARM GET {ep.id}", detail=f"private endpoint in {ep.vnet_id}: "
                   + ", ".join(f"{k}={v}" for k, v in ep.ips.items()), data={"ips": ep.ips})
          for ep in eps]
    ev.append(Evidence(source=f"ARM GET {vnet_id}", detail=f"pool {node.pool} runs in VNet "
                       f"{node.vnet.name}, subnet {node.subnet.name}",
                       data={"vnet": vnet_id}))
    found = net.zones(reads, zone_name)
    linked = []
    for zone, links, records in found:
        vnets = [lk.virtual_network.id for lk in links if lk.virtual_network]
        ev.append(Evidence(source=f"ARM GET {zone.id}/virtualNetworkLinks, /A",
                           detail=f"zone linked to {len(vnets)} VNet(s); A records: "
                           + (", ".join(f"{k}={','.join(v)}" for k, v in records.items())
                              or "none"),
                           data={"zone": zone.id, "links": vnets, "a_records": records}))
        if any(v.lower() == vnet_id.lower() for v in vnets):
            linked.append((zone, records))
    if not linked:
        holders = [z.id for z, _, recs in found if short in recs]
        where = f"zone {holders[0]} holds its records" if holders else (
            f"no visible {zone_name} zone holds its records")
        return Finding(
            check=NAME, status=Status.FAIL, group=GROUP, evidence=tuple(ev),
            suggests=("link-private-dns-zone",) if holders else (),
            root_cause=f"dns-link:{(holders[0] if holders else zone_name).lower()}"
                       f"->{vnet_id.lower()}",
            summary=f"no {zone_name} zone is linked to the cluster's VNet {node.vnet.name}, so "
                    f"{login} resolves to the public endpoint instead of its private endpoint "
                    f"({where})")
    ips = {ip for ep in eps for ip in ep.ips.values()}
    zone, records = linked[0]
    wrong = [f"{fq} (record {rel}: {','.join(records.get(rel, [])) or 'missing'})"
             for rel, fq in wanted.items() if not set(records.get(rel, [])) & ips]
    if wrong:
        return Finding(
            check=NAME, status=Status.FAIL, group=GROUP, evidence=tuple(ev),
            root_cause=f"dns-records:{zone.id.lower()}@{(reg.id or '').lower()}",
            summary=f"zone {zone.name} is linked to {node.vnet.name} but does not resolve "
                    f"{', '.join(wrong)} to the private endpoint addresses {sorted(ips)}")
    return Finding(check=NAME, status=Status.PASS, group=GROUP, evidence=tuple(ev),
                   summary=f"zone {zone.name} is linked to {node.vnet.name} and resolves "
                           f"{login} and its data endpoint to the private endpoint")
