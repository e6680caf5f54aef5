"""Rule evaluation for one outbound HTTPS connection (TCP 443): network security groups and
Azure Firewall (policy rule collection groups or classic rule collections)."""

from __future__ import annotations

import fnmatch
import ipaddress
from typing import Any

from simulator.core.world import World

PORT = 443
# service tags that cover registry and other Azure public endpoints
_PUBLIC_TAGS = ("internet", "azurecloud", "azurecontainerregistry", "*")


def _addr_matches(value: str, ip: str, *, private: bool, vnet_space: list[str]) -> bool:
    v = value.strip().lower()
    if v in ("*", "any", "0.0.0.0/0"):
        return True
    if v == "virtualnetwork":
        return _in(ip, vnet_space)
    if not private and any(v == t or v.startswith(t + ".") for t in _PUBLIC_TAGS):
        return True
    try:
        return ipaddress.ip_address(ip) in ipaddress.ip_network(v, strict=False)
    except ValueError:
        return False


def _in(ip: str, prefixes: list[str]) -> bool:
    for p in prefixes:
        try:
            if ipaddress.ip_address(ip) in ipaddress.ip_network(p, strict=False):
                return True
        except ValueError:
            continue
    return False


def _port_matches(values: list[str]) -> bool:
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


def _source_matches(values: list[str], sources: list[str]) -> bool:
    for v in values:
        if v.strip() in ("*", "Any") or v.strip().lower() == "virtualnetwork":
            return True
        try:
            net = ipaddress.ip_network(v, strict=False)
        except ValueError:
            continue
        if any(net.overlaps(ipaddress.ip_network(s, strict=False)) for s in sources):
            return True
    return not values


def nsg_allows(nsg: dict[str, Any], ip: str, *, private: bool, vnet_space: list[str]) -> bool:
    """First outbound rule by priority that matches TCP/443 to ``ip`` decides."""
    props = nsg.get("properties") or {}
    rules = [r["properties"] for r in (props.get("securityRules") or [])
             + (props.get("defaultSecurityRules") or [])]
    for r in sorted((r for r in rules if r.get("direction") == "Outbound"),
                    key=lambda r: r.get("priority", 65535)):
        if str(r.get("protocol", "*")).lower() not in ("*", "tcp"):
            continue
        ports = [r["destinationPortRange"]] if r.get("destinationPortRange") else []
        if not _port_matches(ports + list(r.get("destinationPortRanges") or [])):
            continue
        dests = [r["destinationAddressPrefix"]] if r.get("destinationAddressPrefix") else []
        dests += list(r.get("destinationAddressPrefixes") or [])
        if not any(_addr_matches(d, ip, private=private, vnet_space=vnet_space) for d in dests):
            continue
        return r.get("access") == "Allow"
    return False


def _fqdn_matches(patterns: list[str], host: str) -> bool:
    return any(fnmatch.fnmatch(host.lower(), p.lower()) for p in patterns)


def _network_rule(rule: dict[str, Any], ip: str, host: str, sources: list[str],
                  private: bool) -> bool:
    protocols = [str(p).upper() for p in rule.get("ipProtocols") or rule.get("protocols") or []]
    if not ({"TCP", "ANY"} & set(protocols)):
        return False
    if not _port_matches(list(rule.get("destinationPorts") or [])):
        return False
    if not _source_matches(list(rule.get("sourceAddresses") or []), sources):
        return False
    return any(_addr_matches(d, ip, private=private, vnet_space=[])
               for d in rule.get("destinationAddresses") or []) or _fqdn_matches(
        list(rule.get("destinationFqdns") or []), host)


def _application_rule(rule: dict[str, Any], host: str, sources: list[str]) -> bool:
    protocols = rule.get("protocols") or []
    if not any(str(p.get("protocolType", "")).lower() == "https" and int(p.get("port") or 443)
               == PORT for p in protocols):
        return False
    if not _source_matches(list(rule.get("sourceAddresses") or []), sources):
        return False
    return _fqdn_matches(list(rule.get("targetFqdns") or []), host)


def _collections(world: World, fw: dict[str, Any]) -> list[tuple[int, int, str, list, str]]:
    """(group priority, collection priority, action, rules, kind) for every collection."""
    out = []
    policy = world.get(((fw["properties"].get("firewallPolicy")) or {}).get("id", ""))
    if policy is not None:
        for ref in policy["properties"].get("ruleCollectionGroups") or []:
            rcg = world.get(ref["id"])
            if rcg is None:
                continue
            gp = rcg["properties"].get("priority", 65000)
            for c in rcg["properties"].get("ruleCollections") or []:
                action = ((c.get("action") or {}).get("type") or "Allow").capitalize()
                rules = c.get("rules") or []
                out.append((gp, c.get("priority", 65000), action,
                            [r for r in rules if r.get("ruleType") == "NetworkRule"], "network"))
                out.append((gp, c.get("priority", 65000), action,
                            [r for r in rules if r.get("ruleType") == "ApplicationRule"], "app"))
    for kind, field in (("network", "networkRuleCollections"),
                        ("app", "applicationRuleCollections")):
        for c in fw["properties"].get(field) or []:
            p = c.get("properties") or {}
            out.append((0, p.get("priority", 65000),
                        ((p.get("action") or {}).get("type") or "Allow").capitalize(),
                        p.get("rules") or [], kind))
    return out


def firewall_allows(world: World, fw: dict[str, Any], ip: str, host: str,
                    sources: list[str], *, private: bool) -> bool:
    """Azure Firewall: network rules first, then application rules (each by priority, first
    match decides); nothing matching is denied."""
    collections = sorted(_collections(world, fw), key=lambda c: (c[0], c[1]))
    for _gp, _cp, action, rules, kind in collections:
        if kind == "network" and any(_network_rule(r, ip, host, sources, private) for r in rules):
            return action == "Allow"
    for _gp, _cp, action, rules, kind in collections:
        if kind == "app" and any(_application_rule(r, host, sources) for r in rules):
            return action == "Allow"
    return False
