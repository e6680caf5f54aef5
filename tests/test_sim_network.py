"""Microsoft.Network and private DNS in the simulator, driven by the real SDK clients."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.mgmt.network import NetworkManagementClient
from azure.mgmt.privatedns import PrivateDnsManagementClient

from simulator.scenario import stable_uuid
from tests.parity import example_response, shape_diff
from tests.simharness import Sim

WORLDS = Path(__file__).parent / "worlds"
pytestmark = pytest.mark.scenario(str(WORLDS / "net-basic.yaml"))
RG, DNS_RG, ZONE = "rg-net", "rg-dns", "privatelink.azurecr.io"


def net(sim: Sim) -> NetworkManagementClient:
    return sim.clients().arm(NetworkManagementClient, sim.subscription)


def dns(sim: Sim) -> PrivateDnsManagementClient:
    return sim.clients().arm(PrivateDnsManagementClient, sim.subscription)


def vnet_id(sim: Sim, name: str) -> str:
    return (f"/subscriptions/{sim.subscription}/resourceGroups/{RG}/providers/"
            f"Microsoft.Network/virtualNetworks/{name}")


def raw(sim: Sim, path: str) -> Any:
    resp = sim.arm_request("GET", f"/subscriptions/{sim.subscription}/resourceGroups/{path}")
    assert resp.status_code == 200, resp.text
    return resp.json()


def states(sim: Sim, *pairs: tuple[str, str]) -> list[str]:
    return [net(sim).virtual_network_peerings.get(RG, v, p).peering_state for v, p in pairs]


def peer(sim: Sim, vnet: str, name: str, remote: str) -> Any:
    return net(sim).virtual_network_peerings.begin_create_or_update(
        RG, vnet, name, {"properties": {"remoteVirtualNetwork": {"id": vnet_id(sim, remote)}}}
    ).result()


# -- virtual networks and subnets --------------------------------------------------------------
def test_vnets_get_and_list_with_embedded_subnets_and_references(sim: Sim) -> None:
    nc = net(sim)
    spoke = nc.virtual_networks.get(RG, "spoke")
    assert spoke.address_space.address_prefixes == ["10.1.0.0/16"]
    aks = {s.name: s for s in spoke.subnets}["aks"]
    assert aks.network_security_group.id.endswith("/networkSecurityGroups/aks-nsg")
    assert aks.route_table.id.endswith("/routeTables/to-fw")
    assert [p.remote_virtual_network.id for p in spoke.virtual_network_peerings] == [
        vnet_id(sim, "hub")]
    assert sorted(v.name for v in nc.virtual_networks.list(RG)) == [
        "hub", "island", "lonely", "spoke"]
    assert len(list(nc.virtual_networks.list_all())) == 4
    # subnets: get/list, with the back-references Azure maintains
    endpoints = nc.subnets.get(RG, "spoke", "endpoints")
    assert endpoints.nat_gateway.id.endswith("/natGateways/egress-nat")
    assert [p.id.rsplit("/", 1)[-1] for p in endpoints.private_endpoints] == ["acr-pe"]
    assert [s.name for s in nc.subnets.list(RG, "spoke")] == ["aks", "endpoints"]
    assert [s.id for s in nc.network_security_groups.get(RG, "aks-nsg").subnets] == [aks.id]
    assert [s.id for s in nc.route_tables.get(RG, "to-fw").subnets] == [aks.id]


def test_vnet_and_subnet_create_are_long_running(sim: Sim) -> None:
    nc = net(sim)
    poller = nc.virtual_networks.begin_create_or_update(RG, "new-vnet", {
        "location": "eastus", "properties": {
            "addressSpace": {"addressPrefixes": ["10.9.0.0/16"]},
            "subnets": [{"name": "a", "properties": {"addressPrefix": "10.9.0.0/24"}}]}})
    assert poller.status() == "InProgress"
    vnet = poller.result()
    assert vnet.provisioning_state == "Succeeded"
    assert vnet.subnets[0].provisioning_state == "Succeeded"
    nsg_id = nc.network_security_groups.get(RG, "aks-nsg").id
    subnet = nc.subnets.begin_create_or_update(RG, "new-vnet", "b", {"properties": {
        "addressPrefix": "10.9.1.0/24", "networkSecurityGroup": {"id": nsg_id}}}).result()
    assert subnet.provisioning_state == "Succeeded"
    assert subnet.network_security_group.id == nsg_id
    assert subnet.id in [s.id for s in nc.network_security_groups.get(RG, "aks-nsg").subnets]
    assert [s.name for s in nc.virtual_networks.get(RG, "new-vnet").subnets] == ["a", "b"]


def test_subnet_errors_are_azures(sim: Sim) -> None:
    nc = net(sim)
    with pytest.raises(HttpResponseError) as err:
        nc.subnets.begin_create_or_update(RG, "spoke", "clash", {
            "properties": {"addressPrefix": "10.1.1.0/24"}}).result()
    assert err.value.error.code == "NetcfgSubnetRangesOverlap"
    with pytest.raises(HttpResponseError) as err:
        nc.subnets.begin_create_or_update(RG, "spoke", "outside", {
            "properties": {"addressPrefix": "192.168.0.0/24"}}).result()
    assert err.value.error.code == "NetcfgSubnetRangeOutsideVnet"
    with pytest.raises(ResourceNotFoundError) as err:
        nc.subnets.get(RG, "spoke", "nope")
    assert err.value.error.code == "NotFound"
    with pytest.raises(ResourceNotFoundError) as err:
        nc.virtual_networks.get(RG, "nope")
    assert err.value.error.code == "ResourceNotFound"


# -- peerings ----------------------------------------------------------------------------------
def test_peering_state_machine(sim: Sim) -> None:
    nc = net(sim)
    # given two unpeered VNets, when one side is created, then it is Initiated
    first = peer(sim, "lonely", "to-island", "island")
    assert (first.peering_state, first.provisioning_state) == ("Initiated", "Succeeded")
    # when the matching remote side is created, both sides are Connected and in sync
    second = peer(sim, "island", "to-lonely", "lonely")
    assert second.peering_state == "Connected"
    assert states(sim, ("lonely", "to-island"), ("island", "to-lonely")) == [
        "Connected", "Connected"]
    assert nc.virtual_network_peerings.get(RG, "lonely", "to-island").peering_sync_level == (
        "FullyInSync")
    assert [p.name for p in nc.virtual_network_peerings.list(RG, "lonely")] == ["to-island"]
    # when one side is deleted, the other is Disconnected
    nc.virtual_network_peerings.begin_delete(RG, "island", "to-lonely").result()
    assert [p.name for p in nc.virtual_network_peerings.list(RG, "island")] == []
    assert states(sim, ("lonely", "to-island")) == ["Disconnected"]
    # updating the disconnected side does not reconnect it
    peer(sim, "lonely", "to-island", "island")
    assert states(sim, ("lonely", "to-island")) == ["Disconnected"]
    # re-creating the deleted side while the other is Disconnected fails as in Azure
    with pytest.raises(HttpResponseError) as err:
        peer(sim, "island", "to-lonely", "lonely")
    assert err.value.error.code == "RemotePeeringIsDisconnected"
    # deleting and re-creating both sides reconnects them
    nc.virtual_network_peerings.begin_delete(RG, "lonely", "to-island").result()
    assert peer(sim, "lonely", "to-island", "island").peering_state == "Initiated"
    assert peer(sim, "island", "to-lonely", "lonely").peering_state == "Connected"
    assert states(sim, ("lonely", "to-island")) == ["Connected"]


def test_peering_to_missing_or_overlapping_vnet_is_refused(sim: Sim) -> None:
    with pytest.raises(HttpResponseError) as err:
        peer(sim, "lonely", "to-ghost", "ghost")
    assert err.value.status_code == 400
    assert err.value.error.code == "InvalidGlobalResourceReference"
    assert vnet_id(sim, "ghost") in err.value.error.message
    with pytest.raises(HttpResponseError) as err:
        peer(sim, "lonely", "to-self", "lonely")
    assert err.value.error.code == "VnetAddressSpacesOverlap"


def test_peering_delete_of_missing_peering_succeeds(sim: Sim) -> None:
    net(sim).virtual_network_peerings.begin_delete(RG, "lonely", "never-was").result()


def test_reader_cannot_create_a_peering(sim: Sim) -> None:
    reader = sim.clients(stable_uuid("app", "net-reader"), "reader-secret-value")
    nc = reader.arm(NetworkManagementClient, sim.subscription)
    assert nc.virtual_networks.get(RG, "hub").name == "hub"  # reading is allowed
    with pytest.raises(HttpResponseError) as err:
        nc.virtual_network_peerings.begin_create_or_update(
            RG, "lonely", "to-island",
            {"properties": {"remoteVirtualNetwork": {"id": vnet_id(sim, "island")}}}).result()
    assert err.value.status_code == 403
    assert err.value.error.code == "AuthorizationFailed"
    assert "Microsoft.Network/virtualNetworks/virtualNetworkPeerings/write" in (
        err.value.error.message)
    assert sim.journal() == []


def test_peering_needs_peer_action_on_the_remote_vnet(sim: Sim) -> None:
    # given a caller who may write the local VNet but holds nothing on the remote one
    admin = sim.clients(stable_uuid("app", "lonely-admin"), "lonely-admin-secret")
    nc = admin.arm(NetworkManagementClient, sim.subscription)
    with pytest.raises(HttpResponseError) as err:
        nc.virtual_network_peerings.begin_create_or_update(
            RG, "lonely", "to-island",
            {"properties": {"remoteVirtualNetwork": {"id": vnet_id(sim, "island")}}}).result()
    # then Azure's linked-scope check refuses it
    assert err.value.status_code == 403
    assert err.value.error.code == "LinkedAuthorizationFailed"
    assert "Microsoft.Network/virtualNetworks/peer/action" in err.value.error.message


# -- public IPs, NAT gateways, NSGs, route tables ----------------------------------------------
def test_public_ips_and_nat_gateways(sim: Sim) -> None:
    nc = net(sim)
    pip = nc.public_ip_addresses.get(RG, "egress-ip")
    assert pip.public_ip_allocation_method == "Static" and pip.ip_address.startswith("20.")
    assert pip.nat_gateway.id.endswith("/natGateways/egress-nat")
    assert sorted(p.name for p in nc.public_ip_addresses.list(RG)) == ["egress-ip", "fw-ip"]
    assert len(list(nc.public_ip_addresses.list_all())) == 2
    nat = nc.nat_gateways.get(RG, "egress-nat")
    assert [p.id for p in nat.public_ip_addresses] == [pip.id]
    assert [s.id.rsplit("/", 1)[-1] for s in nat.subnets] == ["endpoints"]
    assert [n.name for n in nc.nat_gateways.list(RG)] == ["egress-nat"]


def test_nsg_rules_lifecycle_and_default_rules(sim: Sim) -> None:
    nc = net(sim)
    nsg = nc.network_security_groups.get(RG, "aks-nsg")
    assert [r.name for r in nsg.security_rules] == ["deny-acr"]
    assert [(r.name, r.priority) for r in nsg.default_security_rules][:3] == [
        ("AllowVnetInBound", 65000), ("AllowAzureLoadBalancerInBound", 65001),
        ("DenyAllInBound", 65500)]
    rule = nc.security_rules.begin_create_or_update(RG, "aks-nsg", "allow-https", {
        "properties": {"priority": 150, "direction": "Outbound", "access": "Allow",
                       "protocol": "Tcp", "sourceAddressPrefix": "*", "sourcePortRange": "*",
                       "destinationAddressPrefix": "AzureContainerRegistry",
                       "destinationPortRange": "443"}}).result()
    assert (rule.provisioning_state, rule.access) == ("Succeeded", "Allow")
    assert [r.name for r in nc.security_rules.list(RG, "aks-nsg")] == ["deny-acr", "allow-https"]
    assert nc.security_rules.get(RG, "aks-nsg", "allow-https").priority == 150
    with pytest.raises(HttpResponseError) as err:
        nc.security_rules.begin_create_or_update(RG, "aks-nsg", "clash", {"properties": {
            "priority": 150, "direction": "Outbound", "access": "Deny", "protocol": "*",
            "sourceAddressPrefix": "*", "sourcePortRange": "*", "destinationAddressPrefix": "*",
            "destinationPortRange": "*"}}).result()
    assert err.value.error.code == "SecurityRuleConflict"
    nc.security_rules.begin_delete(RG, "aks-nsg", "allow-https").result()
    assert [r.name for r in nc.security_rules.list(RG, "aks-nsg")] == ["deny-acr"]
    created = nc.network_security_groups.begin_create_or_update(RG, "new-nsg", {
        "location": "eastus"}).result()
    assert created.provisioning_state == "Succeeded" and len(created.default_security_rules) == 6


def test_route_tables_and_routes(sim: Sim) -> None:
    nc = net(sim)
    table = nc.route_tables.get(RG, "to-fw")
    assert [(r.address_prefix, r.next_hop_type, r.next_hop_ip_address) for r in table.routes] == [
        ("0.0.0.0/0", "VirtualAppliance", "10.0.1.4")]
    route = nc.routes.begin_create_or_update(RG, "to-fw", "acr", {"properties": {
        "addressPrefix": "AzureContainerRegistry", "nextHopType": "Internet"}}).result()
    assert route.provisioning_state == "Succeeded"
    assert [r.name for r in nc.routes.list(RG, "to-fw")] == ["default", "acr"]
    assert nc.routes.get(RG, "to-fw", "acr").next_hop_type == "Internet"
    created = nc.route_tables.begin_create_or_update(RG, "rt-new", {
        "location": "eastus", "properties": {"routes": [{"name": "r", "properties": {
            "addressPrefix": "0.0.0.0/0", "nextHopType": "VirtualAppliance",
            "nextHopIpAddress": "10.0.1.4"}}]}}).result()
    assert created.routes[0].provisioning_state == "Succeeded"
    assert sorted(t.name for t in nc.route_tables.list(RG)) == ["rt-new", "to-fw"]


# -- firewall ----------------------------------------------------------------------------------
def test_firewall_policy_and_rule_collection_groups(sim: Sim) -> None:
    nc = net(sim)
    fw = nc.azure_firewalls.get(RG, "hub-fw")
    assert fw.ip_configurations[0].private_ip_address == "10.0.1.4"
    assert fw.firewall_policy.id.endswith("/firewallPolicies/hub-policy")
    assert [f.name for f in nc.azure_firewalls.list(RG)] == ["hub-fw"]
    policy = nc.firewall_policies.get(RG, "hub-policy")
    assert [f.id for f in policy.firewalls] == [fw.id]
    egress = nc.firewall_policy_rule_collection_groups.get(RG, "hub-policy", "egress")
    rule = egress.rule_collections[0].rules[0]
    assert (rule.rule_type, rule.destination_ports) == ("NetworkRule", ["443"])
    new = nc.firewall_policy_rule_collection_groups.begin_create_or_update(
        RG, "hub-policy", "dns", {"properties": {"priority": 300, "ruleCollections": [{
            "ruleCollectionType": "FirewallPolicyFilterRuleCollection", "name": "dns",
            "priority": 100, "action": {"type": "Allow"}, "rules": [{
                "ruleType": "NetworkRule", "name": "dns", "ipProtocols": ["UDP"],
                "sourceAddresses": ["10.1.0.0/22"], "destinationAddresses": ["168.63.129.16"],
                "destinationPorts": ["53"]}]}]}})
    assert new.result().provisioning_state == "Succeeded"
    groups = nc.firewall_policy_rule_collection_groups.list(RG, "hub-policy")
    assert sorted(g.name for g in groups) == ["dns", "egress"]
    assert len(nc.firewall_policies.get(RG, "hub-policy").rule_collection_groups) == 2


# -- private endpoints -------------------------------------------------------------------------
def test_private_endpoint_to_a_registry(sim: Sim) -> None:
    nc = net(sim)
    pe = nc.private_endpoints.get(RG, "acr-pe")
    conn = pe.private_link_service_connections[0]
    assert conn.group_ids == ["registry"]
    assert conn.private_link_service_id.endswith("/registries/pullfixacr")
    assert conn.private_link_service_connection_state.status == "Approved"
    assert {d.fqdn: d.ip_addresses for d in pe.custom_dns_configs} == {
        "pullfixacr.azurecr.io": ["10.1.4.4"],
        "pullfixacr.eastus.data.azurecr.io": ["10.1.4.5"]}
    assert pe.network_interfaces[0].id.split("/")[-2] == "networkInterfaces"
    assert [p.name for p in nc.private_endpoints.list(RG)] == ["acr-pe"]
    group = nc.private_dns_zone_groups.get(RG, "acr-pe", "default")
    config = group.private_dns_zone_configs[0]
    assert config.private_dns_zone_id.endswith(f"/privateDnsZones/{ZONE}")
    assert sorted(r.record_set_name for r in config.record_sets) == [
        "pullfixacr", "pullfixacr.eastus.data"]
    assert [g.name for g in nc.private_dns_zone_groups.list("acr-pe", RG)] == ["default"]


# -- private DNS -------------------------------------------------------------------------------
def test_private_dns_zone_records_and_soa(sim: Sim) -> None:
    dc = dns(sim)
    zone = dc.private_zones.get(DNS_RG, ZONE)
    assert (zone.location, zone.number_of_virtual_network_links) == ("global", 1)
    assert zone.number_of_record_sets == 3  # SOA + the endpoint's two A records
    assert [z.name for z in dc.private_zones.list()] == [ZONE]
    assert [z.name for z in dc.private_zones.list_by_resource_group(DNS_RG)] == [ZONE]
    a = dc.record_sets.get(DNS_RG, ZONE, "A", "pullfixacr")
    assert [r.ipv4_address for r in a.a_records] == ["10.1.4.4"]
    assert a.fqdn == "pullfixacr.privatelink.azurecr.io."
    soa = dc.record_sets.get(DNS_RG, ZONE, "SOA", "@")
    assert (soa.soa_record.host, soa.soa_record.expire_time) == ("azureprivatedns.net", 2419200)
    created = dc.record_sets.create_or_update(DNS_RG, ZONE, "A", "other", {
        "properties": {"ttl": 300, "aRecords": [{"ipv4Address": "10.1.4.9"}]}})
    assert created.ttl == 300
    assert sorted(r.name for r in dc.record_sets.list_by_type(DNS_RG, ZONE, "A")) == [
        "other", "pullfixacr", "pullfixacr.eastus.data"]
    assert len(list(dc.record_sets.list(DNS_RG, ZONE))) == 4
    with pytest.raises(ResourceNotFoundError) as err:
        dc.record_sets.get(DNS_RG, ZONE, "A", "missing")
    assert err.value.error.code == "NotFound"


def test_private_dns_vnet_links_lifecycle(sim: Sim) -> None:
    dc = dns(sim)
    assert [link.name for link in dc.virtual_network_links.list(DNS_RG, ZONE)] == ["hub-link"]
    hub = dc.virtual_network_links.get(DNS_RG, ZONE, "hub-link")
    assert (hub.virtual_network_link_state, hub.registration_enabled) == ("Completed", False)
    poller = dc.virtual_network_links.begin_create_or_update(DNS_RG, ZONE, "spoke-link", {
        "location": "global", "properties": {"virtualNetwork": {"id": vnet_id(sim, "spoke")},
                                             "registrationEnabled": False}})
    link = poller.result()
    assert (link.virtual_network_link_state, link.provisioning_state) == (
        "Completed", "Succeeded")
    updated = dc.virtual_network_links.begin_update(DNS_RG, ZONE, "spoke-link", {
        "properties": {"registrationEnabled": True}}).result()
    assert updated.registration_enabled is True
    assert dc.private_zones.get(DNS_RG, ZONE).number_of_virtual_network_links_with_registration \
        == 1
    dc.virtual_network_links.begin_delete(DNS_RG, ZONE, "spoke-link").result()
    with pytest.raises(ResourceNotFoundError) as err:
        dc.virtual_network_links.get(DNS_RG, ZONE, "spoke-link")
    assert err.value.error.code == "ResourceNotFound"


def test_private_dns_link_errors_are_azures(sim: Sim) -> None:
    dc = dns(sim)
    with pytest.raises(HttpResponseError) as err:
        dc.virtual_network_links.begin_create_or_update(DNS_RG, ZONE, "again", {
            "location": "global", "properties": {"virtualNetwork": {"id": vnet_id(sim, "hub")}}})
    assert err.value.status_code == 409 and err.value.error.code == "Conflict"
    with pytest.raises(HttpResponseError) as err:
        dc.virtual_network_links.begin_create_or_update(DNS_RG, ZONE, "ghost", {
            "location": "global", "properties": {"virtualNetwork": {"id": vnet_id(sim, "x")}}})
    assert err.value.error.code == "BadRequest"
    assert "Virtual network resource not found" in err.value.error.message


# -- parity with the official examples ---------------------------------------------------------
NET = "providers/Microsoft.Network"
PARITY = [
    # (operationId, path under the resource group, ignored paths)
    ("VirtualNetworks_Get", f"{RG}/{NET}/virtualNetworks/hub",
     # the example's subnet is used by a load balancer frontend; ours by nothing
     ("$.properties.subnets[].properties.ipConfigurations",)),
    ("Subnets_Get", f"{RG}/{NET}/virtualNetworks/hub/subnets/shared", ()),
    ("VirtualNetworkPeerings_Get", f"{RG}/{NET}/virtualNetworks/hub/virtualNetworkPeerings/"
     "hub-to-spoke", ()),
    ("VirtualNetworkPeerings_List", f"{RG}/{NET}/virtualNetworks/hub/virtualNetworkPeerings", ()),
    ("PublicIPAddresses_Get", f"{RG}/{NET}/publicIPAddresses/egress-ip",
     # a NAT gateway's IP has no NIC ipConfiguration, DDoS plan or service IP tags
     ("$.properties.ipConfiguration", "$.properties.ddosSettings.ddosProtectionPlan",
      "$.properties.ipTags")),
    ("NetworkSecurityGroups_Get", f"{RG}/{NET}/networkSecurityGroups/aks-nsg", ()),
    ("SecurityRules_List", f"{RG}/{NET}/networkSecurityGroups/aks-nsg/securityRules", ()),
    ("RouteTables_Get", f"{RG}/{NET}/routeTables/to-fw", ()),
    ("AzureFirewalls_Get", f"{RG}/{NET}/azureFirewalls/hub-fw",
     # the example carries user tags, application/NAT rule collections and autoscale settings
     ("$.tags", "$.properties.applicationRuleCollections", "$.properties.natRuleCollections",
      "$.properties.networkRuleCollections", "$.properties.autoscaleConfiguration")),
    ("FirewallPolicyRuleCollectionGroups_Get",
     f"{RG}/{NET}/firewallPolicies/hub-policy/ruleCollectionGroups/egress", ()),
    ("PrivateEndpoints_Get", f"{RG}/{NET}/privateEndpoints/acr-pe",
     # static IP configurations and a custom NIC name exist only when requested
     ("$.properties.ipConfigurations", "$.properties.customNetworkInterfaceName")),
    ("PrivateZones_Get", f"{DNS_RG}/{NET}/privateDnsZones/{ZONE}", ("$.tags",)),
    ("VirtualNetworkLinks_Get", f"{DNS_RG}/{NET}/privateDnsZones/{ZONE}/virtualNetworkLinks/"
     "hub-link", ("$.tags",)),
    ("RecordSets_Get", f"{DNS_RG}/{NET}/privateDnsZones/{ZONE}/A/pullfixacr",
     ("$.properties.metadata",)),  # user metadata, absent unless set
]


@pytest.mark.parametrize(("operation", "path", "ignore"), PARITY, ids=[p[0] for p in PARITY])
def test_parity_with_official_examples(sim: Sim, operation: str, path: str,
                                       ignore: tuple[str, ...]) -> None:
    assert shape_diff(example_response(operation), raw(sim, path), ignore=ignore) == []
