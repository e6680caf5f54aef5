"""The scenario library, identity and image rows: each built-in scenario, served for real,
fails with the wording a real kubelet (1.30, containerd 1.7) writes for its cause, keeps failing
after an unrelated change, and heals when the guide's fix is applied by hand with the real
client (azure-mgmt-*, msgraph-sdk, the kubernetes client). Wrong or partial fixes the guide
warns about are shown not to heal.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from azure.mgmt.authorization import AuthorizationManagementClient
from azure.mgmt.authorization.models import RoleAssignmentCreateParameters
from azure.mgmt.containerregistry import ContainerRegistryManagementClient
from azure.mgmt.containerservice import ContainerServiceClient
from azure.mgmt.containerservice.models import (
    ManagedClusterAgentPoolProfile,
    ManagedClusterServicePrincipalProfile,
    TagsObject,
)
from azure.mgmt.monitor import MonitorManagementClient
from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph.generated.applications.applications_request_builder import ApplicationsRequestBuilder
from msgraph.generated.applications.item.add_password.add_password_post_request_body import (
    AddPasswordPostRequestBody,
)
from msgraph.generated.models.password_credential import PasswordCredential
from msgraph.generated.service_principals.service_principals_request_builder import (
    ServicePrincipalsRequestBuilder,
)

from tests.scenariolib import (
    Kube,
    failed_messages,
    is_running,
    kube,
    pods,
    still_failing,
    wait_running,
)
from tests.simharness import Sim

CLUSTER, NS, WORKLOAD, RG = "aks-app", "web", "web", "rg-app"
REGISTRY, HOST = "contosoapp", "contosoapp.azurecr.io"
IMAGE = f"{HOST}/app/web:v1"
ACR_PULL = "7f951dda-4ed3-4680-a7ca-43fe172d538d"
REPO_READER = "b93aa761-3e63-49ed-ac28-beffa264f7ac"  # Container Registry Repository Reader


# -- the real wording --------------------------------------------------------------------------
def token_401(image: str, which: str) -> str:
    """containerd 1.7 behind kubelet >= 1.28. Azure/AKS#4459 ('failed to fetch anonymous token:
    unexpected status from GET request to https://<r>.azurecr.io/oauth2/token?scope=repository
    %3A…%3Apull&service=<r>.azurecr.io: 401 Unauthorized'), microsoft/containerregistry#140
    (the same line for mcrprod.azurecr.io); Esri/arcgis-gitops#168 shows it with 'failed to
    fetch oauth token' when credentials were sent."""
    host, _, rest = image.partition("/")
    repo = rest.rsplit(":", 1)[0]
    scope = "repository%3A" + repo.replace("/", "%2F") + "%3Apull"
    return (f'Failed to pull image "{image}": failed to pull and unpack image "{image}": '
            f'failed to resolve reference "{image}": failed to authorize: failed to fetch '
            f"{which} token: unexpected status from GET request to https://{host}/oauth2/token"
            f"?scope={scope}&service={host}: 401 Unauthorized")


ANON_401 = token_401(IMAGE, "anonymous")
OAUTH_401 = token_401(IMAGE, "oauth")
# virtual-kubelet/azure-aci#65 ('dial tcp: lookup *** on 168.63.129.16:53: no such host') and
# Azure/local-csi-driver#226 ('failed to do request: Head "https://…/v2/…/manifests/0.2.5": dial
# tcp: lookup …: no such host'); 168.63.129.16 is Azure DNS, the VNet's resolver
TYPO_IMAGE = "contosoapp.azureacr.io/app/web:v1"
NO_SUCH_HOST = (
    f'Failed to pull image "{TYPO_IMAGE}": failed to pull and unpack image "{TYPO_IMAGE}": '
    f'failed to resolve reference "{TYPO_IMAGE}": failed to do request: Head '
    '"https://contosoapp.azureacr.io/v2/app/web/manifests/v1": dial tcp: lookup '
    "contosoapp.azureacr.io on 168.63.129.16:53: no such host")
# the troubleshooting article, cause 2: 'rpc error: code = NotFound desc = failed to pull and
# unpack image "<acr>/<repository:tag>": failed to resolve reference "<acr>/<repository:tag>":
# <acr>/<repository:tag>: not found' (kubelet >= 1.28 keeps the NotFound wrapper)
V2 = f"{HOST}/app/web:v2"
NOT_FOUND = (f'Failed to pull image "{V2}": rpc error: code = NotFound desc = failed to pull and '
             f'unpack image "{V2}": failed to resolve reference "{V2}": {V2}: not found')
# the article's cause 5 and kubewarden/adm-controller#1378: 'rpc error: code = NotFound desc =
# failed to pull and unpack image "…": no match for platform in manifest: not found'
NO_PLATFORM = (f'Failed to pull image "{IMAGE}": rpc error: code = NotFound desc = failed to '
               f'pull and unpack image "{IMAGE}": no match for platform in manifest: not found')
# Azure/AKS#3138: 'Failed to pull image "a.b.c/image-0.1": pull QPS exceeded' (also
# Azure/secrets-store-csi-driver-provider-azure#173 with azurecr.io images)
PULL_QPS = f'Failed to pull image "{IMAGE}": pull QPS exceeded'

FAILING = {
    "missing-pull-role": ANON_401,
    "missing-pull-role-sp": OAUTH_401,
    "abac-registry-acrpull-only": ANON_401,
    "cluster-sp-secret-expired": OAUTH_401,
    "pull-role-on-previous-sp": OAUTH_401,
    "kubelet-identity-removed-from-vmss": ANON_401,
    "pull-secret-sp-expired": OAUTH_401,
    "pull-secret-admin-regenerated": OAUTH_401,
    "login-server-typo": NO_SUCH_HOST,
    "missing-tag": NOT_FOUND,
    # a repository that does not exist reads as 401 (anonymous fallback; Azure/AKS#4052)
    "missing-repository": token_401(f"{HOST}/app/webb:v1", "anonymous"),
    "linux-image-on-windows-pool": NO_PLATFORM,
    "amd64-image-on-arm64-pool": NO_PLATFORM,
    "pull-qps": PULL_QPS,
}


# -- helpers -----------------------------------------------------------------------------------
def run(coro: Any) -> Any:
    return asyncio.run(coro)


def arm(sim: Sim, cls: Any) -> Any:
    return sim.clients().arm(cls, sim.subscription)


def registry_id(sim: Sim) -> str:
    return arm(sim, ContainerRegistryManagementClient).registries.get(RG, REGISTRY).id


def grant(sim: Sim, role: str, principal: str, scope: str | None = None) -> None:
    """``az role assignment create --assignee-object-id … --role … --scope …``."""
    auth = arm(sim, AuthorizationManagementClient)
    auth.role_assignments.create(scope or registry_id(sim), str(uuid.uuid4()),
                                 RoleAssignmentCreateParameters(
        role_definition_id=f"/subscriptions/{sim.subscription}/providers/"
                           f"Microsoft.Authorization/roleDefinitions/{role}",
        principal_id=principal, principal_type="ServicePrincipal"))


def cluster(sim: Sim) -> Any:
    return arm(sim, ContainerServiceClient).managed_clusters.get(RG, CLUSTER)


def kubelet_object_id(sim: Sim) -> str:
    return cluster(sim).identity_profile["kubeletidentity"].object_id


def sp_object_id(sim: Sim, app_id: str) -> str:
    q = ServicePrincipalsRequestBuilder.ServicePrincipalsRequestBuilderGetQueryParameters(
        filter=f"appId eq '{app_id}'")
    found = run(sim.clients().graph().service_principals.get(
        RequestConfiguration(query_parameters=q))).value
    assert len(found) == 1, found
    return found[0].id


def application(sim: Sim, app_id: str) -> Any:
    q = ApplicationsRequestBuilder.ApplicationsRequestBuilderGetQueryParameters(
        filter=f"appId eq '{app_id}'")
    found = run(sim.clients().graph().applications.get(
        RequestConfiguration(query_parameters=q))).value
    assert len(found) == 1, found
    return found[0]


def add_password(sim: Sim, app_id: str) -> str:
    """Graph ``addPassword`` on the application (``az ad app credential reset --append``)."""
    app = application(sim, app_id)
    cred = run(sim.clients().graph().applications.by_application_id(app.id).add_password.post(
        AddPasswordPostRequestBody(password_credential=PasswordCredential(
            display_name="rotated"))))
    assert cred.secret_text
    return cred.secret_text


def tag_cluster(sim: Sim, tags: dict[str, str]) -> None:
    """An unrelated change: a tag on the cluster (``az aks update --tags``)."""
    aks = arm(sim, ContainerServiceClient)
    aks.managed_clusters.begin_update_tags(RG, CLUSTER, TagsObject(tags=tags)).result()


def write_pull_secret(kb: Kube, name: str, username: str, password: str) -> None:
    """What ``kubectl create secret docker-registry … --dry-run=client -o yaml | kubectl apply``
    writes."""
    auth = base64.b64encode(f"{username}:{password}".encode()).decode()
    cfg = {"auths": {HOST: {"username": username, "password": password, "auth": auth}}}
    kb.core.patch_namespaced_secret(name, NS, {"data": {
        ".dockerconfigjson": base64.b64encode(json.dumps(cfg).encode()).decode()}})


def pull_secret(kb: Kube, name: str) -> dict[str, Any]:
    data = kb.core.read_namespaced_secret(name, NS).data[".dockerconfigjson"]
    return json.loads(base64.b64decode(data))["auths"][HOST]


def failing(sim: Sim, tmp_path: Path) -> Kube:
    kb = kube(sim, CLUSTER, tmp_path)
    still_failing(kb, NS, WORKLOAD)
    return kb


def pod_names(kb: Kube) -> set[str]:
    return {p.metadata.name for p in pods(kb, NS, WORKLOAD)}


def patch_template(kb: Kube, spec: dict[str, Any]) -> None:
    kb.apps.patch_namespaced_deployment(WORKLOAD, NS, {"spec": {"template": {"spec": spec}}})


# -- 1 and 2: the wording, and an unrelated change leaves the pods failing ----------------------
@pytest.mark.parametrize("name", sorted(FAILING))
def test_scenario_fails_with_the_real_wording_and_an_unrelated_change_does_not_heal(
        name: str, sim_pool: Any, tmp_path: Path) -> None:
    # given the served scenario
    sim: Sim = sim_pool.get(name)
    kb = kube(sim, CLUSTER, tmp_path)
    # then every pod of the workload is failing, and the kubelet's Failed event reads as in
    # the wild
    for pod in still_failing(kb, NS, WORKLOAD):
        assert failed_messages(kb, pod) == [FAILING[name]]
    # when an unrelated change lands (a tag on the cluster, through the real LRO)
    tag_cluster(sim, {"env": "prod", "cost-center": "4711"})
    # then the pods keep failing for the same reason
    for pod in still_failing(kb, NS, WORKLOAD):
        assert set(failed_messages(kb, pod)) == {FAILING[name]}


@pytest.mark.parametrize("name", ["healthy", "custom-role-pull"])
def test_healthy_scenarios_run(name: str, sim_pool: Any, tmp_path: Path) -> None:
    # given a cluster whose kubelet identity may pull (AcrPull; a custom role whose
    # Microsoft.ContainerRegistry/registries/*/read at the group covers registries/pull/read)
    sim: Sim = sim_pool.get(name)
    kb = kube(sim, CLUSTER, tmp_path)
    # then every pod runs, without a single failed pull
    running = wait_running(kb, NS, WORKLOAD, seconds=5)
    assert len(running) == 2
    assert all(failed_messages(kb, p) == [] for p in running)


# -- 3: the documented fix, by hand --------------------------------------------------------------
@pytest.mark.scenario("missing-pull-role")
def test_missing_pull_role_heals_with_acrpull_for_the_kubelet_identity(
        sim: Sim, tmp_path: Path) -> None:
    kb = failing(sim, tmp_path)
    # a near miss: AcrPull for the control-plane identity, not the kubelet's, changes nothing
    grant(sim, ACR_PULL, cluster(sim).identity.principal_id)
    still_failing(kb, NS, WORKLOAD)
    # the fix: az role assignment create --role AcrPull --assignee <kubelet objectId>
    grant(sim, ACR_PULL, kubelet_object_id(sim))
    wait_running(kb, NS, WORKLOAD)


@pytest.mark.scenario("missing-pull-role-sp")
def test_missing_pull_role_on_an_sp_cluster_heals_with_acrpull_for_the_sp(
        sim: Sim, tmp_path: Path) -> None:
    kb = failing(sim, tmp_path)
    # the cluster's SP: servicePrincipalProfile.clientId -> its object id via Graph
    app_id = cluster(sim).service_principal_profile.client_id
    assert cluster(sim).identity_profile is None  # no kubelet identity on an SP cluster
    grant(sim, ACR_PULL, sp_object_id(sim, app_id))
    wait_running(kb, NS, WORKLOAD)


@pytest.mark.scenario("abac-registry-acrpull-only")
def test_abac_registry_heals_with_the_repository_reader_role_not_acrpull(
        sim: Sim, tmp_path: Path) -> None:
    kb = failing(sim, tmp_path)
    reg = arm(sim, ContainerRegistryManagementClient).registries.get(RG, REGISTRY)
    assert reg.role_assignment_mode == "AbacRepositoryPermissions"
    # AcrPull again, this time at the resource group: an ABAC registry ignores it
    grant(sim, ACR_PULL, kubelet_object_id(sim),
          scope=f"/subscriptions/{sim.subscription}/resourceGroups/{RG}")
    still_failing(kb, NS, WORKLOAD)
    # the fix: Container Registry Repository Reader on the registry
    grant(sim, REPO_READER, kubelet_object_id(sim))
    wait_running(kb, NS, WORKLOAD)


@pytest.mark.scenario("cluster-sp-secret-expired")
def test_expired_cluster_sp_secret_heals_only_after_reset_service_principal_profile(
        sim: Sim, tmp_path: Path) -> None:
    kb = failing(sim, tmp_path)
    app_id = cluster(sim).service_principal_profile.client_id
    # a new password on the application alone: the cluster still signs in with the old one
    secret = add_password(sim, app_id)
    still_failing(kb, NS, WORKLOAD)
    # the fix: az aks update-credentials --reset-service-principal (LRO)
    arm(sim, ContainerServiceClient).managed_clusters.begin_reset_service_principal_profile(
        RG, CLUSTER, ManagedClusterServicePrincipalProfile(client_id=app_id, secret=secret)
    ).result()
    wait_running(kb, NS, WORKLOAD)


@pytest.mark.scenario("pull-role-on-previous-sp")
def test_pull_role_moved_to_the_current_sp_heals(sim: Sim, tmp_path: Path) -> None:
    kb = failing(sim, tmp_path)
    auth = arm(sim, AuthorizationManagementClient)
    current = sp_object_id(sim, cluster(sim).service_principal_profile.client_id)
    stale = [a for a in auth.role_assignments.list_for_scope(registry_id(sim))
             if a.role_definition_id.endswith(ACR_PULL)]
    assert [a.principal_id for a in stale] != [current] and len(stale) == 1
    # grant-pull-role for the SP the cluster uses now
    grant(sim, ACR_PULL, current)
    wait_running(kb, NS, WORKLOAD)
    # remove-stale-role-assignment: the old SP's assignment goes; the pods keep running
    auth.role_assignments.delete_by_id(stale[0].id)
    tag_cluster(sim, {"env": "prod", "touched": "yes"})
    assert all(is_running(p) for p in pods(kb, NS, WORKLOAD))


@pytest.mark.scenario("kubelet-identity-removed-from-vmss")
def test_kubelet_identity_back_on_the_vmss_after_putting_the_cluster_model_back(
        sim: Sim, tmp_path: Path) -> None:
    kb = failing(sim, tmp_path)
    # another AcrPull for the kubelet identity does not help: the node has no token to use
    grant(sim, ACR_PULL, kubelet_object_id(sim),
          scope=f"/subscriptions/{sim.subscription}/resourceGroups/{RG}")
    still_failing(kb, NS, WORKLOAD)
    # the fix: PUT the cluster's current model back (what az aks update with no args does)
    aks = arm(sim, ContainerServiceClient)
    aks.managed_clusters.begin_create_or_update(RG, CLUSTER, cluster(sim)).result()
    wait_running(kb, NS, WORKLOAD)


@pytest.mark.scenario("pull-secret-sp-expired")
def test_expired_pull_secret_sp_heals_when_a_new_password_is_written_into_the_secret(
        sim: Sim, tmp_path: Path) -> None:
    kb = failing(sim, tmp_path)
    entry = pull_secret(kb, "acr-pull")
    # a new password on the application alone: the secret still holds the expired one
    secret = add_password(sim, entry["username"])
    still_failing(kb, NS, WORKLOAD)
    before = pod_names(kb)
    # the fix: write the new password into the secret. The kubelet reads the secret at every
    # pull, so the failing pods heal at their next attempt without being deleted (the
    # simulator re-evaluates a failing pull as soon as the world changes; a real kubelet
    # would wait out the current back-off, up to 5 minutes, unless the pods are restarted)
    write_pull_secret(kb, "acr-pull", entry["username"], secret)
    assert {p.metadata.name for p in wait_running(kb, NS, WORKLOAD)} == before


@pytest.mark.scenario("pull-secret-admin-regenerated")
def test_regenerated_admin_password_heals_when_the_current_one_is_written_into_the_secret(
        sim: Sim, tmp_path: Path) -> None:
    kb = failing(sim, tmp_path)
    acr = arm(sim, ContainerRegistryManagementClient)
    # the activity log tells when: the admin password was regenerated three days ago
    since = (dt.datetime.now(dt.UTC) - dt.timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    events = list(arm(sim, MonitorManagementClient).activity_logs.list(
        filter=f"eventTimestamp ge '{since}' and resourceUri eq '{registry_id(sim)}'"))
    assert [e.operation_name.value for e in events] == [
        "Microsoft.ContainerRegistry/registries/regenerateCredential/action"]
    assert events[0].event_timestamp < dt.datetime.now(dt.UTC) - dt.timedelta(days=2)
    creds = acr.registries.list_credentials(RG, REGISTRY)
    assert pull_secret(kb, "acr-admin")["password"] not in [p.value for p in creds.passwords]
    # the fix: az acr credential show -> the secret gets the current password
    write_pull_secret(kb, "acr-admin", creds.username, creds.passwords[0].value)
    wait_running(kb, NS, WORKLOAD)


@pytest.mark.scenario("login-server-typo")
def test_login_server_typo_heals_when_the_deployment_names_the_real_registry(
        sim: Sim, tmp_path: Path) -> None:
    kb = failing(sim, tmp_path)
    before = pod_names(kb)
    # the fix: correct the image in the owning Deployment; a new ReplicaSet rolls new pods
    kb.apps.patch_namespaced_deployment(WORKLOAD, NS, {"spec": {"template": {"spec": {
        "containers": [{"name": "web", "image": IMAGE}]}}}})
    running = wait_running(kb, NS, WORKLOAD)
    assert not {p.metadata.name for p in running} & before
    assert {p.spec.containers[0].image for p in running} == {IMAGE}


@pytest.mark.scenario("missing-tag")
def test_missing_tag_heals_when_the_deployment_names_an_existing_tag(
        sim: Sim, tmp_path: Path) -> None:
    kb = failing(sim, tmp_path)
    kb.apps.patch_namespaced_deployment(WORKLOAD, NS, {"spec": {"template": {"spec": {
        "containers": [{"name": "web", "image": IMAGE}]}}}})
    wait_running(kb, NS, WORKLOAD)


@pytest.mark.scenario("missing-repository")
def test_missing_repository_is_not_healed_by_another_pull_role_but_by_the_right_name(
        sim: Sim, tmp_path: Path) -> None:
    kb = failing(sim, tmp_path)
    # the 401 misleads: the kubelet identity already holds AcrPull, and another grant at the
    # resource group changes nothing
    grant(sim, ACR_PULL, kubelet_object_id(sim),
          scope=f"/subscriptions/{sim.subscription}/resourceGroups/{RG}")
    still_failing(kb, NS, WORKLOAD)
    kb.apps.patch_namespaced_deployment(WORKLOAD, NS, {"spec": {"template": {"spec": {
        "containers": [{"name": "web", "image": IMAGE}]}}}})
    wait_running(kb, NS, WORKLOAD)


@pytest.mark.scenario("linux-image-on-windows-pool")
def test_linux_image_heals_when_the_node_selector_names_linux(sim: Sim, tmp_path: Path) -> None:
    kb = failing(sim, tmp_path)
    assert {p.spec.node_selector["kubernetes.io/os"] for p in pods(kb, NS, WORKLOAD)} == {
        "windows"}
    # the guide's fix: nodeSelector kubernetes.io/os: linux on the Deployment
    patch_template(kb, {"nodeSelector": {"kubernetes.io/os": "linux"}})
    running = wait_running(kb, NS, WORKLOAD)
    nodes = {n.metadata.name: n.metadata.labels for n in kb.core.list_node().items}
    assert {nodes[p.spec.node_name]["kubernetes.io/os"] for p in running} == {"linux"}


@pytest.mark.scenario("amd64-image-on-arm64-pool")
def test_amd64_image_heals_on_an_added_amd64_pool_with_an_arch_node_selector(
        sim: Sim, tmp_path: Path) -> None:
    kb = failing(sim, tmp_path)
    # the guide's fix is a nodeSelector for a node type the image supports; with only Arm64
    # nodes none exists, so the selector alone leaves the pods unschedulable
    patch_template(kb, {"nodeSelector": {"kubernetes.io/arch": "amd64"}})
    found = pods(kb, NS, WORKLOAD)
    assert found and not any(is_running(p) for p in found)
    # add an amd64 pool (the cluster's model with one more agent pool profile, PUT back)
    aks = arm(sim, ContainerServiceClient)
    mc = cluster(sim)
    mc.agent_pool_profiles.append(ManagedClusterAgentPoolProfile(
        name="amd64", count=2, vm_size="Standard_D4s_v5", os_type="Linux", mode="User"))
    aks.managed_clusters.begin_create_or_update(RG, CLUSTER, mc).result()
    running = wait_running(kb, NS, WORKLOAD)
    nodes = {n.metadata.name: n.metadata.labels for n in kb.core.list_node().items}
    assert {nodes[p.spec.node_name]["kubernetes.io/arch"] for p in running} == {"amd64"}


@pytest.mark.scenario("pull-qps")
def test_pull_qps_has_no_api_fix_and_if_not_present_alone_does_not_help(
        sim: Sim, tmp_path: Path) -> None:
    kb = failing(sim, tmp_path)
    # no Azure or Kubernetes API sets the kubelet's registryPullQPS on AKS (custom node
    # configuration lacks it: Azure/AKS#3138, #4125, closed unresolved), and the guide's
    # imagePullPolicy: IfNotPresent only spares pulls of images already on the node: these
    # nodes never pulled it, so the new pods are throttled too
    patch_template(kb, {"containers": [{"name": "web", "image": IMAGE,
                                        "imagePullPolicy": "IfNotPresent"}]})
    for pod in still_failing(kb, NS, WORKLOAD):
        assert pod.spec.containers[0].image_pull_policy == "IfNotPresent"
        assert failed_messages(kb, pod) == [PULL_QPS]
    # throttling is per kubelet: moving the workload to the pool whose kubelets are not
    # saturated lets it pull (an operator's choice, not a pullfix fix)
    patch_template(kb, {"nodeSelector": {"agentpool": "system"}})
    wait_running(kb, NS, WORKLOAD)
