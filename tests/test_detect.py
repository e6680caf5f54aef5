"""Detection: failing pods of a cluster with their evidence, in a bounded number of calls."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
from kubernetes.client.exceptions import ApiException

from tasks import kube
from tasks.contract import ClusterRef, WorkloadRef
from tasks.detect import failing_pods
from tasks.inventory import clusters
from tasks.reads import Reads
from tests.simharness import ROOT, Sim, env_with


def _refs(sim: Sim) -> list[ClusterRef]:
    return [ClusterRef(subscription_id=c.subscription_id, resource_group=c.resource_group,
                       name=c.name, id=c.id) for c in clusters(sim.clients())]


@pytest.mark.scenario("missing-pull-role")
def test_failing_pods_carry_the_kubelet_message_workload_and_node(sim: Sim) -> None:
    [ref] = _refs(sim)
    found = failing_pods(Reads(sim.clients()), ref)
    assert len(found) == 2
    for fp in found:
        assert fp.workload == WorkloadRef(kind="Deployment", namespace="web", name="web")
        assert fp.container == "web" and not fp.init_container
        assert fp.image == "contosoapp.azurecr.io/app/web:v1"
        assert fp.reason in ("ErrImagePull", "ImagePullBackOff")
        assert fp.message.startswith('Failed to pull image "contosoapp.azurecr.io/app/web:v1"')
        assert "401 Unauthorized" in fp.message
        assert (fp.node_os, fp.node_arch) == ("linux", "amd64")
        assert fp.node and fp.node.startswith("aks-nodepool1-")


@pytest.mark.scenario("missing-pull-role")
def test_detection_costs_a_fixed_number_of_calls_per_cluster(sim: Sim) -> None:
    [ref] = _refs(sim)
    sim.control("DELETE", "stats")
    failing_pods(Reads(sim.clients()), ref)
    stats = sim.stats()
    # pods, events, nodes, replica sets, jobs: one list each, whatever the number of pods
    assert stats["GET /k8s/{key}/{rest:path}"] == 5, stats
    assert stats[
        "POST /subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.ContainerService/"
        "managedClusters/{name}/listClusterUserCredential"] == 1


@pytest.mark.scenario("missing-pull-role")
def test_raw_lists_follow_continue_tokens_to_every_item(sim: Sim) -> None:
    # given the cluster's API server and its pods listed in one page
    [ref] = _refs(sim)
    api = Reads(sim.clients()).kube(ref)
    whole = kube.list_all(api, "/api/v1/pods")
    # when the same list is read one item per page
    sim.control("DELETE", "stats")
    paged = kube.list_all(api, "/api/v1/pods", page_size=1)
    # then every item comes back once, in order, one request per item
    assert [p["metadata"]["uid"] for p in paged] == [p["metadata"]["uid"] for p in whole]
    assert len(whole) >= 2 and sim.stats()["GET /k8s/{key}/{rest:path}"] == len(whole)


@pytest.mark.scenario("missing-pull-role")
def test_a_raw_read_of_a_missing_object_raises_the_clients_not_found(sim: Sim) -> None:
    # given the cluster's API server; when a pod that does not exist is read
    [ref] = _refs(sim)
    api = Reads(sim.clients()).kube(ref)
    with pytest.raises(ApiException) as caught:
        kube.get(api, kube.path("api", "v1", "namespaces", "web", "pods", "no-such-pod"))
    # then it is the client's own 404, with the API server's Status in its body
    assert caught.value.status == 404
    assert json.loads(caught.value.body)["reason"] == "NotFound"


@pytest.mark.scenario("missing-pull-role")
def test_diagnosis_never_imports_the_clients_typed_apis(sim: Sim) -> None:
    # given a fresh process (the suite's own has imported them)
    code = textwrap.dedent("""
        import sys
        from tasks.diagnose import diagnose_cluster
        from tasks.inventory import clusters
        from tasks.contract import ClusterRef
        from tasks.reads import Reads
        from tasks.clients import Clients
        [c] = clusters(Clients())
        ref = ClusterRef(subscription_id=c.subscription_id, resource_group=c.resource_group,
                         name=c.name, id=c.id)
        d = diagnose_cluster(Reads(Clients()), ref)
        assert d.failing_checks == ["kubelet-identity-has-pull-role"], d.failing_checks
        typed = sorted(m for m in sys.modules if m.startswith("kubernetes.client.api.")
                       or m == "kubernetes.client.models.v1_pod")
        print(typed)
    """)
    # when it diagnoses the cluster (every check runs)
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env_with(sim),
                          capture_output=True, text=True, timeout=300)
    # then no typed API module (nor their models) was loaded: reads are raw JSON
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]"
