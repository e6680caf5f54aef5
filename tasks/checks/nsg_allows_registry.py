"""nsg-allows-registry — cause 4 (443 i/o timeout): a network security group drops the pull.

Failure mode: a rule in the NSG on the AKS node subnet denies outbound TCP 443 to the
registry's private endpoint addresses (or, for a public registry, to Internet /
AzureContainerRegistry), before any allow rule by priority: ``dial tcp …:443: i/o timeout``.
Only rules someone wrote count as the cause: when the deciding rule is a default rule
(``DenyAllOutBound`` because the endpoint is outside the ``VirtualNetwork`` tag), the real
cause is a missing peering, which vnet-peering-connected reports.
NSGs on the nodes' NICs (the scale sets' NIC configurations) are not read.

Evidence: the subnet's NSG (ARM GET networkSecurityGroups), the deciding rule per destination.
Fix: none automatic (report only): changing someone's deny rule needs a person.
"""

from __future__ import annotations

from tasks.checks import _network as net
from tasks.checks._reasons import CannotRead, error, no_pod, not_applicable, read
from tasks.checks._rules import nsg_first_match
from tasks.contract import Category, Evidence, Finding, Group, Status, Target
from tasks.reads import Reads, parse_id
from tasks.registry import check

NAME = "nsg-allows-registry"
GROUP = Group.NETWORK


@check(NAME, group=GROUP, suggests=(),
       permissions=("Microsoft.Network/networkSecurityGroups/read",
                    "Microsoft.Network/virtualNetworks/read",
                    "Microsoft.Network/privateEndpoints/read"),
       categories=(Category.TIMEOUT,))
def nsg_allows_registry(target: Target, reads: Reads) -> Finding:
    if target.pod is None:
        return no_pod(NAME, GROUP)
    try:
        return _judge(target, reads)
    except CannotRead as exc:
        return error(NAME, GROUP, exc)


def _judge(target: Target, reads: Reads) -> Finding:
    from tasks.lazy import importing

    with importing():
        from azure.mgmt.network import NetworkManagementClient
    reg = net.registry(reads, target)
    if reg is None:
        return not_applicable(NAME, GROUP, "the image is not in a registry pullfix can see")
    node = net.node_network(reads, target)
    ref = node.subnet.network_security_group
    if ref is None or not ref.id:
        return Finding(check=NAME, status=Status.PASS, group=GROUP,
                       summary=f"subnet {node.subnet.name} has no network security group")
    nsg_id = ref.id
    p = parse_id(nsg_id)
    nsg = reads.memo(("net.nsg", nsg_id.lower()), lambda: read(
        f"read network security group {nsg_id}", "Reader (Microsoft.Network/"
        "networkSecurityGroups/read)", lambda: reads.clients.arm(
            NetworkManagementClient, p["subscription"]).network_security_groups.get(
            p["resource_group"], p["name"]).as_dict()))
    eps = net.endpoints(reads, reg)
    login = (reg.login_server or "").lower()
    dests: list[tuple[str, str | None]] = [(fq, ip) for ep in eps for fq, ip in ep.ips.items()]
    dests = dests or [(login, None)]
    space = net.connected_prefixes(reads, node.vnet)
    ev, denied = [], []
    for fqdn, ip in dests:
        rule, default = nsg_first_match(nsg, ip, space)
        props = (rule or {}).get("properties") or {}
        access = props.get("access", "Deny")
        name = (rule or {}).get("name", "none")
        ev.append(Evidence(source=f"ARM GET {nsg_id}", detail=f"{ip or fqdn}:443 → "
                           f"{'default ' if default else ''}rule {name} "
                           f"(priority {props.get('priority')}): {access}",
                           data={"destination": ip, "fqdn": fqdn, "rule": name,
                                 "access": access, "default": default}))
        if access != "Allow" and not default:
            denied.append((fqdn, ip, name, props.get("priority")))
    if denied:
        fq, ip, rule, prio = denied[0]
        return Finding(
            check=NAME, status=Status.FAIL, group=GROUP, evidence=tuple(ev),
            root_cause=f"nsg:{nsg_id.lower()}/{rule.lower()}",
            summary=f"NSG {p['name']} on subnet {node.subnet.name} denies outbound TCP 443 to "
                    f"{ip or fq} ({reg.name}) with rule {rule} (priority {prio}); change or "
                    "remove that rule (no automatic fix)")
    return Finding(check=NAME, status=Status.PASS, group=GROUP, evidence=tuple(ev),
                   summary=f"no rule of NSG {p['name']} denies {login}:443 from subnet "
                           f"{node.subnet.name}")
