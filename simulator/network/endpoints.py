"""Private endpoints (with the network interface Azure creates for each) and their private
DNS zone groups.

A private endpoint to a container registry (group id ``registry``) gets two private IPs: one
for the login server (``NAME.azurecr.io``) and one for the regional data endpoint
(``NAME.REGION.data.azurecr.io``); both appear in ``customDnsConfigs`` and on the NIC. A zone
group writes the matching A records into the linked private DNS zones, as Azure does.
"""

from __future__ import annotations

import uuid
from typing import Any

from simulator.core.ids import parse
from simulator.core.world import World
from simulator.network.common import NIC, PRIVATE_ENDPOINT, ZONE_GROUP, etag, next_ip, ref
from simulator.network.vnets import find_subnet

REGISTRY_TYPE = "microsoft.containerregistry/registries"


def registry_fqdns(world: World, target_id: str, fallback_region: str) -> list[tuple[str, str]]:
    """(member name, fqdn) pairs a registry private endpoint serves."""
    reg = world.get(target_id)
    name = parse(target_id).name.lower()
    login = ((reg or {}).get("properties") or {}).get("loginServer") or f"{name}.azurecr.io"
    region = ((reg or {}).get("location") or fallback_region).replace(" ", "").lower()
    return [("registry", login), (f"registry_data_{region}",
                                  f"{login.split('.', 1)[0]}.{region}.data.azurecr.io")]


def create_private_endpoint(world: World, *, pe_id: str, name: str, location: str,
                            subnet_id: str, target_id: str, group_ids: list[str],
                            status: str = "Approved", tags: dict[str, str] | None = None
                            ) -> dict[str, Any]:
    subnet = find_subnet(world, subnet_id)
    if subnet is None:
        raise ValueError(f"subnet '{subnet_id}' does not exist (define its vnet above)")
    if parse(target_id).resource_type.lower() == REGISTRY_TYPE and group_ids == ["registry"]:
        members = registry_fqdns(world, target_id, location)
    else:
        members = [(g, f"{parse(target_id).name.lower()}.{g}.privatelink") for g in group_ids]
    guid = str(uuid.uuid5(uuid.NAMESPACE_URL, pe_id.lower()))  # stable NIC name per endpoint
    nic_id = f"/subscriptions/{parse(pe_id).subscription}/resourceGroups/" \
             f"{parse(pe_id).resource_group}/providers/{NIC}/{name}.nic.{guid}"
    configs, dns = [], []
    nic = {"name": f"{name}.nic.{guid}", "id": nic_id, "etag": etag(), "type": NIC,
           "location": location, "tags": {}, "properties": {}}
    world.put(nic)  # placed first so next_ip sees the addresses handed out below
    for member, fqdn in members:
        ip = next_ip(world, subnet)
        configs.append({
            "name": f"privateEndpointIpConfig.{uuid.uuid4()}",
            "id": f"{nic_id}/ipConfigurations/privateEndpointIpConfig.{member}",
            "etag": etag(), "type": f"{NIC}/ipConfigurations",
            "properties": {
                "provisioningState": "Succeeded", "privateIPAddress": ip,
                "privateIPAllocationMethod": "Dynamic", "subnet": ref(subnet["id"]),
                "primary": not configs, "privateIPAddressVersion": "IPv4",
                "privateLinkConnectionProperties": {
                    "groupId": group_ids[0], "requiredMemberName": member, "fqdns": [fqdn]},
            },
        })
        nic["properties"]["ipConfigurations"] = configs
        dns.append({"fqdn": fqdn, "ipAddresses": [ip]})
    nic["properties"].update({"provisioningState": "Succeeded", "resourceGuid": guid,
                              "privateEndpoint": ref(pe_id), "nicType": "Standard",
                              "enableAcceleratedNetworking": False, "enableIPForwarding": False,
                              "dnsSettings": {"dnsServers": [], "appliedDnsServers": []},
                              "hostedWorkloads": [], "tapConfigurations": []})
    conn_state = {"status": status,
                  "description": "Auto-Approved" if status == "Approved" else "",
                  "actionsRequired": "None"}
    doc = {
        "name": name, "id": pe_id, "etag": etag(), "type": PRIVATE_ENDPOINT,
        "location": location, "tags": dict(tags or {}),
        "properties": {
            "provisioningState": "Succeeded", "resourceGuid": str(uuid.uuid4()),
            "privateLinkServiceConnections": [{
                "name": name, "id": f"{pe_id}/privateLinkServiceConnections/{name}",
                "etag": etag(),
                "type": f"{PRIVATE_ENDPOINT}/privateLinkServiceConnections",
                "properties": {"provisioningState": "Succeeded",
                               "privateLinkServiceId": target_id, "groupIds": list(group_ids),
                               "requestMessage": "",
                               "privateLinkServiceConnectionState": conn_state},
            }],
            "manualPrivateLinkServiceConnections": [],
            "subnet": ref(subnet["id"]),
            "networkInterfaces": [ref(nic_id)],
            "customDnsConfigs": dns,
            "applicationSecurityGroups": [],
            "ipConfigurations": [],
            "isIPv6Enabled": False,
        },
    }
    world.put(doc)
    subnet["properties"].setdefault("privateEndpoints", []).append(ref(pe_id))
    return doc


def create_zone_group(world: World, pe: dict[str, Any], name: str, zone_ids: list[str]
                      ) -> dict[str, Any]:
    """The zone group and the A records it writes: one per endpoint FQDN under each zone."""
    from simulator.privatedns.models import put_a_record

    configs = []
    for zone_id in zone_ids:
        zone = world.get(zone_id)
        if zone is None:
            raise ValueError(f"private DNS zone '{zone_id}' does not exist (define it above)")
        record_sets = []
        for entry in pe["properties"]["customDnsConfigs"]:
            fqdn = entry["fqdn"]
            # privatelink.azurecr.io holds NAME and NAME.REGION.data for NAME.azurecr.io
            public_suffix = zone["name"].lower().removeprefix("privatelink.")
            if not fqdn.lower().endswith("." + public_suffix):
                continue
            rel = fqdn[: -len(public_suffix) - 1]
            put_a_record(world, zone["id"], rel, entry["ipAddresses"], ttl=10)
            record_sets.append({"recordType": "A", "recordSetName": rel,
                                "fqdn": f"{rel}.{zone['name']}", "ttl": 10,
                                "ipAddresses": list(entry["ipAddresses"]),
                                "provisioningState": "Succeeded"})
        configs.append({"name": zone["name"].replace(".", "-"),
                        "properties": {"privateDnsZoneId": zone["id"],
                                       "recordSets": record_sets}})
    doc = {"name": name, "id": f"{pe['id']}/privateDnsZoneGroups/{name}", "etag": etag(),
           "type": ZONE_GROUP,
           "properties": {"provisioningState": "Succeeded", "privateDnsZoneConfigs": configs}}
    return world.put(doc)
