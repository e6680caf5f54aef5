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
    assert len(clusters) == 15
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
    assert len(found) == 15
    assert {c["identity"] for c in found if c["name"] == "aks-old-sp"} == {"service-principal"}
    assert sim.journal() == []  # an inventory only reads
    # one cluster list per subscription, never one call per cluster
    stats = sim.stats()
    lists = [v for k, v in stats.items() if k.endswith("Microsoft.ContainerService/managedClusters")
             and k.startswith("GET /subscriptions/{")]
    assert lists == [3], stats
    assert not any("/managedClusters/{" in k for k in stats), stats


# -- pods: every Azure-side cause shows failing pods with its wording ---------------------------
def _token(image: str, which: str, status: str) -> str:
    """containerd 1.7: Azure/AKS#4459 (anonymous) and Esri/arcgis-gitops#168 (oauth)."""
    host, _, rest = image.partition("/")
    repo = rest.rsplit(":", 1)[0]
    scope = "repository%3A" + repo.replace("/", "%2F") + "%3Apull"
    return (f'failed to pull and unpack image "{image}": failed to resolve reference "{image}": '
            f"failed to authorize: failed to fetch {which} token: unexpected status from GET "
            f"request to https://{host}/oauth2/token?scope={scope}&service={host}: {status}")


def _timeout(image: str, ip: str) -> str:
    """The troubleshooting article's cause 4; Azure/acr#594."""
    host, _, rest = image.partition("/")
    repo, tag = rest.rsplit(":", 1)
    return (f'failed to pull and unpack image "{image}": failed to resolve reference "{image}": '
            f'failed to do request: Head "https://{host}/v2/{repo}/manifests/{tag}": dial tcp '
            f"{ip}:443: i/o timeout")


def _no_such_host(image: str) -> str:
    """virtual-kubelet/azure-aci#65 and Azure/local-csi-driver#226."""
    host, _, rest = image.partition("/")
    repo, tag = rest.rsplit(":", 1)
    return (f'failed to pull and unpack image "{image}": failed to resolve reference "{image}": '
            f'failed to do request: Head "https://{host}/v2/{repo}/manifests/{tag}": dial tcp: '
            f"lookup {host} on 168.63.129.16:53: no such host")


def _not_found(image: str) -> str:
    """The troubleshooting article's cause 2."""
    return (f'rpc error: code = NotFound desc = failed to pull and unpack image "{image}": '
            f'failed to resolve reference "{image}": {image}: not found')


def _platform(image: str) -> str:
    """kubewarden/adm-controller#1378."""
    return (f'rpc error: code = NotFound desc = failed to pull and unpack image "{image}": '
            "no match for platform in manifest: not found")


ANON_401, OAUTH_401 = ("anonymous", "401 Unauthorized"), ("oauth", "401 Unauthorized")
ANON_403 = ("anonymous", "403 Forbidden")
# (cluster, namespace, workload) -> the kubelet's Failed event text, None = runs
DEMO_PODS = {
    ("aks-web-prod", "web", "frontend"): None,
    ("aks-web-prod", "web", "frontend-canary"):
        _not_found("contosoprod.azurecr.io/web/frontend:2.5.0-rc1"),
    ("aks-api-prod", "api", "orders"): _token("contosoprod.azurecr.io/api/orders:1.8.0", *ANON_401),
    ("aks-ledger-prod", "finance", "ledger"):
        _token("contosoprod.azurecr.io/finance/ledger:2.0.3", *ANON_401),
    ("aks-intranet-prod", "intranet", "portal"):
        _token("contosoprod.azurecr.io/intranet/portal:4.2.0", *ANON_401),
    ("aks-batch-prod", "batch", "worker"):
        _token("contosoprod.azurecr.io/batch/worker:3.2.0", *ANON_401),
    ("aks-legacy-prod", "portal", "portal"):
        _token("contosoprod.azurecr.io/legacy/portal:1.0.7", *OAUTH_401),
    ("aks-private-prod", "payments", "gateway"):
        _token("contosopriv.azurecr.io/payments/gateway:5.1.0", *ANON_403),
    ("aks-dev", "web", "frontend"): _token("contosodev.azurecr.io/web/frontend:dev", *ANON_403),
    ("aks-test", "qa", "testrunner"): None,
    ("aks-test", "qa", "reports"): _no_such_host("contosodev.azureacr.io/qa/reports:1.0"),
    ("aks-arm", "edge", "agent"): None,
    ("aks-arm", "edge", "telemetry"): _platform("contosodev.azurecr.io/edge/telemetry:1.2"),
    ("aks-old-sp", "billing", "billing"):
        _token("contosodev.azurecr.io/legacy/billing:7.3", *OAUTH_401),
    ("aks-data-abac", "etl", "etl"): _token("contosodata.azurecr.io/data/etl:4.0", *ANON_401),
    ("aks-data-healthy", "etl", "etl"): None,
    ("aks-data-peer", "analytics", "spark"):
        _timeout("contosodatapriv.azurecr.io/analytics/spark:3.5.1", "10.30.1.4"),
    ("aks-data-fw", "ml", "trainer"): _timeout("contosodatapriv.azurecr.io/ml/trainer:2.0",
                                               "10.30.1.4"),
}


@pytest.mark.scenario("demo")
def test_demo_fleet_pods_fail_for_their_cause_and_healthy_ones_run(sim: Sim, tmp_path) -> None:
    from simulator.scenario import ScenarioDoc, read_scenario
    from tests.scenariolib import failed_messages, is_running, kube, pods, waiting_reasons

    # given the demo fleet as declared: every workload is in the table above
    doc, _ = read_scenario("demo")
    declared = {(e["cluster"], e.get("namespace", "default"), e["name"])
                for e in doc["resources"] if e["kind"] == "workload"}
    assert declared == set(DEMO_PODS)
    failing = {k for k, v in DEMO_PODS.items() if v}
    expect = ScenarioDoc.model_validate(doc).expect
    assert {(p.cluster, p.namespace, p.workload) for p in expect.pods} == failing
    assert {c for c, _, _ in declared} == {c for c, _, _ in DEMO_PODS} and len(
        {c for c, _, _ in declared}) == expect.clusters == 15
    # then every failing workload's pods wait with exactly its cause's words; the rest run
    kubes: dict = {}
    for (cluster, namespace, workload), message in DEMO_PODS.items():
        kb = kubes.setdefault(cluster, kube(sim, cluster, tmp_path))
        found = pods(kb, namespace, workload)
        assert found, (cluster, workload)
        for pod in found:
            if message is None:
                assert is_running(pod), (cluster, workload, waiting_reasons(pod))
                continue
            assert set(waiting_reasons(pod)) & {"ErrImagePull", "ImagePullBackOff"}, (
                cluster, workload, waiting_reasons(pod))
            image = pod.spec.containers[0].image
            assert failed_messages(kb, pod)[0] == f'Failed to pull image "{image}": {message}'
