"""The built-in demo fleet serves, and every cluster is reachable with the real SDK."""

from __future__ import annotations

import pytest
from azure.mgmt.containerservice import ContainerServiceClient
from azure.mgmt.resource.subscriptions import SubscriptionClient

from tests.simharness import Sim


@pytest.mark.scenario("demo")
def test_demo_fleet_has_thirteen_clusters_over_three_subscriptions(sim: Sim) -> None:
    clients = sim.clients()
    subs = {s.display_name: s.subscription_id
            for s in clients.arm(SubscriptionClient).subscriptions.list()}
    assert sorted(subs) == ["contoso-data", "contoso-nonprod", "contoso-prod"]
    clusters = {
        c.name: c
        for sub in subs.values()
        for c in clients.arm(ContainerServiceClient, sub).managed_clusters.list()
    }
    assert len(clusters) == 13
    assert clusters["aks-legacy-prod"].service_principal_profile.client_id != "msi"
    assert clusters["aks-web-prod"].identity_profile["kubeletidentity"].object_id


def test_simulator_lists_the_demo_scenario() -> None:
    import subprocess
    import sys

    from tests.simharness import ROOT

    out = subprocess.run([sys.executable, "-m", "simulator", "scenarios"], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0
    names = [line.split("\t")[0] for line in out.stdout.splitlines()]
    assert "demo" in names and "minimal" in names


@pytest.mark.scenario("demo")
def test_pullfix_clusters_lists_the_fleet_without_writing(sim: Sim) -> None:
    import json
    import subprocess
    import sys

    from tests.simharness import ROOT, env_with

    out = subprocess.run([sys.executable, "-m", "flows.cli", "clusters", "-o", "json"],
                         env=env_with(sim), cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    found = json.loads(out.stdout)
    assert len(found) == 13
    assert {c["identity"] for c in found if c["name"] == "aks-old-sp"} == {"service-principal"}
    assert sim.journal() == []  # an inventory only reads
    # one cluster list per subscription, never one call per cluster
    stats = sim.stats()
    lists = [v for k, v in stats.items() if k.endswith("Microsoft.ContainerService/managedClusters")
             and k.startswith("GET /subscriptions/{")]
    assert lists == [3], stats
    assert not any("/managedClusters/{" in k for k in stats), stats
