"""registry-allows-cluster-egress — cause 3 (403 Forbidden) of a registry reached publicly.

Failure mode: the registry's public endpoint refuses the cluster: public network access is
``Disabled``, or ``networkRuleSet.defaultAction`` is ``Deny`` and none of the cluster's
egress IPs is in ``ipRules`` — ``failed to resolve reference … 403 Forbidden`` (ACR:
``client with IP … is not allowed access``).
Registries with approved private endpoints are meant to be reached privately: there
private-dns-zone-linked judges how the cluster resolves them, and this check does not apply.

Egress IPs: the Azure Firewall a 0.0.0.0/0 route leads to (its public IPs), else the node
subnet's NAT gateway, else the cluster's managed NAT gateway / load balancer
``effectiveOutboundIPs`` (ARM GET publicIPAddresses).
Evidence: the registry's network rules (ARM GET), the egress IPs and where they come from.
Fixes: ``allow-cluster-egress-on-registry`` (add the egress IPs to ipRules);
``enable-selected-networks`` when public access is Disabled.
"""

from __future__ import annotations

import ipaddress

from tasks.checks import _network as net
from tasks.checks._reasons import CannotRead, error, no_pod, not_applicable
from tasks.contract import Category, Evidence, Finding, Group, Status, Target
from tasks.reads import Reads
from tasks.registry import check

NAME = "registry-allows-cluster-egress"
GROUP = Group.NETWORK


@check(NAME, group=GROUP, suggests=("allow-cluster-egress-on-registry", "enable-selected-networks"),
       permissions=("Microsoft.ContainerRegistry/registries/read",
                    "Microsoft.ContainerService/managedClusters/read",
                    "Microsoft.Network/publicIPAddresses/read",
                    "Microsoft.Network/virtualNetworks/read",
                    "Microsoft.Network/routeTables/read", "Microsoft.Network/azureFirewalls/read",
                    "Microsoft.Network/natGateways/read"),
       categories=(Category.FORBIDDEN,))
def registry_allows_cluster_egress(target: Target, reads: Reads) -> Finding:
    if target.pod is None:
        return no_pod(NAME, GROUP)
    try:
        return _judge(target, reads)
    except CannotRead as exc:
        return error(NAME, GROUP, exc)


def _allowed(ip: str, rules: list[str]) -> bool:
    for r in rules:
        try:
            if ipaddress.ip_address(ip) in ipaddress.ip_network(r, strict=False):
                return True
        except ValueError:
            continue
    return False


def _judge(target: Target, reads: Reads) -> Finding:
    reg = net.registry(reads, target)
    if reg is None:
        return not_applicable(NAME, GROUP, "the image is not in a registry pullfix can see")
    if net.endpoints(reads, reg):
        return not_applicable(NAME, GROUP, f"{reg.name} has approved private endpoints: it is "
                              "meant to be reached privately (see private-dns-zone-linked)")
    rules = reg.network_rule_set
    action = (rules.default_action if rules else None) or "Allow"
    allowed = [r.ip_address_or_range for r in (rules.ip_rules if rules else None) or []
               if (r.action or "Allow") == "Allow"]
    ev = [Evidence(source=f"ARM GET {reg.id}",
                   detail=f"publicNetworkAccess={reg.public_network_access}, "
                          f"defaultAction={action}, ipRules={allowed}",
                   data={"public_network_access": reg.public_network_access,
                         "default_action": action, "ip_rules": allowed})]
    rid = (reg.id or "").lower()
    if reg.public_network_access == "Disabled":
        try:  # the addresses enable-selected-networks would allow; unreadable ones do not matter here
            ips, how = net.egress_ips(reads, target, net.node_network(reads, target))
            ev.append(Evidence(source=f"ARM GET {target.cluster.id}",
                               detail=f"egress IPs {ips} ({how})", data={"egress_ips": ips, "via": how}))
        except CannotRead:
            pass
        return Finding(
            check=NAME, status=Status.FAIL, group=GROUP, evidence=tuple(ev),
            suggests=("enable-selected-networks",), root_cause=f"public-access-disabled:{rid}",
            summary=f"{reg.name} has public network access Disabled and no private endpoint, "
                    "so no network may pull from it")
    if action == "Allow":
        return Finding(check=NAME, status=Status.PASS, group=GROUP, evidence=tuple(ev),
                       summary=f"{reg.name} accepts every network (defaultAction Allow)")
    node = net.node_network(reads, target)
    ips, how = net.egress_ips(reads, target, node)
    ev.append(Evidence(source=f"ARM GET {target.cluster.id}", detail=f"egress IPs {ips} ({how})",
                       data={"egress_ips": ips, "via": how}))
    if not ips:
        raise_reason = f"cannot tell the cluster's egress IPs ({how})"
        return error(NAME, GROUP, CannotRead(raise_reason))
    if any(_allowed(ip, allowed) for ip in ips):
        return Finding(check=NAME, status=Status.PASS, group=GROUP, evidence=tuple(ev),
                       summary=f"{reg.name}'s IP rules allow the cluster's egress IP(s) {ips}")
    return Finding(
        check=NAME, status=Status.FAIL, group=GROUP, evidence=tuple(ev),
        suggests=("allow-cluster-egress-on-registry",),
        root_cause=f"egress:{target.cluster.id.lower()}@{rid}",
        summary=f"{reg.name} denies public access except {allowed or 'nothing'}, and the "
                f"cluster's egress IP(s) {ips} ({how}) are not among them")
