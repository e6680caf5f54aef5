"""The network checks against the scenario library: each FAILs exactly where the scenario's
expect lists it (no FAIL on healthy, custom-role-pull or another cause), and says ERROR — with
the read and the role it needs — when a read is refused or keeps failing."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tasks.contract import FailingPod, Status, Target
from tasks.reads import Reads
from tests.checklib import cluster_refs, run_check, targets
from tests.simharness import Sim

ROOT = Path(__file__).resolve().parent.parent
WORLDS = Path(__file__).parent / "worlds"
NETWORK = ("private-dns-zone-linked", "registry-allows-cluster-egress", "vnet-peering-connected",
           "firewall-allows-registry", "nsg-allows-registry")
SCENARIOS = ("private-dns-zone-not-linked", "registry-firewall-missing-egress-ip",
             "public-access-disabled", "peering-disconnected", "peering-missing",
             "firewall-route-without-allow-rule", "nsg-deny", "healthy", "custom-role-pull",
             "missing-pull-role")


def expected(scenario: str, checks: tuple[str, ...]) -> set[str]:
    doc = yaml.safe_load((ROOT / "simulator" / "scenarios" / f"{scenario}.yaml").read_text())
    return set(doc["expect"]["failing_checks"]) & set(checks)


def failing(sim: Sim, checks: tuple[str, ...]) -> dict[str, list]:
    reads = Reads(sim.clients())
    out: dict[str, list] = {}
    for cluster in cluster_refs(sim):
        for t in targets(sim, cluster, reads):
            for name in checks:
                f = run_check(name, t, reads)
                if f.status == Status.FAIL:
                    out.setdefault(name, []).append(f)
    return out


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_network_checks_fail_exactly_where_the_library_says(sim_pool, scenario: str) -> None:
    # given a served library scenario; when every network check runs on every failing pod
    found = failing(sim_pool.get(scenario), NETWORK)
    # then the FAILs are exactly the scenario's expected failing network checks
    assert set(found) == expected(scenario, NETWORK), {k: v[0].summary for k, v in found.items()}
    for name, findings in found.items():
        assert all(f.evidence and f.root_cause for f in findings), name
        assert len({f.root_cause for f in findings}) == 1  # one cause for the workload's pods


@pytest.mark.scenario("private-dns-zone-not-linked")
def test_unlinked_zone_names_the_zone_the_vnet_and_the_fix(sim: Sim) -> None:
    f = failing(sim, ("private-dns-zone-linked",))["private-dns-zone-linked"][0]
    assert f.suggests == ("link-private-dns-zone",)
    assert "vnet-aks" in f.summary and "privatelink.azurecr.io" in f.summary
    assert "privatednszones/privatelink.azurecr.io->" in (f.root_cause or "")


@pytest.mark.scenario("public-access-disabled")
def test_public_access_disabled_suggests_selected_networks(sim: Sim) -> None:
    f = failing(sim, ("registry-allows-cluster-egress",))["registry-allows-cluster-egress"][0]
    assert f.suggests == ("enable-selected-networks",)


@pytest.mark.scenario("registry-firewall-missing-egress-ip")
def test_missing_egress_ip_names_the_cluster_egress_ip(sim: Sim) -> None:
    f = failing(sim, ("registry-allows-cluster-egress",))["registry-allows-cluster-egress"][0]
    assert f.suggests == ("allow-cluster-egress-on-registry",)
    egress = next(e for e in f.evidence if "egress_ips" in e.data).data["egress_ips"]
    assert egress and all(ip in f.summary for ip in egress)


def _hand_target(sim: Sim, image: str) -> tuple[Target, Reads]:
    reads = Reads(sim.clients())
    ref = cluster_refs(sim)["aks-app"]
    reg = reads.registries()[0]
    pod = FailingPod(namespace="web", name="web-0", uid="u", node=None, container="web",
                     image=image, reason="ErrImagePull", message="i/o timeout")
    return Target(cluster=ref, pod=pod, registry_host=reg.login_server, registry_id=reg.id), reads


@pytest.mark.scenario(str(WORLDS / "checks-net-reader.yaml"))
def test_a_network_read_pullfix_may_not_do_is_an_error_naming_the_role(sim: Sim) -> None:
    # given pullfix is Reader on the cluster's subscription only, the network elsewhere
    target, reads = _hand_target(sim, "contosopriv.azurecr.io/app/web:v1")
    for name in ("nsg-allows-registry", "firewall-allows-registry"):
        f = run_check(name, target, reads)
        # then the check cannot tell, and says which read and which role
        assert f.status == Status.ERROR, f
        assert "cannot read VNet" in (f.reason or "") and "403 AuthorizationFailed" in f.reason
        assert "pullfix needs Reader" in f.reason


@pytest.mark.scenario("nsg-deny")
def test_a_network_read_that_keeps_failing_is_an_error_not_a_pass(sim: Sim) -> None:
    sim.reset()
    ts = targets(sim, "aks-app")
    sim.fault(method="GET", path="networkSecurityGroups", status=503)
    try:
        f = run_check("nsg-allows-registry", ts[0], Reads(sim.clients()))
    finally:
        sim.clear_faults()
    assert f.status == Status.ERROR and "503" in (f.reason or ""), f


@pytest.mark.scenario("missing-pull-role")
def test_a_registry_without_private_link_costs_no_private_endpoint_listing(sim: Sim) -> None:
    # given a Standard registry with no private endpoint connection (ARM says so in its
    # privateEndpointConnections), and a subscription that holds no private endpoint
    sim.control("DELETE", "stats")
    # when every network check runs on its failing pods
    found = failing(sim, NETWORK)
    # then none fails, and no subscription's private endpoints were listed to find out
    assert found == {}
    listed = [k for k in sim.stats() if "privateEndpoints" in k]
    assert listed == [], listed


@pytest.mark.scenario("private-dns-zone-not-linked")
def test_a_registry_with_private_link_still_lists_its_endpoints(sim: Sim) -> None:
    # given a Premium registry whose private endpoint connection is Approved
    sim.control("DELETE", "stats")
    # when the network checks run
    found = failing(sim, NETWORK)
    # then its endpoints were listed, and the unlinked zone is found through them
    assert "private-dns-zone-linked" in found
    assert any("privateEndpoints" in k for k in sim.stats())
