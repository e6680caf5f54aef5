"""allow-registry-on-firewall — let the AKS subnet reach the registry's private endpoint through
Azure Firewall.

What it changes: on the firewall's policy, the rule collection group
``pullfix-registry-egress`` gets (it is created when missing, at a priority after every existing
group so someone's explicit deny still wins) a filter collection ``pullfix-allow-registry``
holding one network rule ``<registry>-from-<cluster>``: TCP, the node subnet's prefixes → the
private endpoint addresses firewall-allows-registry found dropped, port 443.
(``firewall_policy_rule_collection_groups.begin_create_or_update``.)
Why it is safe: the rule is as narrow as the traffic that must pass; nothing is removed.
How it is undone: rollback deletes the group when this run created it, else removes just the
rule it added.
Not supported (plan is None, logged): classic-rules firewalls without a policy, and registries
reached publicly through the firewall (that needs an FQDN application rule).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, ClassVar

from azure.core.exceptions import ResourceNotFoundError

from tasks.contract import Finding, Target
from tasks.fix import NET_WRITER, Change, Fix, FixPlan, FixResult, Need, Risk, changed, fix
from tasks.fixes import _netfix as nf
from tasks.reads import Reads, parse_id

if TYPE_CHECKING:
    from azure.mgmt.network import models as netm

log = logging.getLogger(__name__)
GROUP, COLLECTION = "pullfix-registry-egress", "pullfix-allow-registry"
API = "ARM PUT firewallPolicies/ruleCollectionGroups"


def _ops(reads: Reads, policy_id: str) -> Any:
    from azure.mgmt.network import NetworkManagementClient

    return reads.clients.arm(NetworkManagementClient, parse_id(policy_id)[
        "subscription"]).firewall_policy_rule_collection_groups


def _groups(reads: Reads, policy_id: str) -> list[Any]:
    p = parse_id(policy_id)
    return list(_ops(reads, policy_id).list(p["resource_group"], p["name"]))


def _priority(groups: list[Any]) -> int:
    """After every existing group; the first free slot when that is past the maximum."""
    used = {g.priority for g in groups if g.priority}
    nxt = max(used, default=100) + 100
    return nxt if nxt <= 65000 else next(p for p in range(65000, 99, -1) if p not in used)


def _rule(p: Any) -> netm.NetworkRule:
    from azure.mgmt.network import models as netm

    return netm.NetworkRule(name=p.rule, ip_protocols=["TCP"], source_addresses=list(p.sources),
                            destination_addresses=list(p.destinations), destination_ports=["443"])


def _ours(group: Any | None) -> tuple[list[Any], list[Any]]:
    """(the group's other collections, the rules of our collection); no group: nothing."""
    cols = list(group.rule_collections or []) if group else []
    ours = next((c for c in cols if c.name == COLLECTION), None)
    return [c for c in cols if c is not ours], list(ours.rules or []) if ours else []


def _key(r: Any) -> tuple[Any, ...]:
    return (r.name, sorted(r.source_addresses or []), sorted(r.destination_addresses or []),
            list(r.destination_ports or []))


def _has(group: Any | None, rule: netm.NetworkRule) -> bool:
    return any(_key(r) == _key(rule) for r in _ours(group)[1])


def _with_rule(group: Any | None, rule: netm.NetworkRule, keep: bool = True) -> list[Any]:
    """The group's collections with our rule replaced (``keep``) or removed (and our
    collection dropped when that empties it)."""
    from azure.mgmt.network import models as netm

    others, rules = _ours(group)
    rules = [r for r in rules if r.name != rule.name] + ([rule] if keep else [])
    if rules:
        others.append(netm.FirewallPolicyFilterRuleCollection(
            name=COLLECTION, priority=100, rules=rules,
            action=netm.FirewallPolicyFilterRuleCollectionAction(type="Allow")))
    return others


def _put(reads: Reads, policy_id: str, priority: int, collections: list[Any]) -> None:
    from azure.mgmt.network import models as netm

    q = parse_id(policy_id)
    _ops(reads, policy_id).begin_create_or_update(
        q["resource_group"], q["name"], GROUP, netm.FirewallPolicyRuleCollectionGroup(
            properties=netm.FirewallPolicyRuleCollectionGroupProperties(
                priority=priority, rule_collections=collections))).result()


@fix
class AllowRegistryOnFirewall(Fix):
    name: ClassVar[str] = "allow-registry-on-firewall"
    risk: ClassVar[Risk] = Risk.MEDIUM
    resolves: ClassVar[tuple[str, ...]] = ("firewall-allows-registry",)
    permissions: ClassVar[tuple[Need, ...]] = (
        Need("Microsoft.Network/firewallPolicies/ruleCollectionGroups/write",
             changed("Microsoft.Network/firewallPolicies", "the firewall policy"), NET_WRITER),)
    reversible: ClassVar[bool] = True

    class Params(Fix.Params):
        policy_id: str
        rule: str
        sources: tuple[str, ...]
        destinations: tuple[str, ...]
        priority: int

    def plan(self, target: Target, finding: Finding, reads: Reads) -> FixPlan | None:
        denied = [d for d in nf.data(finding, "firewall") if not d.get("allowed")]
        if not nf.suggested(self, finding) or not denied:
            return None
        fw, policy = denied[0]["firewall"], denied[0].get("policy")
        dests = sorted({d["destination"] for d in denied if d["firewall"] == fw and d["destination"]})
        if not policy or not dests:
            log.info("allow-registry-on-firewall: not supported for %s (%s)", fw,
                     "classic rules, no firewall policy" if not policy else "public registry "
                     "through the firewall needs an FQDN application rule")
            return None
        groups = _groups(reads, policy)
        existing = next((g for g in groups if (g.name or "").lower() == GROUP), None)
        registry = (target.registry_host or "registry").split(".", 1)[0]
        params = self.Params(policy_id=policy, rule=f"{registry}-from-{target.cluster.name}"[:80],
                             sources=tuple(denied[0]["sources"]), destinations=tuple(dests),
                             priority=existing.priority if existing else _priority(groups))
        if _has(existing, _rule(params)):
            return None
        change = Change(
            resource=f"{policy}/ruleCollectionGroups/{GROUP}",
            operation="update" if existing else "create", api=API,
            before={"rules": [r.name for c in existing.rule_collections or [] for r in
                              getattr(c, "rules", None) or []]} if existing else None,
            after={"priority": params.priority, "collection": COLLECTION, "rule": params.rule,
                   "sourceAddresses": list(params.sources), "destinationAddresses": dests,
                   "destinationPorts": ["443"], "ipProtocols": ["TCP"]})
        return nf.make_plan(self, target, f"allow {', '.join(params.sources)} → "
                            f"{', '.join(dests)}:443 on firewall {parse_id(fw)['name']}'s policy "
                            f"{parse_id(policy)['name']}", [change], params)

    def apply(self, plan: FixPlan, reads: Reads) -> FixResult:
        p = self.Params(**plan.params)
        q = parse_id(p.policy_id)
        try:
            group = _ops(reads, p.policy_id).get(q["resource_group"], q["name"], GROUP)
        except ResourceNotFoundError:
            group = None
        if _has(group, _rule(p)):
            return FixResult(fix=self.name, plan_hash=plan.hash, applied=())
        _put(reads, p.policy_id, group.priority if group else p.priority, _with_rule(group, _rule(p)))
        return FixResult(fix=self.name, plan_hash=plan.hash, applied=plan.changes,
                         data={"created_group": group is None, "rule": p.rule})

    def rollback(self, result: FixResult, reads: Reads) -> None:
        from azure.mgmt.network import models as netm

        for change in result.applied:
            policy_id = change.resource.split("/ruleCollectionGroups/")[0]
            q = parse_id(policy_id)
            ops = _ops(reads, policy_id)
            try:
                group = ops.get(q["resource_group"], q["name"], GROUP)
            except ResourceNotFoundError:
                continue
            rest = _with_rule(group, netm.NetworkRule(name=result.data.get("rule")), keep=False)
            if result.data.get("created_group") and not rest:
                ops.begin_delete(q["resource_group"], q["name"], GROUP).result()
            else:
                _put(reads, policy_id, group.priority, rest)
