"""Microsoft.Network paths (privateDnsZones live in simulator/privatedns)."""

from simulator.core.routing import route
from simulator.network import common as c
from simulator.network import responses as r

SUB = "/subscriptions/{sub}/providers/Microsoft.Network"
RG = "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Network"

# top-level types: (path segment, ARM type) — GET one, list by group, list by subscription
for segment, rtype in (
    ("virtualNetworks", c.VNET), ("networkSecurityGroups", c.NSG),
    ("routeTables", c.ROUTE_TABLE), ("publicIPAddresses", c.PUBLIC_IP),
    ("natGateways", c.NAT_GATEWAY), ("azureFirewalls", c.FIREWALL),
    ("firewallPolicies", c.POLICY), ("privateEndpoints", c.PRIVATE_ENDPOINT),
    ("networkInterfaces", c.NIC),
):
    route("GET", f"{RG}/{segment}/{{name}}")(r.getter(rtype))
    route("GET", f"{RG}/{segment}")(r.lister(rtype))
    route("GET", f"{SUB}/{segment}")(r.lister(rtype))

route("PUT", RG + "/virtualNetworks/{name}")(r.put_vnet)
route("PUT", RG + "/networkSecurityGroups/{name}")(r.put_nsg)
route("PUT", RG + "/routeTables/{name}")(r.put_route_table)

# children embedded in their parent's document: (parent segment, parent type, child segment)
for parent, ptype, key in (
    ("virtualNetworks", c.VNET, "subnets"),
    ("virtualNetworks", c.VNET, "virtualNetworkPeerings"),
    ("networkSecurityGroups", c.NSG, "securityRules"),
    ("networkSecurityGroups", c.NSG, "defaultSecurityRules"),
    ("routeTables", c.ROUTE_TABLE, "routes"),
):
    route("GET", f"{RG}/{parent}/{{name}}/{key}/{{child}}")(r.child_getter(ptype, key))
    route("GET", f"{RG}/{parent}/{{name}}/{key}")(r.child_lister(ptype, key))

route("PUT", RG + "/virtualNetworks/{name}/subnets/{child}")(r.put_subnet)
route("PUT", RG + "/virtualNetworks/{name}/virtualNetworkPeerings/{child}")(r.put_peering)
route("DELETE", RG + "/virtualNetworks/{name}/virtualNetworkPeerings/{child}")(r.delete_peering)
route("PUT", RG + "/networkSecurityGroups/{name}/securityRules/{child}")(r.put_rule)
route("DELETE", RG + "/networkSecurityGroups/{name}/securityRules/{child}")(r.delete_rule)
route("PUT", RG + "/routeTables/{name}/routes/{child}")(r.put_route)

# children stored as their own documents
route("GET", RG + "/firewallPolicies/{name}/ruleCollectionGroups/{child}")(
    r.sub_getter(c.POLICY, "ruleCollectionGroups"))
route("GET", RG + "/firewallPolicies/{name}/ruleCollectionGroups")(
    r.sub_lister(c.POLICY, c.RCG))
route("PUT", RG + "/firewallPolicies/{name}/ruleCollectionGroups/{child}")(r.put_rcg)
route("DELETE", RG + "/firewallPolicies/{name}/ruleCollectionGroups/{child}")(r.delete_rcg)
route("GET", RG + "/privateEndpoints/{name}/privateDnsZoneGroups/{child}")(
    r.sub_getter(c.PRIVATE_ENDPOINT, "privateDnsZoneGroups"))
route("GET", RG + "/privateEndpoints/{name}/privateDnsZoneGroups")(
    r.sub_lister(c.PRIVATE_ENDPOINT, c.ZONE_GROUP))
