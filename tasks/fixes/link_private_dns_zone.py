"""link-private-dns-zone — link the registry's ``privatelink.azurecr.io`` zone to the AKS VNet.

What it changes: one virtual network link ``pullfix-<vnet name>`` (registrationEnabled
false) from the zone that holds the registry's A records (what private-dns-zone-linked found)
to the VNet of the failing pod's node pool. Nodes then resolve the login server and the data
endpoint to the private endpoint instead of the refusing public endpoint.
Why it is safe: a link only adds name resolution for that one zone to that VNet; no record,
route or rule changes, and auto-registration stays off.
How it is undone: rollback deletes the link this run created (an LRO); a link that already
existed (under any name) is never touched.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from azure.core.exceptions import ResourceNotFoundError

from tasks.contract import Finding, Target
from tasks.fix import DNS_WRITER, NET_WRITER, Change, Fix, FixPlan, FixResult, Need, Risk, changed, fix, param
from tasks.fixes import _netfix as nf
from tasks.reads import Reads, parse_id

if TYPE_CHECKING:
    from azure.mgmt.privatedns import PrivateDnsManagementClient

API = "ARM PUT privateDnsZones/virtualNetworkLinks"


def _client(reads: Reads, zone_id: str) -> PrivateDnsManagementClient:
    from azure.mgmt.privatedns import PrivateDnsManagementClient

    return reads.clients.arm(PrivateDnsManagementClient, parse_id(zone_id)["subscription"])


def _links_to(reads: Reads, zone_id: str, vnet_id: str) -> list[Any]:
    p = parse_id(zone_id)
    return [lk for lk in _client(reads, zone_id).virtual_network_links.list(p["resource_group"], p["name"])
            if lk.virtual_network and (lk.virtual_network.id or "").lower() == vnet_id.lower()]


@fix
class LinkPrivateDnsZone(Fix):
    name: ClassVar[str] = "link-private-dns-zone"
    risk: ClassVar[Risk] = Risk.LOW
    resolves: ClassVar[tuple[str, ...]] = ("private-dns-zone-linked",)
    permissions: ClassVar[tuple[Need, ...]] = (
        Need("Microsoft.Network/privateDnsZones/virtualNetworkLinks/write",
             changed("Microsoft.Network/privateDnsZones", "the private DNS zone"), DNS_WRITER),
        Need("Microsoft.Network/virtualNetworks/join/action", param("vnet_id", "the AKS VNet"),
             NET_WRITER))
    propagates: ClassVar[str] = "a new virtual network link takes effect in the VNet's resolver " \
                                "within minutes"
    reversible: ClassVar[bool] = True

    class Params(Fix.Params):
        zone_id: str
        vnet_id: str
        link_name: str

    def plan(self, target: Target, finding: Finding, reads: Reads) -> FixPlan | None:
        vnet_id = nf.first(finding, "vnet")
        if not nf.suggested(self, finding) or not vnet_id:
            return None
        short = (target.registry_host or "").split(".", 1)[0].lower()
        holders = [d["zone"] for d in nf.data(finding, "zone") if short in d.get("a_records", {})]
        if not holders:
            return None
        zone_id = holders[0]
        if _links_to(reads, zone_id, vnet_id):
            return None  # linked since the diagnosis: nothing to do
        vnet_name = vnet_id.rstrip("/").rsplit("/", 1)[-1]
        params = self.Params(zone_id=zone_id, vnet_id=vnet_id, link_name=f"pullfix-{vnet_name}"[:80])
        change = Change(resource=f"{zone_id}/virtualNetworkLinks/{params.link_name}",
                        operation="create", api=API, after={
                            "virtualNetwork": vnet_id, "registrationEnabled": False})
        return nf.make_plan(self, target, f"link zone {parse_id(zone_id)['name']} to VNet "
                            f"{vnet_name} so {target.registry_host} resolves to its private "
                            "endpoint", [change], params)

    def apply(self, plan: FixPlan, reads: Reads) -> FixResult:
        from azure.mgmt.privatedns import models as dns

        p = self.Params(**plan.params)
        if _links_to(reads, p.zone_id, p.vnet_id):
            return FixResult(fix=self.name, plan_hash=plan.hash, applied=())
        z = parse_id(p.zone_id)
        link = _client(reads, p.zone_id).virtual_network_links.begin_create_or_update(
            z["resource_group"], z["name"], p.link_name, dns.VirtualNetworkLink(
                location="global", properties=dns.VirtualNetworkLinkProperties(
                    virtual_network=dns.SubResource(id=p.vnet_id), registration_enabled=False))
        ).result()
        return FixResult(fix=self.name, plan_hash=plan.hash, applied=plan.changes,
                         data={"link_id": link.id})

    def rollback(self, result: FixResult, reads: Reads) -> None:
        for change in result.applied:
            zone_id, name = change.resource.split("/virtualNetworkLinks/")
            z = parse_id(zone_id)
            try:
                _client(reads, zone_id).virtual_network_links.begin_delete(
                    z["resource_group"], z["name"], name).result()
            except ResourceNotFoundError:
                continue  # already gone: the rollback's goal holds
