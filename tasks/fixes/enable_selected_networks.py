"""enable-selected-networks — open a registry whose public access is Disabled to the cluster only.

What it changes: a registry with ``publicNetworkAccess: Disabled`` and no private endpoint
(registry-allows-cluster-egress found no network may pull) becomes ``Enabled`` for selected
networks: ``networkRuleSet.defaultAction: Deny`` with ``ipRules`` = the cluster's egress IPs
(as the check computed them). One ``registries.begin_update`` PATCH.
Why it is safe enough: the public endpoint then admits those addresses and nobody else (still
authenticated pulls only), but it does expose an endpoint someone chose to close — so it is
high risk: never applied without a person's sign-off.
How it is undone: rollback sets ``publicNetworkAccess`` back to ``Disabled`` and restores the
previous ``defaultAction`` and ``ipRules``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from tasks.checks import _network as net
from tasks.checks._reasons import CannotRead
from tasks.contract import Finding, Target
from tasks.fix import ACR_WRITER, REGISTRY, Change, Fix, FixPlan, FixResult, Need, Risk, changed, fix
from tasks.fixes import _netfix as nf
from tasks.fixes.allow_cluster_egress_on_registry import get, rules_of, update
from tasks.reads import Reads

API = "ARM PATCH registries (publicNetworkAccess, networkRuleSet)"


def _egress(target: Target, finding: Finding, reads: Reads) -> list[str]:
    """The check's egress IPs; recomputed with its helper when the finding lacks them."""
    ips = nf.first(finding, "egress_ips")
    if ips is None:
        try:
            ips, _ = net.egress_ips(reads, target, net.node_network(reads, target))
        except CannotRead:
            return []
    return list(ips)


@fix
class EnableSelectedNetworks(Fix):
    name: ClassVar[str] = "enable-selected-networks"
    risk: ClassVar[Risk] = Risk.HIGH
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

    def plan(self, target: Target, finding: Finding, reads: Reads) -> FixPlan | None:
        if not nf.suggested(self, finding) or not target.registry_id:
            return None
        egress = _egress(target, finding, reads)
        reg = get(reads, target.registry_id)
        if not egress or reg.public_network_access != "Disabled":
            return None  # nothing to allow, or no longer Disabled
        action, ips = rules_of(reg)
        params = self.Params(registry_id=reg.id, egress_ips=tuple(egress))
        change = Change(resource=reg.id, operation="update", api=API, before={
            "publicNetworkAccess": "Disabled", "defaultAction": action, "ipRules": ips},
            after={"publicNetworkAccess": "Enabled", "defaultAction": "Deny",
                   "ipRules": list(egress)})
        return nf.make_plan(self, target, f"enable public access on {reg.name} for selected "
                            f"networks only: the cluster's egress IP(s) {egress}", [change], params)

    def apply(self, plan: FixPlan, reads: Reads) -> FixResult:
        p = self.Params(**plan.params)
        reg = get(reads, p.registry_id)
        if reg.public_network_access != "Disabled":
            return FixResult(fix=self.name, plan_hash=plan.hash, applied=())
        action, ips = rules_of(reg)
        update(reads, p.registry_id, "Deny", list(p.egress_ips), public_network_access="Enabled")
        change = Change(resource=reg.id, operation="update", api=API, before={
            "publicNetworkAccess": "Disabled", "defaultAction": action, "ipRules": ips},
            after={"publicNetworkAccess": "Enabled", "defaultAction": "Deny",
                   "ipRules": list(p.egress_ips)})
        return FixResult(fix=self.name, plan_hash=plan.hash, applied=(change,))

    def rollback(self, result: FixResult, reads: Reads) -> None:
        for change in result.applied:
            before = change.before or {}
            update(reads, change.resource, before.get("defaultAction", "Allow"),
                   list(before.get("ipRules") or []), public_network_access="Disabled")
