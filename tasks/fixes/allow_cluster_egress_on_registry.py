"""allow-cluster-egress-on-registry — add the cluster's egress IPs to the registry's IP rules.

What it changes: ``networkRuleSet.ipRules`` of a registry whose public endpoint accepts
selected networks only (``defaultAction: Deny``): the cluster's egress addresses, as
registry-allows-cluster-egress computed them (firewall, NAT gateway or load balancer outbound
IPs), are appended as ``Allow`` rules. One ``registries.begin_update`` PATCH; ACR replaces the
rule set whole, so the existing rules are sent back unchanged with the new ones.
Why it is safe: nothing is removed and ``defaultAction`` stays ``Deny``; it widens exposure
by exactly those addresses (hence medium risk: a person signs off by default).
How it is undone: rollback removes exactly the addresses this run added, keeping any rule
someone added meanwhile.
"""

from __future__ import annotations

from typing import Any, ClassVar

from azure.mgmt.containerregistry import ContainerRegistryManagementClient
from azure.mgmt.containerregistry import models as acr

from tasks.contract import Finding, Target
from tasks.fix import ACR_WRITER, REGISTRY, Change, Fix, FixPlan, FixResult, Need, Risk, changed, fix
from tasks.fixes import _netfix as nf
from tasks.reads import Reads, parse_id

API = "ARM PATCH registries (networkRuleSet)"


def client(reads: Reads, registry_id: str) -> ContainerRegistryManagementClient:
    return reads.clients.arm(ContainerRegistryManagementClient, parse_id(registry_id)["subscription"])


def get(reads: Reads, registry_id: str) -> Any:
    p = parse_id(registry_id)
    return client(reads, registry_id).registries.get(p["resource_group"], p["name"])


def rules_of(reg: Any) -> tuple[str, list[str]]:
    """(defaultAction, the ipRules' addresses) as the registry has them now."""
    rs = reg.network_rule_set
    return ((rs.default_action if rs else None) or "Allow",
            [r.ip_address_or_range for r in (rs.ip_rules if rs else None) or []])


def update(reads: Reads, registry_id: str, action: str, ips: list[str],
           public_network_access: str | None = None) -> None:
    p = parse_id(registry_id)
    client(reads, registry_id).registries.begin_update(
        p["resource_group"], p["name"], acr.RegistryUpdateParameters(
            properties=acr.RegistryPropertiesUpdateParameters(
                public_network_access=public_network_access,
                network_rule_set=acr.NetworkRuleSet(default_action=action, ip_rules=[
                    acr.IPRule(ip_address_or_range=ip, action="Allow") for ip in ips])))).result()


@fix
class AllowClusterEgressOnRegistry(Fix):
    name: ClassVar[str] = "allow-cluster-egress-on-registry"
    risk: ClassVar[Risk] = Risk.MEDIUM
    resolves: ClassVar[tuple[str, ...]] = ("registry-allows-cluster-egress",)
    permissions: ClassVar[tuple[Need, ...]] = (
        Need("Microsoft.ContainerRegistry/registries/write",
             changed("Microsoft.ContainerRegistry/registries", REGISTRY), ACR_WRITER),)
    leaves: ClassVar[dict[str, Any]] = {"publicNetworkAccess": "Enabled",
                                        "networkRuleSet.defaultAction": "Deny"}
    reversible: ClassVar[bool] = True

    class Params(Fix.Params):
        registry_id: str
        egress_ips: tuple[str, ...]

    def _missing(self, reg: Any, egress: list[str] | tuple[str, ...]) -> list[str]:
        action, ips = rules_of(reg)
        if reg.public_network_access == "Disabled" or action != "Deny":
            return []  # Disabled is enable-selected-networks' case; Allow admits everyone
        return [ip for ip in egress if not nf.allowed(ip, ips)]

    def plan(self, target: Target, finding: Finding, reads: Reads) -> FixPlan | None:
        egress = nf.first(finding, "egress_ips")
        if not nf.suggested(self, finding) or not egress or not target.registry_id:
            return None
        reg = get(reads, target.registry_id)
        missing = self._missing(reg, egress)
        if not missing:
            return None
        action, ips = rules_of(reg)
        params = self.Params(registry_id=reg.id, egress_ips=tuple(missing))
        change = Change(resource=reg.id, operation="update", api=API,
                        before={"defaultAction": action, "ipRules": ips},
                        after={"defaultAction": action, "ipRules": ips + missing})
        return nf.make_plan(self, target, f"allow the cluster's egress IP(s) {missing} on "
                            f"{reg.name}'s firewall (selected networks)", [change], params)

    def apply(self, plan: FixPlan, reads: Reads) -> FixResult:
        p = self.Params(**plan.params)
        reg = get(reads, p.registry_id)
        missing = self._missing(reg, p.egress_ips)
        if not missing:
            return FixResult(fix=self.name, plan_hash=plan.hash, applied=())
        action, ips = rules_of(reg)
        update(reads, p.registry_id, action, ips + missing)
        change = Change(resource=reg.id, operation="update", api=API,
                        before={"defaultAction": action, "ipRules": ips},
                        after={"defaultAction": action, "ipRules": ips + missing})
        return FixResult(fix=self.name, plan_hash=plan.hash, applied=(change,),
                         data={"added": missing})

    def rollback(self, result: FixResult, reads: Reads) -> None:
        added = set(result.data.get("added") or [])
        for change in result.applied:
            action, ips = rules_of(get(reads, change.resource))
            if added & set(ips):
                update(reads, change.resource, action, [ip for ip in ips if ip not in added])
