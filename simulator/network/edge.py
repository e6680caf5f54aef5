"""Public IP addresses, NAT gateways and Azure Firewalls (with their firewall policies and
rule collection groups): the egress path of a cluster subnet."""

from __future__ import annotations

import copy
import hashlib
import uuid
from typing import Any

from simulator.core import errors
from simulator.core.world import World
from simulator.network.common import (
    FIREWALL,
    NAT_GATEWAY,
    POLICY,
    PUBLIC_IP,
    RCG,
    etag,
    ref,
)


def public_ip_doc(*, pip_id: str, name: str, location: str, address: str | None = None,
                  tags: dict[str, str] | None = None) -> dict[str, Any]:
    if address is None:  # stable per id, inside Azure's 20.0.0.0/8 public range
        h = hashlib.sha256(pip_id.lower().encode()).digest()
        address = f"20.{h[0]}.{h[1]}.{max(h[2], 1)}"
    return {
        "name": name, "id": pip_id, "etag": etag(), "type": PUBLIC_IP, "location": location,
        "tags": dict(tags or {}), "sku": {"name": "Standard", "tier": "Regional"},
        "properties": {
            "provisioningState": "Succeeded", "resourceGuid": str(uuid.uuid4()),
            "ipAddress": address, "publicIPAddressVersion": "IPv4",
            "publicIPAllocationMethod": "Static", "idleTimeoutInMinutes": 4, "ipTags": [],
            "ddosSettings": {"protectionMode": "VirtualNetworkInherited"},
        },
    }


def nat_gateway_doc(world: World, *, nat_id: str, name: str, location: str,
                    public_ips: list[str], tags: dict[str, str] | None = None) -> dict[str, Any]:
    for pip_id in public_ips:
        pip = world.get(pip_id)
        if pip is None:
            raise ValueError(f"public IP '{pip_id}' does not exist (define it above)")
        pip["properties"]["natGateway"] = ref(nat_id)
    return {
        "name": name, "id": nat_id, "etag": etag(), "type": NAT_GATEWAY, "location": location,
        "tags": dict(tags or {}), "sku": {"name": "Standard"},
        "properties": {"provisioningState": "Succeeded", "resourceGuid": str(uuid.uuid4()),
                       "idleTimeoutInMinutes": 4,
                       "publicIpAddresses": [ref(world.get(p)["id"]) for p in public_ips],
                       "subnets": []},
    }


def policy_doc(*, policy_id: str, name: str, location: str,
               tags: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "name": name, "id": policy_id, "etag": etag(), "type": POLICY, "location": location,
        "tags": dict(tags or {}),
        "properties": {"provisioningState": "Succeeded", "sku": {"tier": "Standard"},
                       "size": "0.002MB", "threatIntelMode": "Alert",
                       "threatIntelWhitelist": {"fqdns": [], "ipAddresses": []},
                       "ruleCollectionGroups": [], "firewalls": [], "childPolicies": []},
    }


NETWORK_RULE_LISTS = ("ipProtocols", "sourceAddresses", "destinationAddresses",
                      "destinationPorts", "sourceIpGroups", "destinationIpGroups",
                      "destinationFqdns")


def _rule(rule: dict[str, Any], where: str) -> dict[str, Any]:
    r = copy.deepcopy(rule)
    if r.get("ruleType") == "NetworkRule":
        for k in NETWORK_RULE_LISTS:
            r.setdefault(k, [])
        if not r["destinationPorts"] or not r["ipProtocols"]:
            raise errors.bad_request(
                "FirewallPolicyRuleCollectionGroupInvalidRule",
                f"Rule '{r.get('name')}' in {where} must specify ipProtocols and "
                "destinationPorts.")
    return r


def rcg_doc(policy: dict[str, Any], name: str, props: dict[str, Any]) -> dict[str, Any]:
    rid = f"{policy['id']}/ruleCollectionGroups/{name}"
    prio = props.get("priority")
    if not isinstance(prio, int) or not 100 <= prio <= 65000:
        raise errors.bad_request(
            "FirewallPolicyRuleCollectionGroupInvalidPriority",
            f"Rule collection group {rid} has invalid priority {prio}. Allowed values are from "
            "100 to 65000.")
    collections = []
    for c in props.get("ruleCollections") or []:
        c = copy.deepcopy(c)
        c["rules"] = [_rule(r, rid) for r in c.get("rules") or []]
        collections.append(c)
    return {"name": name, "id": rid, "etag": etag(), "type": RCG,
            "properties": {"provisioningState": "Succeeded", "priority": prio, "size": "0.01MB",
                           "ruleCollections": collections}}


def attach_rcg(policy: dict[str, Any], rcg_id: str) -> None:
    groups = policy["properties"].setdefault("ruleCollectionGroups", [])
    if not any(g["id"].lower() == rcg_id.lower() for g in groups):
        groups.append(ref(rcg_id))


def firewall_doc(world: World, *, fw_id: str, name: str, location: str, subnet_id: str,
                 private_ip: str, public_ip: str | None, policy_id: str | None,
                 network_rule_collections: list[dict[str, Any]],
                 tags: dict[str, str] | None = None) -> dict[str, Any]:
    cfg_id = f"{fw_id}/azureFirewallIpConfigurations/ipconfig1"
    cfg: dict[str, Any] = {
        "name": "ipconfig1", "id": cfg_id, "etag": etag(),
        "type": "Microsoft.Network/azureFirewalls/azureFirewallIpConfigurations",
        "properties": {"provisioningState": "Succeeded", "privateIPAddress": private_ip,
                       "privateIPAllocationMethod": "Dynamic", "subnet": ref(subnet_id)},
    }
    if public_ip:
        cfg["properties"]["publicIPAddress"] = ref(public_ip)
        world.must_get(public_ip)["properties"]["ipConfiguration"] = ref(cfg_id)
    props: dict[str, Any] = {
        "provisioningState": "Succeeded", "sku": {"name": "AZFW_VNet", "tier": "Standard"},
        "threatIntelMode": "Alert", "ipConfigurations": [cfg],
        "applicationRuleCollections": [], "natRuleCollections": [],
        "networkRuleCollections": [
            {"name": c["name"], "id": f"{fw_id}/networkRuleCollections/{c['name']}",
             "etag": etag(),
             "properties": {"provisioningState": "Succeeded", "priority": c["priority"],
                            "action": {"type": c["action"]},
                            "rules": [_rule(dict(r, ruleType="NetworkRule"), fw_id)
                                      for r in c["rules"]]}}
            for c in network_rule_collections],
        "ipGroups": [], "additionalProperties": {},
    }
    for c in props["networkRuleCollections"]:
        for r in c["properties"]["rules"]:
            r.pop("ruleType")  # classic rules have no ruleType; ``protocols``, not ipProtocols
            r["protocols"] = r.pop("ipProtocols")
            r.pop("sourceIpGroups")
            r.pop("destinationIpGroups")
    if policy_id:
        props["firewallPolicy"] = ref(policy_id)
        firewalls = world.must_get(policy_id)["properties"].setdefault("firewalls", [])
        firewalls.append(ref(fw_id))
    return {"name": name, "id": fw_id, "etag": etag(), "type": FIREWALL, "location": location,
            "zones": [], "tags": dict(tags or {}), "properties": props}
