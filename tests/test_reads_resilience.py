"""Reads the engine takes raw, cached or as read-only POST actions are sent again when the
answer is lost (real SDKs, the twin)."""

from __future__ import annotations

import pytest
from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import ProtocolError

from tasks import kube
from tasks.contract import Status
from tasks.detect import failing_pods
from tasks.reads import Reads
from tests.checklib import cluster_refs, run_check, targets
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


@pytest.mark.scenario("missing-pull-role")
def test_a_kubernetes_list_whose_connection_drops_mid_answer_is_read_again(sim: Sim) -> None:
    # given the API server hangs up in the middle of its first answer to the pod list (kubectl
    # says "unexpected error when reading response body. Please retry.")
    ref = cluster_refs(sim)["aks-app"]
    reads = Reads(sim.clients())
    reads.kube(ref)
    sim.control("DELETE", "stats")
    sim.fault(method="GET", path="^/k8s/.*/api/v1/pods$", drop=True, count=1)
    # when detection lists the cluster's pods
    found = failing_pods(reads, ref)
    # then the list was read again and nothing is lost
    assert len(found) == 2
    assert _hits(sim) == 1 and sim.stats()["GET /k8s/{key}/{rest:path}"] == 5


@pytest.mark.scenario("missing-pull-role")
def test_a_kubernetes_read_answered_5xx_with_retry_after_is_retried_as_client_go_does(
        sim: Sim) -> None:
    # given the API server answers a 500 with Retry-After once (urllib3 alone waits out only
    # 413/429/503), and a 500 without Retry-After on another path
    ref = cluster_refs(sim)["aks-app"]
    reads = Reads(sim.clients())
    api = reads.kube(ref)
    sim.fault(method="GET", path="^/k8s/.*/api/v1/pods$", status=500, retry_after=1, count=1)
    # when detection lists the pods, the 500 is waited out (client-go's Retry-After rule)
    assert len(failing_pods(reads, ref)) == 2
    # and a 500 without Retry-After is the server's answer: raised at once, not retried
    sim.clear_faults()
    sim.fault(method="GET", path="^/k8s/.*/api/v1/nodes$", status=500, count=1)
    with pytest.raises(ApiException) as caught:  # (one more try would have been answered)
        kube.get(api, "/api/v1/nodes")
    assert caught.value.status == 500 and _hits(sim) == 1


@pytest.mark.scenario("missing-pull-role")
def test_a_read_cut_off_every_time_fails_after_a_bounded_number_of_attempts(sim: Sim) -> None:
    # given the API server hangs up mid-answer on every read of one path
    ref = cluster_refs(sim)["aks-app"]
    api = Reads(sim.clients()).kube(ref)
    sim.fault(method="GET", path="^/k8s/.*/api/v1/nodes$", drop=True)
    # when it is read, it fails with the broken connection, after a bounded number of tries
    with pytest.raises(ProtocolError):
        kube.get(api, "/api/v1/nodes")
    assert _hits(sim) == kube.BODY_ATTEMPTS == 3


@pytest.mark.scenario("missing-pull-role")
def test_the_user_kubeconfig_whose_answer_is_lost_is_asked_for_again(sim: Sim) -> None:
    # given ARM hangs up in the middle of its answer to listClusterUserCredential — a POST that
    # only reads, which azure-core does not retry by default
    ref = cluster_refs(sim)["aks-app"]
    sim.fault(method="POST", path="/listClusterUserCredential$", drop=True, count=1)
    reads = Reads(sim.clients())
    # when the engine reaches the cluster
    found = failing_pods(reads, ref)
    # then the credential was asked for again and the cluster was read
    assert len(found) == 2 and _hits(sim) == 1


def _hits(sim: Sim) -> int:
    """How often the simulator's faults fired."""
    return sum(f.get("hits", 0) for f in sim.control("GET", "faults")["value"])


@pytest.mark.scenario("pull-secret-admin-regenerated")
def test_the_registry_admin_credentials_whose_answer_is_lost_are_asked_for_again(sim: Sim) -> None:
    # given ARM hangs up in the middle of its answer to the registry's listCredentials (a POST
    # that only reads)
    reads = Reads(sim.clients())
    [t] = targets(sim, "aks-app", reads)[:1]
    sim.fault(method="POST", path="/listCredentials$", drop=True, count=1)
    # when the admin pull-secret check compares the secret with the registry's passwords
    f = run_check("pull-secret-admin-valid", t, reads)
    # then it asked again and found the stale secret (not an error)
    assert f.status == Status.FAIL and _hits(sim) == 1
