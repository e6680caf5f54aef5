"""pullfix reaches the clusters real fleets run: an Entra ID cluster with local accounts
disabled (its own Entra token for the AKS server application), a private cluster (kubectl
through managedClusters/runCommand) and a stopped one (reported, never touched) — diagnosed and
remediated end to end, with the access path named in the diagnosis."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from azure.mgmt.containerservice import models as aks

from flows.remediate import remediate_cluster
from tasks.diagnose import diagnose_cluster
from tasks.kube_access import AccessPath, ClusterStopped, access_path
from tasks.reads import Reads
from tasks.report import cluster_json, cluster_markdown
from tests.checklib import cluster_refs
from tests.scenariolib import kube, wait_running
from tests.simharness import ROOT, Sim

DEFAULT = str(ROOT / "policies" / "default.yaml")


@pytest.mark.parametrize(("doc", "path"), [
    ({}, AccessPath.LOCAL_ACCOUNT),
    ({"aad_profile": aks.ManagedClusterAADProfile(managed=True)}, AccessPath.ENTRA),
    ({"aad_profile": aks.ManagedClusterAADProfile(managed=True),
      "api_server_access_profile": aks.ManagedClusterAPIServerAccessProfile(
          enable_private_cluster=True)}, AccessPath.RUN_COMMAND),
    ({"aad_profile": aks.ManagedClusterAADProfile(managed=True),
      "api_server_access_profile": aks.ManagedClusterAPIServerAccessProfile(
          enable_private_cluster=True),
      "power_state": aks.PowerState(code="Stopped")}, AccessPath.STOPPED),
])
def test_the_access_path_follows_the_clusters_arm_document(doc: dict[str, Any],
                                                           path: AccessPath) -> None:
    # given a cluster's ARM document, when pullfix chooses how to reach it
    assert access_path(aks.ManagedCluster(location="eastus", **doc)) is path


def _heal(sim: Sim, sim_env: Callable[[Sim], None], tmp_path: Any, access: str) -> None:
    # given a cluster whose kubelet identity lacks AcrPull, reached through `access`
    ref = cluster_refs(sim)["aks-app"]
    diagnosis = diagnose_cluster(Reads(sim.clients()), ref)
    # then the diagnosis names the path, the cause and the fix
    assert diagnosis.error is None and diagnosis.access == access
    assert cluster_json(diagnosis)["access"] == access
    assert f"Reached through: **{access}**" in cluster_markdown(diagnosis)
    assert diagnosis.failing_checks == ["kubelet-identity-has-pull-role"]
    assert {(p.pod.namespace, p.pod.workload.name if p.pod.workload else "")
            for p in diagnosis.pods} == {("web", "web")}
    # when it is remediated under the default policy, grant-pull-role is applied and verified
    sim_env(sim)
    summary = remediate_cluster(cluster="aks-app", policy=DEFAULT, sign_off="defer",
                                verify_seconds=30).as_json()
    assert [(r["fix"], r["outcome"]) for r in summary["records"]] == [
        ("grant-pull-role", "applied")], summary["records"]
    # then the pods pull and run (read the same way)
    wait_running(kube(sim, "aks-app", tmp_path), "web", "web", seconds=30)


def test_an_entra_id_cluster_without_local_accounts_is_diagnosed_and_healed(
        sim_pool: Any, sim_env: Callable[[Sim], None], prefect_harness: None,
        tmp_path: Any) -> None:
    sim = sim_pool.get("aad-cluster-missing-pull-role")
    _heal(sim, sim_env, tmp_path, "entra")
    # no kubeconfig with a static credential was asked for
    assert not any("listClusterAdminCredential" in k for k in sim.stats())


def test_a_private_cluster_is_diagnosed_and_healed_through_run_command(
        sim_pool: Any, sim_env: Callable[[Sim], None], prefect_harness: None,
        tmp_path: Any) -> None:
    sim = sim_pool.get("private-cluster-missing-pull-role")
    _heal(sim, sim_env, tmp_path, "run-command")
    stats = sim.stats()
    # every Kubernetes read went through managedClusters/runCommand and its command results
    assert any(k.startswith("POST ") and k.endswith("/runCommand") for k in stats), stats
    assert any("/commandResults/" in k for k in stats), stats
    assert not any(k.startswith("GET /k8s/") for k in stats), stats


def test_a_stopped_cluster_is_reported_not_diagnosed_and_nothing_is_changed(
        sim_pool: Any, sim_env: Callable[[Sim], None], prefect_harness: None) -> None:
    # given a stopped cluster whose pods could not pull were it running
    sim = sim_pool.get("stopped-cluster")
    ref = cluster_refs(sim)["aks-app"]
    reads = Reads(sim.clients())
    diagnosis = diagnose_cluster(reads, ref)
    # then it is reported stopped, not diagnosed — not as an error, and with nothing to fix
    assert diagnosis.access == "stopped" and diagnosis.error is None
    assert (diagnosis.not_diagnosed or "").startswith("stopped, not diagnosed")
    assert "**Not diagnosed:** stopped, not diagnosed" in cluster_markdown(diagnosis)
    assert diagnosis.findings == () and diagnosis.pods == ()
    # and anything that would read or patch its Kubernetes objects refuses
    with pytest.raises(ClusterStopped, match="is stopped"):
        reads.kube(ref)
    # when remediated with everything on auto, nothing is planned and nothing is written
    sim_env(sim)
    summary = remediate_cluster(cluster="aks-app",
                                policy=str(ROOT / "tests" / "policies" / "all-auto.yaml"),
                                verify_seconds=5).as_json()
    assert summary["records"] == []
    assert sim.journal() == []


def test_a_missing_azure_rbac_role_is_reported_by_name(sim_pool: Any) -> None:
    # given an Entra ID cluster with Azure RBAC on which pullfix holds no data-plane role
    sim = sim_pool.get("aad-cluster-without-rbac-reader")
    ref = cluster_refs(sim)["aks-app"]
    diagnosis = diagnose_cluster(Reads(sim.clients()), ref)
    # then the cluster's 403 is the result, naming the role to assign and where
    assert diagnosis.access == "entra"
    assert diagnosis.error is not None
    assert diagnosis.error.startswith("cannot read the cluster's pods: 403 Forbidden: "
                                      'pods is forbidden: User "')
    assert "User does not have access to the resource in Azure." in diagnosis.error
    assert (f"assign pullfix's identity the 'Azure Kubernetes Service RBAC Reader' role on the "
            f"cluster {ref.id}") in diagnosis.error
    assert sim.journal() == []


@pytest.mark.parametrize(("cluster", "access", "namespace", "workload"), [
    ("aks-ledger-prod", "entra", "finance", "ledger"),
    ("aks-intranet-prod", "run-command", "intranet", "portal"),
])
def test_the_demo_fleets_entra_and_private_clusters_are_diagnosed_and_healed(
        cluster: str, access: str, namespace: str, workload: str, sim_pool: Any,
        sim_env: Callable[[Sim], None], prefect_harness: None, tmp_path: Any) -> None:
    # given the demo fleet's Entra ID cluster (local accounts disabled) and private cluster
    sim = sim_pool.get("demo")
    diagnosis = diagnose_cluster(Reads(sim.clients()), cluster_refs(sim)[cluster])
    assert (diagnosis.access, diagnosis.failing_checks) == (
        access, ["kubelet-identity-has-pull-role"])
    # when remediated under the default policy, the pull role is granted and verified
    sim_env(sim)
    summary = remediate_cluster(cluster=cluster, policy=DEFAULT, sign_off="defer",
                                verify_seconds=30).as_json()
    assert [(r["fix"], r["outcome"]) for r in summary["records"]] == [
        ("grant-pull-role", "applied")], summary["records"]
    wait_running(kube(sim, cluster, tmp_path), namespace, workload, seconds=30)


def test_a_kubernetes_side_fix_runs_through_run_command_on_a_private_cluster(
        sim_pool: Any, tmp_path: Any) -> None:
    from tasks.fixes.restart_failing_pods import RestartFailingPods  # type: ignore
    from tasks.remediate import apply_fix

    # given the private cluster's backed-off pods, seen through runCommand
    sim = sim_pool.get("private-cluster-missing-pull-role")
    ref = cluster_refs(sim)["aks-app"]
    diagnosis = diagnose_cluster(Reads(sim.clients()), ref)
    assert diagnosis.access == "run-command"
    plan = None
    for _ in range(120):  # pods qualify while they wait out a back-off (ImagePullBackOff)
        plan = RestartFailingPods().plan(diagnosis.targets[0], diagnosis.findings[0],
                                         Reads(sim.clients()))
        if plan is not None:
            break
        time.sleep(0.25)  # the back-off, at the tests' speedup, is 0.1 s doubling to 3 s
    assert plan is not None and plan.changes
    # when the fix deletes them (a read, then a delete with a uid precondition, per pod)
    before = len(sim.journal())
    apply_fix(plan, Reads(sim.clients()))
    # then each delete was kubectl inside the cluster, journaled as such
    deletes = [j for j in sim.journal()[before:] if j.get("via") == "runCommand"]
    assert [j["method"] for j in deletes] == ["DELETE"] * len(plan.changes)
    assert all("/api/v1/namespaces/web/pods/" in j["path"] for j in deletes)
    # and the controllers replaced them (new pods, read back through runCommand)
    kb = kube(sim, "aks-app", tmp_path)
    uids = {p.metadata.uid for p in kb.core.list_namespaced_pod("web").items}
    assert uids.isdisjoint({c.before["uid"] for c in plan.changes if c.before})


def test_a_kubernetes_side_fix_refuses_a_stopped_cluster(sim_pool: Any) -> None:
    from tasks.contract import FailingPod, Finding, Group, Status, Target, WorkloadRef
    from tasks.fixes.restart_failing_pods import RestartFailingPods  # type: ignore

    # given a stopped cluster and a fix asked to act on one of its workloads anyway
    sim = sim_pool.get("stopped-cluster")
    ref = cluster_refs(sim)["aks-app"]
    pod = FailingPod(namespace="web", name="web-0", uid="u", node=None, container="web",
                     image="contosoapp.azurecr.io/app/web:v1", reason="ImagePullBackOff",
                     message="", workload=WorkloadRef(kind="Deployment", namespace="web",
                                                      name="web"))
    finding = Finding(check="kubelet-identity-has-pull-role", status=Status.FAIL, summary="x",
                      group=Group.IDENTITY)
    # then it refuses before reading or writing anything
    with pytest.raises(ClusterStopped):
        RestartFailingPods().plan(Target(cluster=ref, pod=pod), finding, Reads(sim.clients()))
    assert sim.journal() == []


PRIVATE_AAD = str(ROOT / "tests" / "worlds" / "cluster-access-private-aad.yaml")


def test_a_private_entra_id_cluster_runs_commands_as_pullfixs_entra_identity(
        sim_pool: Any) -> None:
    # given a private Entra ID cluster without local accounts, where pullfix holds AKS RBAC Admin
    sim = sim_pool.get(PRIVATE_AAD)
    ref = cluster_refs(sim)["aks-app"]
    diagnosis = diagnose_cluster(Reads(sim.clients()), ref)
    # then it is read through runCommand, with pullfix's Entra token as the clusterToken
    assert diagnosis.error is None and diagnosis.access == "run-command"
    assert diagnosis.failing_checks == ["kubelet-identity-has-pull-role"]


def test_without_a_cluster_token_run_command_is_unauthorized_on_an_entra_id_cluster(
        sim_pool: Any) -> None:
    from azure.mgmt.containerservice import ContainerServiceClient

    # given the same cluster, and a runCommand that carries no clusterToken
    sim = sim_pool.get(PRIVATE_AAD)
    aks_client = sim.clients().arm(ContainerServiceClient, sim.subscription)
    result = aks_client.managed_clusters.begin_run_command(
        "rg-app", "aks-app", aks.RunCommandRequest(command="kubectl get pods -A")).result()
    # then kubectl inside has no credential the cluster accepts
    assert result.exit_code == 1
    assert result.logs == "error: You must be logged in to the server (Unauthorized)\n"
