"""The simulator's faults *after* the handler (the write is made, the answer lost), seeded
fractions of failures, dropped connections while an LRO is polled, and restarts of a
persistent simulator — driven through the real Azure SDKs, which behave as against Azure:
azure-core retries PUT/GET/DELETE on a dropped connection or a 5xx, and finds what the first
attempt already made."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from azure.core.exceptions import HttpResponseError
from azure.mgmt.authorization import AuthorizationManagementClient
from azure.mgmt.containerregistry import ContainerRegistryManagementClient

from tasks.fixes._idfix import role_assignment
from tests.chaoslib import chaos_faults, duplicate_role_assignments, restart
from tests.simharness import Sim

ACR_PULL = "7f951dda-4ed3-4680-a7ca-43fe172d538d"
RG, REGISTRY = "rg-app", "contosoapp"


def _scope(sim: Sim) -> str:
    return (f"/subscriptions/{sim.subscription}/resourceGroups/{RG}/providers/"
            f"Microsoft.ContainerRegistry/registries/{REGISTRY}")


def _kubelet_oid(sim: Sim) -> str:
    cluster = sim.arm_request("GET", f"/subscriptions/{sim.subscription}/resourceGroups/{RG}/"
                                     "providers/Microsoft.ContainerService/managedClusters/aks-app"
                              ).json()
    return cluster["properties"]["identityProfile"]["kubeletidentity"]["objectId"]


def _assign(sim: Sim, name: str) -> object:
    auth = sim.clients().arm(AuthorizationManagementClient, sim.subscription)
    rd = f"/subscriptions/{sim.subscription}/providers/Microsoft.Authorization/roleDefinitions/" \
         f"{ACR_PULL}"
    return auth.role_assignments.create(_scope(sim), name, role_assignment(rd, _kubelet_oid(sim)))


def _puts(sim: Sim, name: str) -> list[int]:
    return [e["status"] for e in sim.journal() if e["method"] == "PUT" and name in e["path"]]


def _hits(sim: Sim) -> list[int]:
    return [f.get("hits", 0) for f in sim.control("GET", "faults")["value"]]


@pytest.mark.scenario("missing-pull-role")
@pytest.mark.parametrize("lost", [{"status": 500}, {"drop": True}], ids=["500", "dropped"])
def test_a_put_whose_answer_is_lost_is_retried_and_finds_its_own_assignment(
        sim: Sim, lost: dict[str, object]) -> None:
    # given the first role assignment PUT is made and then answered with a 500 / a hang-up
    sim.fault(method="PUT", path="/roleAssignments/", phase="after", count=1, **lost)
    name = str(uuid.uuid4())
    # when the SDK creates the assignment
    ra = _assign(sim, name)
    # then azure-core retried the PUT, the twin answered the existing assignment (idempotent),
    # and there is exactly one grant
    assert ra.name == name  # type: ignore[attr-defined]
    assert _puts(sim, name) == [201, 200]  # both reached the handler: the write, the retry
    assert _hits(sim) == [1]
    assert duplicate_role_assignments(sim.snapshot()) == []


@pytest.mark.scenario("missing-pull-role")
def test_a_retry_under_another_name_is_refused_as_azure_does(sim: Sim) -> None:
    # given a grant whose answer was lost (the caller thinks it failed)
    sim.fault(method="PUT", path="/roleAssignments/", phase="after", status=500, count=4)
    first = str(uuid.uuid4())
    with pytest.raises(HttpResponseError) as lost:
        _assign(sim, first)  # 1 try + 3 retries, every answer lost
    assert lost.value.status_code == 500
    # when it tries again under a new name for the same principal, role and scope
    with pytest.raises(HttpResponseError) as exc:
        _assign(sim, str(uuid.uuid4()))
    # then ARM's 409 RoleAssignmentExists names the assignment that is there
    assert exc.value.status_code == 409
    assert exc.value.error is not None and exc.value.error.code == "RoleAssignmentExists"
    assert f"The ID of the existing role assignment is {first.replace('-', '')}." in str(
        exc.value.message)
    assert duplicate_role_assignments(sim.snapshot()) == []


@pytest.mark.scenario("missing-pull-role")
def test_dropped_connections_while_an_lro_is_polled_do_not_lose_the_operation(sim: Sim) -> None:
    # given every other poll of a registry update's operation status hangs up
    sim.fault(method="GET", path="/operations/|/operationresults/", drop=True, count=3)
    acr = sim.clients().arm(ContainerRegistryManagementClient, sim.subscription)
    # when the SDK runs the update to the end
    poller = acr.registries.begin_update(RG, REGISTRY, {"tags": {"chaos": "lro"}})
    done = poller.result()
    # then the poller retried through the drops and the update is in place
    assert done.tags == {"chaos": "lro"}
    assert _hits(sim) == [3]


@pytest.mark.scenario("missing-pull-role")
def test_a_seeded_fraction_of_calls_fails_the_same_way_every_time(sim: Sim) -> None:
    # given 10 % of reads fail before the handler, with seed 7
    path = f"/subscriptions/{sim.subscription}/resourceGroups/{RG}"
    failed: list[list[int]] = []
    for _ in range(2):
        sim.clear_faults()
        sim.fault(method="GET", path="/resourceGroups/rg-app$", status=500, probability=0.1,
                  seed=7)
        # when 200 plain requests (no SDK retries) read the resource group
        codes = [sim.arm_request("GET", path).status_code
                 for _ in range(200)]
        failed.append([i for i, c in enumerate(codes) if c == 500])
        assert set(codes) <= {200, 500}
    # then about a tenth failed, the same ones both times
    assert 8 <= len(failed[0]) <= 35
    assert failed[0] == failed[1]


@pytest.mark.scenario("missing-pull-role")
def test_an_invalid_fault_is_refused_with_the_reason(sim: Sim) -> None:
    import requests

    for fault, message in [
        ({"phase": "during", "status": 500}, "phase must be one of ['before', 'after'], got 'during'"),
        ({"probability": 2, "status": 500}, "probability must be a number in [0, 1], got 2"),
        ({"phase": "after", "latency_ms": 5}, "an 'after' fault replaces the answer: give "
                                              "'status' or 'drop'"),
        ({"sometimes": True}, "unknown fault keys ['sometimes']"),
    ]:
        with pytest.raises(requests.HTTPError) as exc:
            sim.fault(**fault)
        assert exc.value.response.status_code == 400
        body = exc.value.response.json()["error"]
        assert body["code"] == "InvalidFault" and message in body["message"], body


def test_a_restarted_simulator_resumes_its_world_on_the_same_port(tmp_path: Path) -> None:
    # given a persistent simulator with a write made and chaos installed
    sim = Sim("missing-pull-role", tmp_path)
    try:
        name = str(uuid.uuid4())
        _assign(sim, name)
        for f in chaos_faults(0.1, seed=1, services=("graph",)):
            sim.fault(**f)
        clients = sim.clients()  # a client built before the restart
        port, proxy = sim.arm, sim.conn["registry_proxy"]
        # when it restarts (a crash, a deploy)
        sim = restart(sim)
        # then it listens where it did, with the same world, faults and registry proxy
        assert sim.arm == port and sim.conn["registry_proxy"] == proxy
        auth = clients.arm(AuthorizationManagementClient, sim.subscription)
        assert auth.role_assignments.get(_scope(sim), name).name == name
        assert len(sim.control("GET", "faults")["value"]) == 11
        assert [e["method"] for e in sim.journal()] == ["PUT"]
    finally:
        sim.stop()


@pytest.mark.scenario("missing-pull-role-sp")
def test_graph_failing_half_the_time_loses_no_finding(sim: Sim) -> None:
    from tasks.contract import Status
    from tasks.diagnose import diagnose_cluster
    from tasks.reads import Reads
    from tasks.resolve import resolve_cluster

    # given a service-principal cluster (its pulling principal is looked up in Graph) and half
    # of Graph's calls failing: 500s, 503s with Retry-After, hang-ups
    for f in chaos_faults(0.5, seed=2, services=("graph",)):
        sim.fault(**f)
    for _ in range(4):
        # when it is diagnosed (fresh clients each time, so each run asks Graph again)
        reads = Reads(sim.clients())
        d = diagnose_cluster(reads, resolve_cluster(reads, "aks-app"))
        # then the missing role is found, or the check says it could not determine, and why
        [f] = [f for f in d.findings if f.check == "kubelet-identity-has-pull-role"]
        assert f.status == Status.FAIL or (f.status == Status.ERROR and f.reason), f
    hits = [x.get("hits", 0) for x in sim.control("GET", "faults")["value"]]
    assert sum(hits) > 0  # Graph really failed
