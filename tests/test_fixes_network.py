"""The network fixes on their library scenarios, with the real SDK clients against the served
simulator: the check that suggests each fix FAILs; ``plan`` lists the right change; ``apply``
makes the check PASS and the pods Running; ``plan`` again is None; ``apply`` again writes
nothing (the write journal proves it); ``rollback`` restores what the fix touched."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from azure.mgmt.containerregistry import ContainerRegistryManagementClient
from azure.mgmt.containerregistry import models as acr
from azure.mgmt.network import NetworkManagementClient

from tasks.contract import Finding, Status, Target
from tasks.fix import FixPlan, FixResult, load_fixes
from tasks.reads import Reads
from tests.checklib import run_check, targets
from tests.scenariolib import kube, wait_running
from tests.simharness import Sim

WORLDS = Path(__file__).parent / "worlds"
Touched = Callable[[dict[str, Any]], Any]


def diagnose(sim: Sim, check: str) -> tuple[Target, Finding]:
    reads = Reads(sim.clients())
    target = targets(sim, "aks-app", reads)[0]
    return target, run_check(check, target, reads)


def fresh(sim: Sim) -> Reads:
    return Reads(sim.clients())  # a new run's reads: nothing memoized from before the write


def resources(snap: dict[str, Any], *parts: str) -> dict[str, Any]:
    return {k: v for k, v in snap["resources"].items() if all(p in k for p in parts)}


def lifecycle(sim: Sim, tmp_path: Path, fix_name: str, check: str,
              check_plan: Callable[[FixPlan], None], touched: Touched
              ) -> tuple[Target, FixResult]:
    """plan → apply → check PASS and pods Running → plan None → apply again writes nothing."""
    fix = load_fixes()[fix_name]()
    # given the scenario's failing pods and the check that suggests the fix
    target, finding = diagnose(sim, check)
    assert finding.status == Status.FAIL and fix_name in finding.suggests, finding.summary
    before = touched(sim.snapshot())
    # when the fix is planned, the plan lists the expected change and is hashable
    plan = fix.plan(target, finding, fresh(sim))
    assert plan is not None and plan.risk == fix.risk and plan.resolves == (check,)
    assert plan.pods and len(plan.hash) == 64
    check_plan(plan)
    assert touched(sim.snapshot()) == before  # planning is read-only
    # when it is applied, the check passes and the pods pull
    result = fix.apply(plan, fresh(sim))
    assert result.applied and result.plan_hash == plan.hash
    after = run_check(check, target, fresh(sim))  # the same pod's target: it runs now
    assert after.status == Status.PASS, after.summary
    wait_running(kube(sim, "aks-app", tmp_path), "web", "web")
    # then planning again finds nothing to do — from the new finding or the stale one
    assert fix.plan(target, after, fresh(sim)) is None
    assert fix.plan(target, finding, fresh(sim)) is None
    # and applying again changes nothing: no write reaches the cloud
    writes = len(sim.journal())
    again = fix.apply(plan, fresh(sim))
    assert again.applied == () and len(sim.journal()) == writes
    return target, result


def rolled_back(sim: Sim, target: Target, fix_name: str, check: str, result: FixResult,
                touched: Touched, before: Any) -> None:
    """rollback → what the fix touched is as before, and the check FAILs again (running pods
    keep their pulled image, as on a real node)."""
    load_fixes()[fix_name]().rollback(result, fresh(sim))
    sim.advance(5)  # let any pending LRO settle
    assert touched(sim.snapshot()) == before
    assert run_check(check, target, fresh(sim)).status == Status.FAIL


# -- link-private-dns-zone ------------------------------------------------------------------------
def dns_links(snap: dict[str, Any]) -> Any:
    return {k: v["properties"]["virtualNetwork"]["id"].lower()
            for k, v in resources(snap, "/virtualnetworklinks/").items()}


@pytest.mark.scenario("private-dns-zone-not-linked")
def test_link_private_dns_zone_lifecycle(sim: Sim, tmp_path: Path) -> None:
    before = dns_links(sim.snapshot())

    def expect(plan: FixPlan) -> None:
        (change,) = plan.changes
        assert change.operation == "create"
        assert change.resource.endswith("/privateDnsZones/privatelink.azurecr.io/"
                                        "virtualNetworkLinks/pullfix-vnet-aks")
        assert change.after == {"virtualNetwork": plan.params["vnet_id"],
                                "registrationEnabled": False}
        assert plan.params["vnet_id"].endswith("/virtualNetworks/vnet-aks")

    target, result = lifecycle(sim, tmp_path, "link-private-dns-zone", "private-dns-zone-linked", expect,
                       dns_links)
    assert any(k.endswith("/pullfix-vnet-aks") for k in dns_links(sim.snapshot()))
    # when rolled back, the link is deleted and the pods fail again
    rolled_back(sim, target, "link-private-dns-zone", "private-dns-zone-linked", result,
                dns_links, before)


# -- allow-cluster-egress-on-registry ---------------------------------------------------------------
def registry_network(snap: dict[str, Any]) -> Any:
    (reg,) = [v for k, v in resources(snap, "/registries/contosoapp").items()
              if k.endswith("/registries/contosoapp")]
    rules = reg["properties"]["networkRuleSet"]
    return (reg["properties"]["publicNetworkAccess"], rules["defaultAction"],
            sorted(r["value"] for r in rules["ipRules"]))


def _registries(sim: Sim) -> Any:
    return sim.clients().arm(ContainerRegistryManagementClient, sim.subscription).registries


@pytest.mark.scenario("registry-firewall-missing-egress-ip")
def test_allow_cluster_egress_on_registry_lifecycle(sim: Sim, tmp_path: Path) -> None:
    before = registry_network(sim.snapshot())
    _, finding = diagnose(sim, "registry-allows-cluster-egress")
    egress = next(e.data["egress_ips"] for e in finding.evidence if "egress_ips" in e.data)

    def expect(plan: FixPlan) -> None:
        (change,) = plan.changes
        # the office's rule stays; the cluster's load balancer outbound IP is appended
        assert change.before == {"defaultAction": "Deny", "ipRules": ["203.0.113.10"]}
        assert change.after == {"defaultAction": "Deny", "ipRules": ["203.0.113.10", *egress]}

    target, result = lifecycle(sim, tmp_path, "allow-cluster-egress-on-registry",
                       "registry-allows-cluster-egress", expect, registry_network)
    assert result.data == {"added": egress}
    rolled_back(sim, target, "allow-cluster-egress-on-registry",
                "registry-allows-cluster-egress", result, registry_network, before)


@pytest.mark.scenario("registry-firewall-missing-egress-ip")
def test_egress_rollback_keeps_a_rule_added_after_the_fix(sim: Sim) -> None:
    # given the fix applied, and then someone allowing another address by hand
    fix = load_fixes()["allow-cluster-egress-on-registry"]()
    target, finding = diagnose(sim, "registry-allows-cluster-egress")
    plan = fix.plan(target, finding, fresh(sim))
    assert plan is not None
    result = fix.apply(plan, fresh(sim))
    current = [r.ip_address_or_range for r in _registries(sim).get(
        "rg-app", "contosoapp").network_rule_set.ip_rules]
    _registries(sim).begin_update("rg-app", "contosoapp", acr.RegistryUpdateParameters(
        network_rule_set=acr.NetworkRuleSet(default_action="Deny", ip_rules=[
            acr.IPRule(ip_address_or_range=ip) for ip in [*current, "192.0.2.50"]]))).result()
    # when the fix is rolled back
    fix.rollback(result, fresh(sim))
    # then only the address it added is gone
    rules = _registries(sim).get("rg-app", "contosoapp").network_rule_set
    assert sorted(r.ip_address_or_range for r in rules.ip_rules) == ["192.0.2.50", "203.0.113.10"]
    assert rules.default_action == "Deny"


# -- enable-selected-networks -----------------------------------------------------------------------
@pytest.mark.scenario("public-access-disabled")
def test_enable_selected_networks_lifecycle(sim: Sim, tmp_path: Path) -> None:
    before = registry_network(sim.snapshot())
    _, finding = diagnose(sim, "registry-allows-cluster-egress")
    egress = next(e.data["egress_ips"] for e in finding.evidence if "egress_ips" in e.data)
    assert finding.suggests == ("enable-selected-networks",)

    def expect(plan: FixPlan) -> None:
        (change,) = plan.changes
        assert change.before == {"publicNetworkAccess": "Disabled", "defaultAction": "Allow",
                                 "ipRules": []}
        assert change.after == {"publicNetworkAccess": "Enabled", "defaultAction": "Deny",
                                "ipRules": egress}

    target, result = lifecycle(sim, tmp_path, "enable-selected-networks", "registry-allows-cluster-egress",
                       expect, registry_network)
    assert registry_network(sim.snapshot()) == ("Enabled", "Deny", sorted(egress))
    rolled_back(sim, target, "enable-selected-networks", "registry-allows-cluster-egress",
                result, registry_network, before)


@pytest.mark.scenario("registry-firewall-missing-egress-ip")
def test_enable_selected_networks_does_not_plan_for_an_egress_rule_gap(sim: Sim) -> None:
    # given a registry that is Enabled with selected networks (the other fix's case)
    target, finding = diagnose(sim, "registry-allows-cluster-egress")
    # then enable-selected-networks has nothing to do, even when handed the finding
    assert load_fixes()["enable-selected-networks"]().plan(target, finding, fresh(sim)) is None


# -- repair-vnet-peering ----------------------------------------------------------------------------
def peerings(snap: dict[str, Any]) -> Any:
    """(vnet, peering, state, access) of every peering; a deleted one the world keeps until its
    VNet is next read (``_deleting``, the simulator's bookkeeping) is gone."""
    return sorted((k.rsplit("/", 1)[-1], p["name"], p["properties"]["peeringState"],
                   p["properties"]["allowVirtualNetworkAccess"])
                  for k, v in resources(snap, "/virtualnetworks/").items()
                  if k.count("/") == 8
                  for p in v["properties"].get("virtualNetworkPeerings") or []
                  if not p.get("_deleting"))


@pytest.mark.scenario("peering-missing")
def test_repair_vnet_peering_creates_both_missing_sides(sim: Sim, tmp_path: Path) -> None:
    before = peerings(sim.snapshot())
    assert before == []

    def expect(plan: FixPlan) -> None:
        assert [(c.operation, c.resource.rsplit("/", 3)[-3], c.resource.rsplit("/", 1)[-1])
                for c in plan.changes] == [("create", "vnet-aks", "pullfix-vnet-hub"),
                                           ("create", "vnet-hub", "pullfix-vnet-aks")]
        assert all(c.after and c.after["allowVirtualNetworkAccess"] for c in plan.changes)

    target, result = lifecycle(sim, tmp_path, "repair-vnet-peering", "vnet-peering-connected", expect,
                       peerings)
    assert peerings(sim.snapshot()) == [("vnet-aks", "pullfix-vnet-hub", "Connected", True),
                                        ("vnet-hub", "pullfix-vnet-aks", "Connected", True)]
    # rollback deletes the peerings this run created: here that is the original state
    rolled_back(sim, target, "repair-vnet-peering", "vnet-peering-connected", result,
                peerings, before)


@pytest.mark.scenario("peering-disconnected")
def test_repair_vnet_peering_deletes_and_recreates_a_disconnected_pair(sim: Sim, tmp_path: Path
                                                                         ) -> None:
    assert {s for _, _, s, _ in peerings(sim.snapshot())} == {"Disconnected"}

    def expect(plan: FixPlan) -> None:
        # Azure's order: both sides deleted, then both created again (under their own names)
        assert [(c.operation, c.resource.rsplit("/", 1)[-1]) for c in plan.changes] == [
            ("delete", "vnet-aks-to-vnet-hub"), ("delete", "vnet-hub-to-vnet-aks"),
            ("create", "vnet-aks-to-vnet-hub"), ("create", "vnet-hub-to-vnet-aks")]
        assert plan.changes[0].before and plan.changes[0].before["peeringState"] == "Disconnected"
        assert not plan.reversible

    target, result = lifecycle(sim, tmp_path, "repair-vnet-peering", "vnet-peering-connected", expect,
                       peerings)
    assert {s for _, _, s, _ in peerings(sim.snapshot())} == {"Connected"}
    # rollback (documented as not strict) deletes what it created; the Disconnected pair it
    # deleted cannot come back
    load_fixes()["repair-vnet-peering"]().rollback(result, fresh(sim))
    assert peerings(sim.snapshot()) == []


@pytest.mark.scenario("peering-disconnected")
def test_repair_vnet_peering_converges_after_a_half_finished_run(sim: Sim, tmp_path: Path) -> None:
    # given a plan, and a run that stopped after deleting one side
    fix = load_fixes()["repair-vnet-peering"]()
    target, finding = diagnose(sim, "vnet-peering-connected")
    plan = fix.plan(target, finding, fresh(sim))
    assert plan is not None
    netc = sim.clients().arm(NetworkManagementClient, sim.subscription)
    netc.virtual_network_peerings.begin_delete("rg-net", "vnet-aks", "vnet-aks-to-vnet-hub").result()
    # when the plan is applied again, it finishes the job
    fix.apply(plan, fresh(sim))
    assert {s for _, _, s, _ in peerings(sim.snapshot())} == {"Connected"}
    wait_running(kube(sim, "aks-app", tmp_path), "web", "web")


# -- allow-registry-on-firewall ---------------------------------------------------------------------
def rule_groups(snap: dict[str, Any]) -> Any:
    (policy,) = [v for k, v in resources(snap, "/firewallpolicies/").items() if k.count("/") == 8]
    groups = resources(snap, "/rulecollectiongroups/")
    return (sorted(g["id"].lower() for g in policy["properties"]["ruleCollectionGroups"]),
            {k: (v["properties"]["priority"], v["properties"]["ruleCollections"])
             for k, v in groups.items()})


@pytest.mark.scenario("firewall-route-without-allow-rule")
def test_allow_registry_on_firewall_lifecycle(sim: Sim, tmp_path: Path) -> None:
    before = rule_groups(sim.snapshot())

    def expect(plan: FixPlan) -> None:
        (change,) = plan.changes
        assert change.operation == "create" and change.resource.endswith(
            "/firewallPolicies/fwpol-hub/ruleCollectionGroups/pullfix-registry-egress")
        # after the platform group (200): an explicit deny someone wrote would still win
        assert change.after == {
            "priority": 300, "collection": "pullfix-allow-registry",
            "rule": "contosopriv-from-aks-app", "sourceAddresses": ["10.41.0.0/22"],
            # the login server's and the regional data endpoint's addresses
            "destinationAddresses": ["10.30.1.4", "10.30.1.5"], "destinationPorts": ["443"],
            "ipProtocols": ["TCP"]}

    target, result = lifecycle(sim, tmp_path, "allow-registry-on-firewall", "firewall-allows-registry",
                       expect, rule_groups)
    assert result.data == {"created_group": True, "rule": "contosopriv-from-aks-app"}
    rolled_back(sim, target, "allow-registry-on-firewall", "firewall-allows-registry", result,
                rule_groups, before)


@pytest.mark.scenario(str(WORLDS / "fixnet-classic-firewall.yaml"))
def test_allow_registry_on_firewall_does_not_plan_for_classic_rules(sim: Sim) -> None:
    # given a firewall with classic rule collections and no policy, dropping the pull
    target, finding = diagnose(sim, "firewall-allows-registry")
    assert finding.status == Status.FAIL and finding.suggests == ("allow-registry-on-firewall",)
    # then the fix does not plan (classic rules are not supported) and writes nothing
    assert load_fixes()["allow-registry-on-firewall"]().plan(target, finding, fresh(sim)) is None
    assert sim.journal() == []


# -- nsg-allows-registry: report only ---------------------------------------------------------------
@pytest.mark.scenario("nsg-deny")
def test_nsg_deny_suggests_no_fix_and_no_network_fix_plans(sim: Sim) -> None:
    target, finding = diagnose(sim, "nsg-allows-registry")
    assert finding.status == Status.FAIL and finding.suggests == ()
    for name in ("link-private-dns-zone", "allow-cluster-egress-on-registry",
                 "enable-selected-networks", "repair-vnet-peering", "allow-registry-on-firewall"):
        assert load_fixes()[name]().plan(target, finding, fresh(sim)) is None, name
