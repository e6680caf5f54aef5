"""Reads the engine takes raw or cached still get azure-core's retries (real SDK, the twin)."""

from __future__ import annotations

import pytest

from tasks.detect import failing_pods
from tasks.reads import Reads
from tests.checklib import cluster_refs
from tests.simharness import Sim


@pytest.mark.scenario("missing-pull-role")
def test_a_cluster_read_whose_connection_drops_mid_answer_is_retried(sim: Sim) -> None:
    # given ARM hangs up in the middle of its first answer to the cluster's GET
    ref = cluster_refs(sim)["aks-app"]
    sim.fault(method="GET", path="managedClusters/aks-app$", drop=True, count=1)
    reads = Reads(sim.clients())
    # when the engine reads the cluster's document and, through it, reaches the cluster
    doc = reads.cluster_document(ref)
    # then the read was retried inside the SDK's pipeline and nothing is lost
    assert doc["name"] == "aks-app"
    assert [p.name for p in failing_pods(reads, ref)]
