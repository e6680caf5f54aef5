"""The simulated AKS clusters' Kubernetes API, driven by the real kubernetes python client on
the kubeconfig ``listClusterUserCredential`` returns (world: ``tests/worlds/k8s-basic.yaml``)."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from azure.mgmt.containerservice import ContainerServiceClient
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.client.exceptions import ApiException

from tests.simharness import Sim

WORLD = str(Path(__file__).parent / "worlds" / "k8s-basic.yaml")
pytestmark = pytest.mark.scenario(WORLD)
AKS_SERVER_APP = "6dae42f8-4368-4678-94ff-3960e28e3630"


def kubeconfig(sim: Sim, tmp_path: Path, cluster: str = "aks-k8s", token: str | None = None
               ) -> Path:
    aks = sim.clients().arm(ContainerServiceClient, sim.subscription)
    value = aks.managed_clusters.list_cluster_user_credentials("rg-k8s", cluster).kubeconfigs[0].value
    if token is not None:
        doc = yaml.safe_load(value)
        doc["users"][0]["user"]["token"] = token
        value = yaml.safe_dump(doc).encode()
    path = tmp_path / f"kubeconfig-{cluster}"
    path.write_bytes(value)
    return path


def api(sim: Sim, tmp_path: Path, **kw: Any) -> k8s.ApiClient:
    return k8s_config.new_client_from_config(config_file=str(kubeconfig(sim, tmp_path, **kw)))


@pytest.fixture
def core(sim: Sim, tmp_path: Path) -> k8s.CoreV1Api:
    return k8s.CoreV1Api(api(sim, tmp_path))


@pytest.fixture
def apps(sim: Sim, tmp_path: Path) -> k8s.AppsV1Api:
    return k8s.AppsV1Api(api(sim, tmp_path))


@pytest.fixture
def batch(sim: Sim, tmp_path: Path) -> k8s.BatchV1Api:
    return k8s.BatchV1Api(api(sim, tmp_path))


def status_of(exc: ApiException) -> dict[str, Any]:
    return json.loads(exc.body)


def owner(obj: Any) -> tuple[str, str]:
    (ref,) = obj.metadata.owner_references
    assert ref.controller is True
    return ref.kind, ref.name


def pods_of(core: k8s.CoreV1Api, ns: str, selector: str) -> list[k8s.V1Pod]:
    return core.list_namespaced_pod(ns, label_selector=selector).items


def raw(sim: Sim, tmp_path: Path, path: str, **headers: str) -> requests.Response:
    cfg = yaml.safe_load(kubeconfig(sim, tmp_path).read_text())
    server = cfg["clusters"][0]["cluster"]["server"]
    token = cfg["users"][0]["user"]["token"]
    return requests.get(server + path, headers={"Authorization": f"Bearer {token}", **headers},
                        verify=sim.ca, timeout=30)


# -- authentication ----------------------------------------------------------------------------
def test_wrong_token_is_401_unauthorized(sim: Sim, tmp_path: Path) -> None:
    # given a kubeconfig whose token is not the cluster's
    bad = k8s.CoreV1Api(api(sim, tmp_path, token="0" * 64))
    # when listing pods, then the API server answers 401 with a Status
    with pytest.raises(ApiException) as err:
        bad.list_namespaced_pod("default")
    assert err.value.status == 401
    body = status_of(err.value)
    assert (body["kind"], body["status"], body["reason"], body["code"]) == \
        ("Status", "Failure", "Unauthorized", 401)


def test_entra_token_on_an_entra_cluster_authenticates_but_kubernetes_rbac_forbids(
        sim: Sim, tmp_path: Path) -> None:
    # given an Entra token for the AKS server application
    token = sim.credential().get_token(f"{AKS_SERVER_APP}/.default").token
    entra = k8s.CoreV1Api(api(sim, tmp_path, cluster="aks-aad", token=token))
    # when it reads the Entra-integrated cluster: discovery works, pods are Forbidden
    # (Kubernetes RBAC, not an admin group member)
    assert entra.get_api_resources().group_version == "v1"
    with pytest.raises(ApiException) as err:
        entra.list_namespaced_pod("default")
    assert err.value.status == 403
    assert status_of(err.value)["reason"] == "Forbidden"
    assert 'cannot list resource "pods" in API group "" in the namespace "default"' in \
        status_of(err.value)["message"]
    # and the same token on a cluster without Entra integration is not accepted at all
    local = k8s.CoreV1Api(api(sim, tmp_path, cluster="aks-k8s", token=token))
    with pytest.raises(ApiException) as err:
        local.list_namespaced_pod("default")
    assert err.value.status == 401


# -- discovery ---------------------------------------------------------------------------------
def test_discovery_names_the_served_groups_and_resources(sim: Sim, tmp_path: Path) -> None:
    client = api(sim, tmp_path)
    assert k8s.VersionApi(client).get_code().git_version == "v1.30.6"
    groups = {g.name: g.preferred_version.group_version
              for g in k8s.ApisApi(client).get_api_versions().groups}
    assert groups == {"apps": "apps/v1", "batch": "batch/v1"}
    core_resources = {r.name: r for r in k8s.CoreV1Api(client).get_api_resources().resources}
    assert core_resources["pods"].short_names == ["po"] and core_resources["pods"].namespaced
    assert not core_resources["nodes"].namespaced and core_resources["nodes"].kind == "Node"
    assert "pods/log" in core_resources
    apps_resources = {r.name: r for r in k8s.AppsV1Api(client).get_api_resources().resources}
    assert apps_resources["deployments"].short_names == ["deploy"]
    assert "patch" in apps_resources["deployments"].verbs


# -- nodes -------------------------------------------------------------------------------------
def test_nodes_are_the_agent_pools_instances_with_aks_labels(core: k8s.CoreV1Api) -> None:
    nodes = {n.metadata.name: n for n in core.list_node().items}
    names = sorted(nodes)
    assert len(names) == 4
    assert re.fullmatch(r"aks-armpool-\d{8}-vmss000000", names[0])
    assert re.fullmatch(r"aks-system-\d{8}-vmss00000[01]", names[1])
    assert names[3] == "akswin000000"
    arm = nodes[names[0]]
    assert arm.metadata.labels["kubernetes.io/arch"] == "arm64"
    assert arm.metadata.labels["kubernetes.io/os"] == "linux"
    assert arm.metadata.labels["agentpool"] == "armpool"
    assert arm.metadata.labels["kubernetes.azure.com/agentpool"] == "armpool"
    assert arm.metadata.labels["topology.kubernetes.io/region"] == "eastus"
    assert arm.metadata.labels["kubernetes.azure.com/cluster"] == "MC_rg-k8s_aks-k8s_eastus"
    assert nodes["akswin000000"].metadata.labels["kubernetes.io/os"] == "windows"
    info = arm.status.node_info
    assert info.container_runtime_version.startswith("containerd://1.7.")
    assert info.kubelet_version == "v1.30.6" and info.architecture == "arm64"
    ready = [c for c in arm.status.conditions if c.type == "Ready"]
    assert ready[0].status == "True" and ready[0].reason == "KubeletReady"
    assert arm.spec.provider_id.startswith("azure:///subscriptions/")


def test_nodes_follow_a_pool_scaled_through_arm(sim: Sim, core: k8s.CoreV1Api) -> None:
    # given the cluster's system pool scaled from 2 to 3 through the AKS API
    aks = sim.clients().arm(ContainerServiceClient, sim.subscription)
    cluster = aks.managed_clusters.get("rg-k8s", "aks-k8s")
    cluster.agent_pool_profiles[0].count = 3
    aks.managed_clusters.begin_create_or_update("rg-k8s", "aks-k8s", cluster).result()
    # then the next request sees a third system node
    system = core.list_node(label_selector="agentpool=system").items
    assert sorted(n.metadata.name[-6:] for n in system) == ["000000", "000001", "000002"]


# -- namespaces, secrets, service accounts ----------------------------------------------------
def test_namespaces_include_the_bootstrap_ones(core: k8s.CoreV1Api) -> None:
    names = {n.metadata.name: n for n in core.list_namespace().items}
    assert {"default", "kube-system", "kube-public", "kube-node-lease", "shop"} <= set(names)
    assert names["shop"].status.phase == "Active"
    assert names["shop"].metadata.labels == {"team": "shop", "kubernetes.io/metadata.name": "shop"}


def test_pull_secrets_are_dockerconfigjson_with_resolved_passwords(core: k8s.CoreV1Api) -> None:
    def auths(name: str) -> dict[str, Any]:
        secret = core.read_namespaced_secret(name, "shop")
        assert secret.type == "kubernetes.io/dockerconfigjson"
        return json.loads(base64.b64decode(secret.data[".dockerconfigjson"]))["auths"]

    admin = auths("acr-admin")["k8sacr.azurecr.io"]
    assert (admin["username"], admin["password"]) == ("k8sacr", "k8s-admin-password-0001")
    assert base64.b64decode(admin["auth"]).decode() == "k8sacr:k8s-admin-password-0001"
    sp = auths("acr-sp")["k8sacr.azurecr.io"]
    assert sp["password"] == "puller-secret-value-0001"


def test_service_accounts_carry_image_pull_secrets(core: k8s.CoreV1Api) -> None:
    sa = core.read_namespaced_service_account("web", "shop")
    assert [s.name for s in sa.image_pull_secrets] == ["acr-admin"]
    assert core.read_namespaced_service_account("default", "shop").metadata.name == "default"


def test_secret_patch_and_replace(core: k8s.CoreV1Api) -> None:
    # given a new dockerconfigjson, when the secret is patched (strategic merge)
    text = json.dumps({"auths": {"k8sacr.azurecr.io": {"username": "u", "password": "p"}}})
    data = {".dockerconfigjson": base64.b64encode(text.encode()).decode()}
    core.patch_namespaced_secret("acr-admin", "shop", {"data": data})
    assert core.read_namespaced_secret("acr-admin", "shop").data == data
    # and replaced with a stale resourceVersion, then it is a 409 Conflict
    secret = core.read_namespaced_secret("acr-admin", "shop")
    secret.metadata.resource_version = "1"
    with pytest.raises(ApiException) as err:
        core.replace_namespaced_secret("acr-admin", "shop", secret)
    assert err.value.status == 409 and status_of(err.value)["reason"] == "Conflict"


# -- pods --------------------------------------------------------------------------------------
def test_pods_deserialize_into_strict_models(core: k8s.CoreV1Api) -> None:
    pods = core.list_pod_for_all_namespaces().items
    assert all(isinstance(p, k8s.V1Pod) for p in pods)
    web = pods_of(core, "shop", "app=web")
    assert len(web) == 2
    pod = web[0]
    assert owner(pod)[0] == "ReplicaSet"
    assert [c.name for c in pod.spec.init_containers] == ["migrate"]
    assert pod.spec.node_name.startswith("aks-system-")  # nodeSelector linux/amd64
    # the ServiceAccount admission plugin copied the service account's pull secret
    assert [s.name for s in pod.spec.image_pull_secrets] == ["acr-admin"]
    assert pod.spec.containers[0].image_pull_policy == "IfNotPresent"
    assert pod.spec.restart_policy == "Always" and pod.spec.service_account_name == "web"
    assert pod.status.phase == "Running"
    assert pod.status.container_statuses[0].ready is True


def test_unschedulable_pod_stays_pending_with_failed_scheduling(core: k8s.CoreV1Api) -> None:
    pod = core.read_namespaced_pod("nowhere", "default")
    assert pod.status.phase == "Pending" and pod.spec.node_name is None
    (cond,) = [c for c in pod.status.conditions if c.type == "PodScheduled"]
    assert (cond.status, cond.reason) == ("False", "Unschedulable")
    events = core.list_namespaced_event(
        "default", field_selector="involvedObject.name=nowhere,involvedObject.namespace=default,"
        f"involvedObject.uid={pod.metadata.uid}").items
    assert [(e.type, e.reason) for e in events] == [("Warning", "FailedScheduling")]
    assert events[0].message == (
        "0/4 nodes are available: 4 node(s) didn't match Pod's node affinity/selector. "
        "preemption: 0/4 nodes are available: 4 Preemption is not helpful for scheduling.")
    assert events[0].source.component == "default-scheduler"


def test_events_field_selector_on_involved_object(core: k8s.CoreV1Api) -> None:
    pod = core.read_namespaced_pod("db-0", "shop")
    events = core.list_namespaced_event(
        "shop", field_selector=f"involvedObject.name=db-0,involvedObject.namespace=shop,"
        f"involvedObject.kind=Pod,involvedObject.uid={pod.metadata.uid}").items
    assert all(isinstance(e, k8s.CoreV1Event) for e in events)
    assert {e.involved_object.name for e in events} == {"db-0"}
    assert "Scheduled" in [e.reason for e in events]
    assert ("Warning", "Failed") in [(e.type, e.reason) for e in events]
    # and an unsupported field label is a 400, as on a real API server
    with pytest.raises(ApiException) as err:
        core.list_namespaced_event("shop", field_selector="involvedObject.color=red")
    assert err.value.status == 400
    assert status_of(err.value)["message"] == "field label not supported: involvedObject.color"


def test_label_and_field_selectors(core: k8s.CoreV1Api) -> None:
    assert len(core.list_namespaced_pod("shop", label_selector="app in (web,db)").items) == 3
    assert len(core.list_namespaced_pod("shop", label_selector="app!=web,app").items) == 6
    assert core.list_namespaced_pod("shop", label_selector="!app").items == []
    node = core.read_namespaced_pod("db-0", "shop").spec.node_name
    on_node = core.list_pod_for_all_namespaces(field_selector=f"spec.nodeName={node}").items
    assert "db-0" in [p.metadata.name for p in on_node]
    assert all(p.spec.node_name == node for p in on_node)
    pending = core.list_pod_for_all_namespaces(field_selector="status.phase=Pending").items
    assert "nowhere" in [p.metadata.name for p in pending]
    assert [p.metadata.name for p in core.list_pod_for_all_namespaces(
        field_selector="metadata.name=lonely").items] == ["lonely"]


def test_list_paging_with_limit_and_continue(core: k8s.CoreV1Api) -> None:
    everything = [p.metadata.name for p in core.list_pod_for_all_namespaces().items]
    first = core.list_pod_for_all_namespaces(limit=3)
    assert len(first.items) == 3 and first.metadata._continue
    assert first.metadata.remaining_item_count == len(everything) - 3
    seen = [p.metadata.name for p in first.items]
    token = first.metadata._continue
    while token:
        page = core.list_pod_for_all_namespaces(limit=3, _continue=token)
        seen += [p.metadata.name for p in page.items]
        token = page.metadata._continue
    assert seen == everything


def test_create_get_delete_and_their_errors(core: k8s.CoreV1Api) -> None:
    pod = {"metadata": {"name": "tool"}, "spec": {"containers": [
        {"name": "tool", "image": "k8sacr.azurecr.io/shop/web:1.0.0"}],
        "nodeSelector": {"kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64"}}}
    created = core.create_namespaced_pod("shop", pod)
    assert created.status.phase == "Pending" and created.metadata.uid
    with pytest.raises(ApiException) as err:
        core.create_namespaced_pod("shop", pod)
    assert (err.value.status, status_of(err.value)["reason"]) == (409, "AlreadyExists")
    assert status_of(err.value)["message"] == 'pods "tool" already exists'
    with pytest.raises(ApiException) as err:
        core.create_namespaced_pod("nope", pod)
    assert status_of(err.value)["message"] == 'namespaces "nope" not found'
    bad_sa = {**pod, "metadata": {"name": "tool2"}, "spec": {**pod["spec"],
                                                             "serviceAccountName": "ghost"}}
    with pytest.raises(ApiException) as err:
        core.create_namespaced_pod("shop", bad_sa)
    assert err.value.status == 403
    assert status_of(err.value)["message"] == ('pods "tool2" is forbidden: error looking up '
                                               'service account shop/ghost: serviceaccount '
                                               '"ghost" not found')
    # a bare pod is not recreated when deleted
    core.delete_namespaced_pod("tool", "shop")
    with pytest.raises(ApiException) as err:
        core.read_namespaced_pod("tool", "shop")
    assert (err.value.status, status_of(err.value)["reason"]) == (404, "NotFound")
    assert status_of(err.value)["message"] == 'pods "tool" not found'


def test_pod_spec_is_immutable_but_for_images(core: k8s.CoreV1Api) -> None:
    with pytest.raises(ApiException) as err:
        core.patch_namespaced_pod("db-0", "shop", {"spec": {"imagePullSecrets": [
            {"name": "acr-admin"}]}})
    assert err.value.status == 422 and status_of(err.value)["reason"] == "Invalid"
    assert "pod updates may not change fields other than" in status_of(err.value)["message"]
    patched = core.patch_namespaced_pod("db-0", "shop", {"spec": {"containers": [
        {"name": "db", "image": "k8sacr.azurecr.io/shop/db:16"}]}})
    assert patched.spec.containers[0].image == "k8sacr.azurecr.io/shop/db:16"


# -- workloads and controllers ------------------------------------------------------------------
def test_deployment_owns_replicaset_owns_pods(apps: k8s.AppsV1Api, core: k8s.CoreV1Api) -> None:
    dep = apps.read_namespaced_deployment("web", "shop")
    assert dep.status.ready_replicas == 2
    assert {c.type: c.status for c in dep.status.conditions} == \
        {"Available": "True", "Progressing": "True"}
    (rs,) = apps.list_namespaced_replica_set("shop").items
    assert owner(rs) == ("Deployment", "web")
    h = rs.metadata.labels["pod-template-hash"]
    assert rs.metadata.name == f"web-{h}"
    assert rs.metadata.annotations["deployment.kubernetes.io/revision"] == "1"
    for pod in pods_of(core, "shop", "app=web"):
        assert owner(pod) == ("ReplicaSet", rs.metadata.name)
        assert pod.metadata.labels["pod-template-hash"] == h
        assert pod.metadata.name.startswith(rs.metadata.name + "-")


Patcher = Callable[[k8s.AppsV1Api, str], Any]
PATCHES: dict[str, Patcher] = {
    "strategic": lambda a, img: a.patch_namespaced_deployment("web", "shop", {"spec": {
        "template": {"spec": {"containers": [{"name": "web", "image": img}]}}}},
        _content_type="application/strategic-merge-patch+json"),
    "json-patch": lambda a, img: a.patch_namespaced_deployment("web", "shop", [
        {"op": "replace", "path": "/spec/template/spec/containers/0/image", "value": img}],
        _content_type="application/json-patch+json"),
}


@pytest.mark.parametrize("how", sorted(PATCHES))
def test_patching_the_template_rolls_a_new_replicaset(apps: k8s.AppsV1Api, core: k8s.CoreV1Api,
                                                      how: str) -> None:
    # when the pod template's image is patched to an image that exists
    PATCHES[how](apps, "k8sacr.azurecr.io/shop/web:2.0.0")
    # then a second ReplicaSet (revision 2) runs the new pods and the old one is scaled to 0
    sets = {rs.metadata.annotations["deployment.kubernetes.io/revision"]: rs
            for rs in apps.list_namespaced_replica_set("shop").items}
    assert sets["1"].spec.replicas == 0 and sets["2"].spec.replicas == 2
    pods = pods_of(core, "shop", "app=web")
    assert {p.spec.containers[0].image for p in pods} == {"k8sacr.azurecr.io/shop/web:2.0.0"}
    assert {owner(p)[1] for p in pods} == {sets["2"].metadata.name}
    assert apps.read_namespaced_deployment("web", "shop").metadata.generation == 2


def test_a_broken_rollout_keeps_the_old_pods_running(apps: k8s.AppsV1Api,
                                                     core: k8s.CoreV1Api) -> None:
    # when the template moves to a tag that does not exist and drops the arch selector (a JSON
    # merge patch: the containers list is replaced, a null removes a key)
    apps.patch_namespaced_deployment(
        "web", "shop", {"spec": {"template": {"spec": {
            "containers": [{"name": "web", "image": "k8sacr.azurecr.io/shop/web:9.9.9"}],
            "nodeSelector": {"kubernetes.io/arch": None}}}}},
        _content_type="application/merge-patch+json")
    # then one surge pod fails to pull and both old pods stay Running, as maxSurge=1 allows
    pods = pods_of(core, "shop", "app=web")
    images = sorted(p.spec.containers[0].image.rsplit(":", 1)[1] for p in pods)
    assert images == ["1.0.0", "1.0.0", "9.9.9"]
    new = [p for p in pods if p.spec.containers[0].image.endswith("9.9.9")][0]
    assert new.spec.node_selector == {"kubernetes.io/os": "linux"}
    assert new.status.container_statuses[0].state.waiting.reason in ("ErrImagePull",
                                                                     "ImagePullBackOff")
    dep = apps.read_namespaced_deployment("web", "shop")
    assert (dep.status.replicas, dep.status.updated_replicas, dep.status.ready_replicas) == \
        (3, 1, 2)


def test_deleting_a_controller_owned_pod_recreates_it(core: k8s.CoreV1Api) -> None:
    before = {p.metadata.name for p in pods_of(core, "shop", "app=web")}
    victim = sorted(before)[0]
    core.delete_namespaced_pod(victim, "shop")
    after = {p.metadata.name for p in pods_of(core, "shop", "app=web")}
    assert len(after) == 2 and victim not in after
    # a StatefulSet recreates the pod under the same name
    uid = core.read_namespaced_pod("db-0", "shop").metadata.uid
    core.delete_namespaced_pod("db-0", "shop")
    assert core.read_namespaced_pod("db-0", "shop").metadata.uid != uid


def test_statefulset_daemonset_job_and_cronjob_own_their_pods(
        apps: k8s.AppsV1Api, batch: k8s.BatchV1Api, core: k8s.CoreV1Api) -> None:
    # OrderedReady: db-1 waits for db-0, which never becomes Ready (its image is missing)
    assert [p.metadata.name for p in pods_of(core, "shop", "app=db")] == ["db-0"]
    assert owner(core.read_namespaced_pod("db-0", "shop")) == ("StatefulSet", "db")
    assert apps.read_namespaced_stateful_set("db", "shop").status.replicas == 1
    # a DaemonSet puts one pod on every Linux node
    agents = pods_of(core, "shop", "app=agent")
    linux = {n.metadata.name for n in core.list_node(label_selector="kubernetes.io/os=linux").items}
    assert sorted(p.spec.node_name for p in agents) == sorted(linux)
    assert {owner(p) for p in agents} == {("DaemonSet", "agent")}
    ds = apps.read_namespaced_daemon_set("agent", "shop")
    assert ds.status.desired_number_scheduled == len(linux)
    # a Job owns its pod; a CronJob owns a Job that owns a pod
    (report,) = pods_of(core, "shop", "job-name=report")
    assert owner(report) == ("Job", "report")
    assert batch.read_namespaced_job("report", "shop").status.active == 1
    jobs = [j for j in batch.list_namespaced_job("shop").items if j.metadata.owner_references]
    (nightly,) = jobs
    assert owner(nightly) == ("CronJob", "nightly")
    assert re.fullmatch(r"nightly-\d+", nightly.metadata.name)
    (pod,) = pods_of(core, "shop", f"job-name={nightly.metadata.name}")
    assert owner(pod) == ("Job", nightly.metadata.name)
    cj = batch.read_namespaced_cron_job("nightly", "shop")
    assert [a.name for a in cj.status.active] == [nightly.metadata.name]


def test_create_deployment_through_the_api_and_scale_it(apps: k8s.AppsV1Api,
                                                        core: k8s.CoreV1Api) -> None:
    body = {"metadata": {"name": "api"}, "spec": {
        "replicas": 1, "selector": {"matchLabels": {"app": "api"}},
        "template": {"metadata": {"labels": {"app": "api"}}, "spec": {
            "containers": [{"name": "api", "image": "k8sacr.azurecr.io/shop/web:2.0.0"}],
            "imagePullSecrets": [{"name": "acr-admin"}],
            "nodeSelector": {"kubernetes.io/arch": "amd64", "kubernetes.io/os": "linux"}}}}}
    created = apps.create_namespaced_deployment("shop", body)
    assert created.spec.strategy.type == "RollingUpdate"
    apps.patch_namespaced_deployment_scale("api", "shop", {"spec": {"replicas": 3}})
    pods = pods_of(core, "shop", "app=api")
    assert len(pods) == 3 and {p.status.phase for p in pods} == {"Running"}
    # a selector that does not match the template is rejected as the API server rejects it
    body["metadata"]["name"] = "api2"
    body["spec"]["selector"] = {"matchLabels": {"app": "other"}}
    with pytest.raises(ApiException) as err:
        apps.create_namespaced_deployment("shop", body)
    assert err.value.status == 422
    assert "`selector` does not match template `labels`" in status_of(err.value)["message"]
    # deleting the deployment takes its replica set and pods with it
    apps.delete_namespaced_deployment("api", "shop")
    assert pods_of(core, "shop", "app=api") == []


# -- server-side Table output ------------------------------------------------------------------
def test_table_output_prints_kubectl_columns(sim: Sim, tmp_path: Path) -> None:
    accept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
    table = raw(sim, tmp_path, "/api/v1/namespaces/shop/pods", Accept=accept).json()
    assert table["kind"] == "Table" and table["apiVersion"] == "meta.k8s.io/v1"
    cols = [c["name"] for c in table["columnDefinitions"] if c["priority"] == 0]
    assert cols == ["Name", "Ready", "Status", "Restarts", "Age"]
    rows = {r["cells"][0]: r for r in table["rows"]}
    assert rows["db-0"]["cells"][1:4] in (["0/1", "ErrImagePull", "0"],
                                          ["0/1", "ImagePullBackOff", "0"])
    assert rows["db-0"]["object"]["kind"] == "PartialObjectMetadata"
    nodes = raw(sim, tmp_path, "/api/v1/nodes", Accept=accept).json()
    assert [c["name"] for c in nodes["columnDefinitions"]][:5] == \
        ["Name", "Status", "Roles", "Age", "Version"]
    assert {r["cells"][1] for r in nodes["rows"]} == {"Ready"}
