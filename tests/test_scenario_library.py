"""The scenario library is the specification: every built-in scenario loads, names only
catalogue checks and fixes, and — served for real — shows exactly the failing pods its
``expect:`` block declares (and nothing else fails)."""

from __future__ import annotations

from pathlib import Path

import pytest
from kubernetes.client.exceptions import ApiException

from simulator.scenario import ScenarioDoc, read_scenario, scenario_names
from tasks.fix import load_fixes
from tasks.kube_access import ClusterStopped
from tasks.registry import load_checks
from tests.scenariolib import failed_messages, is_running, kube, pods, waiting_reasons
from tests.simharness import Sim

# the names are a contract with policy files: read from the registries, not kept by hand
CHECKS = set(load_checks())
FIXES = set(load_fixes())
CATEGORIES = {"unauthorized", "not_found", "forbidden", "timeout", "platform_mismatch", "other"}

# issue 3: one scenario per row of the catalogue, plus healthy
REQUIRED = {
    "healthy", "missing-pull-role", "missing-pull-role-sp", "custom-role-pull",
    "abac-registry-acrpull-only", "cluster-sp-secret-expired", "pull-role-on-previous-sp",
    "kubelet-identity-removed-from-vmss", "pull-secret-sp-expired",
    "pull-secret-admin-regenerated", "login-server-typo", "missing-tag", "missing-repository",
    "private-dns-zone-not-linked", "registry-firewall-missing-egress-ip",
    "public-access-disabled", "peering-disconnected", "peering-missing",
    "firewall-route-without-allow-rule", "nsg-deny", "linux-image-on-windows-pool",
    "amd64-image-on-arm64-pool", "pull-qps", "demo",
    # issue 9: one per way of reaching a cluster (Entra ID, private, stopped, RBAC role missing)
    "aad-cluster-missing-pull-role", "private-cluster-missing-pull-role", "stopped-cluster",
    "aad-cluster-without-rbac-reader",
}


def test_the_library_has_a_scenario_for_every_catalogue_row() -> None:
    missing = sorted(REQUIRED - set(scenario_names()))
    assert missing == [], f"scenarios still to write: {missing}"


@pytest.mark.parametrize("name", scenario_names())
def test_scenario_names_only_catalogue_checks_and_fixes(name: str) -> None:
    doc, _ = read_scenario(name)
    scen = ScenarioDoc.model_validate(doc)
    assert scen.description.strip(), f"{name}: describe the failure mode"
    assert set(scen.expect.failing_checks) <= CHECKS, set(scen.expect.failing_checks) - CHECKS
    assert set(scen.expect.fixes) <= FIXES, set(scen.expect.fixes) - FIXES
    if scen.expect.category is not None:
        assert scen.expect.category in CATEGORIES
    if scen.expect.failing_checks or scen.expect.fixes:
        assert scen.expect.pods, f"{name}: a failing scenario names its failing pods"


@pytest.mark.parametrize("name", [n for n in scenario_names() if n != "demo"])
def test_served_scenario_fails_exactly_as_expected(name: str, sim_pool, tmp_path: Path) -> None:
    sim: Sim = sim_pool.get(name)
    doc, _ = read_scenario(name)
    scen = ScenarioDoc.model_validate(doc)
    clusters = {e["name"] for e in doc.get("resources", []) if e.get("kind") == "cluster"}
    workloads = [(e["cluster"], e.get("namespace", "default"), e["name"])
                 for e in doc.get("resources", []) if e.get("kind") == "workload"]
    expected = {(p.cluster, p.namespace, p.workload): p for p in scen.expect.pods}
    stopped = {e["name"] for e in doc.get("resources", []) if e.get("kind") == "cluster"
               and e.get("power_state") == "Stopped"}
    for cluster in stopped:  # no API server: nothing to read
        with pytest.raises(ClusterStopped):
            kube(sim, cluster, tmp_path)
    kubes = {c: kube(sim, c, tmp_path) for c in clusters - stopped}
    for cluster, namespace, workload in workloads:
        if cluster in stopped:
            continue
        try:
            found = pods(kubes[cluster], namespace, workload)
        except ApiException as exc:
            # an Entra ID cluster on which pullfix holds no Azure RBAC role: the scenario says so
            assert exc.status == 403 and "does not have access to the resource in Azure" in (
                exc.body or ""), exc
            assert "Azure Kubernetes Service RBAC Reader" in scen.expect.notes, exc
            continue
        assert found, f"{cluster}/{namespace}/{workload}: no pods"
        want = expected.get((cluster, namespace, workload))
        for pod in found:
            if want is None:
                assert is_running(pod), (workload, pod.status.phase, waiting_reasons(pod))
                continue
            assert set(waiting_reasons(pod)) & {"ErrImagePull", "ImagePullBackOff"}, (
                workload, waiting_reasons(pod))
            messages = failed_messages(kubes[cluster], pod)
            assert messages, f"{workload}: no Failed event"
            for fragment in want.message_contains:
                assert any(fragment in m for m in messages), (fragment, messages)
    assert set(expected) <= set(workloads), "expect.pods names a workload the scenario lacks"
