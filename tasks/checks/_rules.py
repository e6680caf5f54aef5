"""Evaluating one outbound HTTPS connection (TCP 443) against NSG rules and Azure Firewall
rules, on the resources' REST documents (``model.as_dict()``).

NSG: outbound rules (the operator's and the default ones) by priority, first match decides.
Azure Firewall: network rules before application rules, each by (rule collection group
priority, collection priority), first match decides; nothing matching is denied. A public
destination whose address pullfix cannot know (``ip=None``) matches only ``*``/``Any``,
``0.0.0.0/0`` and the service tags that cover registries (Internet, AzureCloud,
AzureContainerRegistry).
"""

from __future__ import annotations

import fnmatch
import ipaddress
from typing import Any

PORT = 443
_PUBLIC_TAGS = ("internet", "azurecloud", "azurecontainerregistry")


def _ip_in(ip: str, prefix: str) -> bool:
    try:
        return ipaddress.ip_address(ip) in ipaddress.ip_network(prefix, strict=False)
    except ValueError:
        return False


def dest_matches(value: str, ip: str | None, vnet_space: list[str]) -> bool:
    v = value.strip().lower()
    if v in ("*", "any", "0.0.0.0/0"):
        return True
    if v == "virtualnetwork":
        return ip is not None and any(_ip_in(ip, p) for p in vnet_space)
    if ip is None:
        return any(v == t or v.startswith(t + ".") for t in _PUBLIC_TAGS)
    return _ip_in(ip, v)


def port_matches(values: list[Any]) -> bool:
    for v in values:
        v = str(v).strip()
        if v in ("*", "Any"):
            return True
        lo, _, hi = v.partition("-")
        try:
            if int(lo) <= PORT <= int(hi or lo):
                return True
        except ValueError:
            continue
    return False


def source_matches(values: list[str], sources: list[str]) -> bool:
    if not values:
        return True
    for v in values:
        if v.strip() in ("*", "Any") or v.strip().lower() == "virtualnetwork":
            return True
        try:
            net = ipaddress.ip_network(v, strict=False)
        except ValueError:
            continue
        if any(net.overlaps(ipaddress.ip_network(s, strict=False)) for s in sources):
            return True
    return False


def nsg_first_match(nsg: dict[str, Any], ip: str | None, vnet_space: list[str]
                    ) -> tuple[dict[str, Any] | None, bool]:
    """(the outbound rule that decides TCP/443 to ``ip``, whether it is a default rule)."""
    props = nsg.get("properties") or {}
    rules = [(r, False) for r in props.get("securityRules") or []] + [
        (r, True) for r in props.get("defaultSecurityRules") or []]
    for rule, default in sorted(rules, key=lambda x: (x[0].get("properties") or {}).get(
            "priority", 65535)):
        p = rule.get("properties") or {}
        if p.get("direction") != "Outbound" or str(p.get("protocol", "*")).lower() not in (
                "*", "tcp"):
            continue
        ports = ([p["destinationPortRange"]] if p.get("destinationPortRange") else []) + list(
            p.get("destinationPortRanges") or [])
        dests = ([p["destinationAddressPrefix"]] if p.get("destinationAddressPrefix") else []
                 ) + list(p.get("destinationAddressPrefixes") or [])
        if port_matches(ports) and any(dest_matches(d, ip, vnet_space) for d in dests):
            return rule, default
    return None, True


def _network_rule(r: dict[str, Any], ip: str | None, host: str, sources: list[str]) -> bool:
    protocols = {str(p).upper() for p in r.get("ipProtocols") or r.get("protocols") or []}
    return bool({"TCP", "ANY"} & protocols) and port_matches(
        list(r.get("destinationPorts") or [])) and source_matches(
        list(r.get("sourceAddresses") or []), sources) and (
        any(dest_matches(d, ip, []) for d in r.get("destinationAddresses") or [])
        or any(fnmatch.fnmatch(host, f.lower()) for f in r.get("destinationFqdns") or []))


def _application_rule(r: dict[str, Any], host: str, sources: list[str]) -> bool:
    https = any(str(p.get("protocolType", "")).lower() == "https" and int(p.get("port") or PORT)
                == PORT for p in r.get("protocols") or [])
    return https and source_matches(list(r.get("sourceAddresses") or []), sources) and any(
        fnmatch.fnmatch(host, f.lower()) for f in r.get("targetFqdns") or [])


def _collections(fw: dict[str, Any], groups: list[dict[str, Any]]
                 ) -> list[tuple[int, int, str, str, str, list[dict[str, Any]]]]:
    """(group priority, priority, name, action, kind, rules) of every filter collection."""
    out = []
    for g in groups:
        gp = (g.get("properties") or {}).get("priority", 65000)
        for c in (g.get("properties") or {}).get("ruleCollections") or []:
            if c.get("ruleCollectionType", "FirewallPolicyFilterRuleCollection") != \
                    "FirewallPolicyFilterRuleCollection":
                continue
            action = str((c.get("action") or {}).get("type") or "Allow").capitalize()
            for kind, rtype in (("network", "NetworkRule"), ("application", "ApplicationRule")):
                out.append((gp, c.get("priority", 65000), f"{g.get('name')}/{c.get('name')}",
                            action, kind, [r for r in c.get("rules") or []
                                           if r.get("ruleType") == rtype]))
    props = fw.get("properties") or {}
    for kind, key in (("network", "networkRuleCollections"),
                      ("application", "applicationRuleCollections")):
        for c in props.get(key) or []:
            p = c.get("properties") or {}
            out.append((0, p.get("priority", 65000), str(c.get("name")),
                        str((p.get("action") or {}).get("type") or "Allow").capitalize(),
                        kind, list(p.get("rules") or [])))
    return sorted(out, key=lambda c: (c[0], c[1]))


def firewall_decision(fw: dict[str, Any], groups: list[dict[str, Any]], ip: str | None,
                      host: str, sources: list[str]) -> tuple[bool, str]:
    """(allowed, the collection that decided or why nothing matched)."""
    cols = _collections(fw, groups)
    for _gp, _p, name, action, kind, rules in cols:
        if kind == "network" and any(_network_rule(r, ip, host, sources) for r in rules):
            return action == "Allow", f"network rule collection {name} ({action})"
    for _gp, _p, name, action, kind, rules in cols:
        if kind == "application" and any(_application_rule(r, host, sources) for r in rules):
            return action == "Allow", f"application rule collection {name} ({action})"
    return False, f"no network or application rule matches {ip or host}:443 (default deny)"
