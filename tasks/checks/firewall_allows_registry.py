"""firewall-allows-registry — cause 4 (443 i/o timeout) when egress goes through Azure Firewall.

Failure mode: the AKS subnet's route table sends the registry's traffic (the private
endpoint's addresses, or the public endpoint through 0.0.0.0/0) to an Azure Firewall whose
rules (classic collections or its firewall policy's rule collection groups) do not allow the
node subnet → registry:443, so the firewall drops it: ``dial tcp …:443: i/o timeout``.
Routes are decided by longest prefix: a 0.0.0.0/0 route alone does not catch a peered VNet's
addresses (the peering's system route is longer).

Evidence: the subnet's route table and the winning route per destination, the firewall
(ARM list azureFirewalls) and the collection that decided (or "no rule matches").
Fix: ``allow-registry-on-firewall`` (a network rule subnet → endpoint IPs:443).
"""

from __future__ import annotations

from typing import Any

from tasks.checks import _network as net
from tasks.checks._reasons import CannotRead, error, no_pod, not_applicable, read
from tasks.checks._rules import firewall_decision
from tasks.contract import Category, Evidence, Finding, Group, Status, Target
from tasks.reads import Reads, parse_id
from tasks.registry import check

NAME = "firewall-allows-registry"
GROUP = Group.NETWORK


@check(NAME, group=GROUP, suggests=("allow-registry-on-firewall",),
       permissions=("Microsoft.Network/routeTables/read", "Microsoft.Network/azureFirewalls/read",
                    "Microsoft.Network/firewallPolicies/ruleCollectionGroups/read",
                    "Microsoft.Network/privateEndpoints/read",
                    "Microsoft.Network/virtualNetworks/read"),
       categories=(Category.TIMEOUT,))
def firewall_allows_registry(target: Target, reads: Reads) -> Finding:
    if target.pod is None:
        return no_pod(NAME, GROUP)
    try:
        return _judge(target, reads)
    except CannotRead as exc:
        return error(NAME, GROUP, exc)


def _policy_groups(reads: Reads, fw: Any) -> list[dict[str, Any]]:
    from tasks.lazy import importing

    with importing():
        from azure.mgmt.network import NetworkManagementClient
    pol = fw.firewall_policy.id if fw.firewall_policy else None
    if not pol:
        return []
    p = parse_id(pol)
    client = reads.clients.arm(NetworkManagementClient, p["subscription"])
    return reads.memo(("net.rcgs", pol.lower()), lambda: read(
        f"list rule collection groups of {pol}", "Reader (Microsoft.Network/firewallPolicies/"
        "ruleCollectionGroups/read)", lambda: [g.as_dict() for g in client.
                                               firewall_policy_rule_collection_groups.list(
                                                   p["resource_group"], p["name"])]))


def _judge(target: Target, reads: Reads) -> Finding:
    reg = net.registry(reads, target)
    if reg is None:
        return not_applicable(NAME, GROUP, "the image is not in a registry pullfix can see")
    eps = net.endpoints(reads, reg)
    node = net.node_network(reads, target)
    login = (reg.login_server or "").lower()
    dests: list[tuple[str, str | None]] = [(fq, ip) for ep in eps for fq, ip in ep.ips.items()]
    if not dests:
        dests = [(login, None)]
    sources = list(node.subnet.address_prefixes or []) or [node.subnet.address_prefix]
    ev: list[Evidence] = []
    denied: list[tuple[Any, str, str | None, str]] = []
    routed = False
    for fqdn, ip in dests:
        route = net.winning_route(reads, node, ip or "20.0.0.1")
        where = ip or f"{fqdn} (public)"
        if route is None or (route.next_hop_type or "").lower() != "virtualappliance":
            hop = f"route {route.name} → {route.next_hop_type}" if route else "system route"
            ev.append(Evidence(source=f"ARM GET {node.subnet.id}", detail=f"{where}: {hop}"))
            continue
        fw = net.firewall_at(reads, route.next_hop_ip_address or "")
        if fw is None:
            ev.append(Evidence(source=f"ARM GET {node.subnet.route_table.id}",
                               detail=f"{where}: route {route.name} → appliance "
                                      f"{route.next_hop_ip_address}, not an Azure Firewall "
                                      "pullfix can see (its rules are not checked)"))
            continue
        routed = True
        ok, why = firewall_decision(fw.as_dict(), _policy_groups(reads, fw), ip, fqdn, sources)
        ev.append(Evidence(source=f"ARM GET {fw.id}", detail=f"{where}: route {route.name} → "
                           f"firewall {fw.name} ({route.next_hop_ip_address}): {why}",
                           data={"destination": ip, "fqdn": fqdn, "allowed": ok, "firewall": fw.id,
                                 "policy": fw.firewall_policy.id if fw.firewall_policy else None,
                                 "sources": sources}))
        if not ok:
            denied.append((fw, fqdn, ip, why))
    if denied:
        fw = denied[0][0]
        shown = ", ".join(f"{ip or fq}" for _, fq, ip, _ in denied)
        return Finding(
            check=NAME, status=Status.FAIL, group=GROUP, evidence=tuple(ev),
            suggests=("allow-registry-on-firewall",),
            root_cause=f"firewall:{fw.id.lower()}@{(reg.id or '').lower()}",
            summary=f"the subnet {node.subnet.name} routes {reg.name}'s traffic through Azure "
                    f"Firewall {fw.name}, which does not allow {', '.join(sources)} → "
                    f"{shown}:443 ({denied[0][3]})")
    if not routed:
        return not_applicable(NAME, GROUP, f"no route sends {login}'s traffic from subnet "
                              f"{node.subnet.name} through an Azure Firewall", evidence=tuple(ev))
    return Finding(check=NAME, status=Status.PASS, group=GROUP, evidence=tuple(ev),
                   summary=f"Azure Firewall allows {node.subnet.name} → {login}:443")
