"""Detection: failing pods of a cluster with their evidence, in a bounded number of calls."""

from __future__ import annotations

import pytest

from tasks.contract import ClusterRef, WorkloadRef
from tasks.detect import failing_pods
from tasks.inventory import clusters
from tasks.reads import Reads
from tests.simharness import Sim


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
