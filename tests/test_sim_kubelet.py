"""The simulated kubelet: pulls fail for the documented reasons, with the real wording, and heal
only when the cause is fixed.

Unit level: worlds are built from scenario YAML and the kubelet is driven directly
(``simulator.kubelet.sync``), with nodes, pods and pull secrets put into the Kubernetes store
by the helper below (the API server and its scenario builders come separately).
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

import simulator.kubelet as kubelet
from simulator.authorization.models import create_role_assignment, role_by_name
from simulator.containerservice import nodes
from simulator.containerservice.models import pool_vmss_id
from simulator.kubernetes import store
from simulator.scenario import build_world, stable_uuid

WORLDS = Path(__file__).parent / "worlds"
CLUSTER = "Microsoft.ContainerService/managedClusters"


class Lab:
    """A world from ``tests/worlds/kubelet-<name>.yaml`` plus helpers to place nodes, pods and
    pull secrets in a cluster's store, as the API server would."""

    def __init__(self, name: str) -> None:
        self.world = build_world(yaml.safe_load((WORLDS / f"kubelet-{name}.yaml").read_text()))

    def cluster(self, name: str) -> dict[str, Any]:
        return self.world.find_by_name(CLUSTER, name)

    def key(self, cluster: str) -> str:
        return self.cluster(cluster)["_k8s_key"]

    def node(self, cluster: str, pool: str) -> str:
        c = self.cluster(cluster)
        prof = next(p for p in c["properties"]["agentPoolProfiles"] if p["name"] == pool)
        win = prof["osType"] == "Windows"
        name = f"aks{pool}000000" if win else f"aks-{pool}-{nodes.digits(c['id'])}-vmss000000"
        store.put(self.world, c["_k8s_key"], "nodes", {
            "apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": {
                "kubernetes.io/os": "windows" if win else "linux",
                "kubernetes.io/arch": prof["_node"]["arch"], "agentpool": pool}},
            "status": {"addresses": [{"type": "InternalIP", "address": "10.224.0.4"}]}})
        return name

    def pod(self, cluster: str, name: str, image: str, *, pool: str = "nodepool1",
            init: str | None = None, secrets: tuple[str, ...] = (),
            policy: str | None = None) -> None:
        container: dict[str, Any] = {"name": "app", "image": image}
        if policy:
            container["imagePullPolicy"] = policy
        spec: dict[str, Any] = {"nodeName": self.node(cluster, pool), "containers": [container]}
        if init:
            spec["initContainers"] = [{"name": "init", "image": init}]
        if secrets:
            spec["imagePullSecrets"] = [{"name": s} for s in secrets]
        store.put(self.world, self.key(cluster), "pods", {
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "default"}, "spec": spec, "status": {}})

    def secret(self, cluster: str, name: str, server: str, user: str, password: str) -> None:
        auth = base64.b64encode(f"{user}:{password}".encode()).decode()
        cfg = {"auths": {server: {"username": user, "password": password, "auth": auth}}}
        store.put(self.world, self.key(cluster), "secrets", {
            "apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/dockerconfigjson",
            "metadata": {"name": name, "namespace": "default"},
            "data": {".dockerconfigjson": base64.b64encode(json.dumps(cfg).encode()).decode()}})

    def get(self, cluster: str, name: str) -> dict[str, Any]:
        kubelet.sync(self.world, self.key(cluster))
        return store.get(self.world, self.key(cluster), "pods", name, "default")

    def state(self, cluster: str, name: str) -> dict[str, Any]:
        return self.get(cluster, name)["status"]["containerStatuses"][0]["state"]

    def events(self, cluster: str, name: str) -> list[dict[str, Any]]:
        kubelet.sync(self.world, self.key(cluster))
        return [e for e in store.objects(self.world, self.key(cluster), "events").values()
                if e["involvedObject"]["name"] == name]

    def grant(self, principal: str, role: str, scope: str, *, wait: bool = True) -> None:
        """Assign a role; with ``wait``, let the world's clock run past the propagation delay
        (Azure honours a new assignment minutes after the write)."""
        create_role_assignment(self.world, scope=scope, principal_id=principal,
                               role_definition_id=role_by_name(self.world, role)["name"])
        if wait:
            self.world.advance(float(self.world.settings["role_propagation_seconds"]) + 1)

    def registry(self, name: str) -> dict[str, Any]:
        return self.world.find_by_name("Microsoft.ContainerRegistry/registries", name)

    def kubelet_oid(self, cluster: str) -> str:
        return self.cluster(cluster)["properties"]["identityProfile"]["kubeletidentity"][
            "objectId"]


# -- expected wording --------------------------------------------------------------------------
def token_error(host: str, repo: str, ref: str, which: str, status: str) -> str:
    """containerd 1.7 (kubelet >= 1.28): Azure/AKS#4459, Esri/arcgis-gitops#168."""
    image = f"{host}/{repo}:{ref}"
    scope = "repository%3A" + repo.replace("/", "%2F") + "%3Apull"
    return (f'failed to pull and unpack image "{image}": failed to resolve reference "{image}": '
            f"failed to authorize: failed to fetch {which} token: unexpected status from GET "
            f"request to https://{host}/oauth2/token?scope={scope}&service={host}: {status}")


def timeout_error(host: str, repo: str, ref: str, ip: str) -> str:
    image = f"{host}/{repo}:{ref}"
    return (f'failed to pull and unpack image "{image}": failed to resolve reference "{image}": '
            f'failed to do request: Head "https://{host}/v2/{repo}/manifests/{ref}": dial tcp '
            f"{ip}:443: i/o timeout")


APP = ("acrkubelet.azurecr.io", "team/app", "v1")
IMAGE = "acrkubelet.azurecr.io/team/app:v1"
ANON_401 = token_error(*APP, "anonymous", "401 Unauthorized")
OAUTH_401 = token_error(*APP, "oauth", "401 Unauthorized")
PRIV = "acrpriv.azurecr.io/app:v1"
PE_IP = "10.30.1.4"


# -- identities and credentials ----------------------------------------------------------------
@pytest.mark.parametrize(("cluster", "message", "cause"), [
    ("aks-healthy", None, "ok"),
    ("aks-custom", None, "ok"),  # custom role, Microsoft.ContainerRegistry/registries/*/read
    ("aks-norole", ANON_401, "pull_role_missing"),
    ("aks-sp-norole", OAUTH_401, "pull_role_missing"),
    ("aks-sp-expired", OAUTH_401, "cluster_sp_secret_expired"),
    ("aks-sp-rotated", OAUTH_401, "pull_role_missing"),
    ("aks-novmss", ANON_401, "kubelet_identity_not_on_vmss"),
])
def test_identity_outcomes(cluster: str, message: str | None, cause: str) -> None:
    # given a cluster pulling from acrkubelet
    lab = Lab("identity")
    lab.pod(cluster, "web", IMAGE)
    # when the kubelet syncs
    pod = lab.get(cluster, "web")
    # then the pod runs, or waits with the runtime's exact words
    state = pod["status"]["containerStatuses"][0]["state"]
    if message is None:
        assert pod["status"]["phase"] == "Running" and "running" in state
    else:
        assert pod["status"]["phase"] == "Pending"
        assert state == {"waiting": {"reason": "ErrImagePull", "message": message}}
    rec = next(iter(store.cluster_state(lab.world, lab.key(cluster))["kubelet"][
        "containers"].values()))
    assert rec.get("cause", "ok") == cause


def test_abac_registry_needs_the_repository_role_not_acrpull() -> None:
    lab = Lab("identity")
    lab.pod("aks-abac", "web", "acrabac.azurecr.io/team/app:v1")
    assert lab.state("aks-abac", "web")["waiting"]["message"] == token_error(
        "acrabac.azurecr.io", "team/app", "v1", "anonymous", "401 Unauthorized")
    # AcrPull at a wider scope does not help; the ABAC reader role does
    lab.grant(lab.kubelet_oid("aks-abac"), "AcrPull", lab.registry("acrabac")["id"])
    assert "waiting" in lab.state("aks-abac", "web")
    lab.grant(lab.kubelet_oid("aks-abac"), "Container Registry Repository Reader",
              lab.registry("acrabac")["id"])
    assert "running" in lab.state("aks-abac", "web")


def test_pull_secret_with_expired_sp_password_and_with_regenerated_admin_password() -> None:
    lab = Lab("identity")
    app_id = stable_uuid("app", "puller-expired")
    lab.secret("aks-secrets", "sp-pull", "acrkubelet.azurecr.io", app_id,
               "puller-expired-secret-0001")
    lab.secret("aks-secrets", "admin-pull", "https://acrkubelet.azurecr.io", "acrkubelet",
               "password-before-regeneration")
    lab.pod("aks-secrets", "sp", IMAGE, secrets=("sp-pull",))
    lab.pod("aks-secrets", "admin", IMAGE, secrets=("admin-pull",))
    assert lab.state("aks-secrets", "sp")["waiting"]["message"] == OAUTH_401
    assert lab.state("aks-secrets", "admin")["waiting"]["message"] == OAUTH_401
    # when the secret gets the registry's current admin password, that pod heals at once
    lab.secret("aks-secrets", "admin-pull", "https://acrkubelet.azurecr.io", "acrkubelet",
               "current-admin-password-0001")
    assert "running" in lab.state("aks-secrets", "admin")
    assert "waiting" in lab.state("aks-secrets", "sp")


def test_missing_role_heals_after_the_grant_and_not_after_an_unrelated_change() -> None:
    lab = Lab("identity")
    lab.pod("aks-norole", "web", IMAGE)
    assert lab.state("aks-norole", "web")["waiting"]["reason"] == "ErrImagePull"
    # an unrelated change: AcrPull for another cluster's kubelet; the back-off keeps running
    lab.grant(lab.kubelet_oid("aks-secrets"), "AcrPull", lab.registry("acrkubelet")["id"],
              wait=False)
    lab.world.advance(6)
    assert lab.state("aks-norole", "web") == {"waiting": {
        "reason": "ImagePullBackOff", "message": f'Back-off pulling image "{IMAGE}"'}}
    pulls = [e for e in lab.events("aks-norole", "web") if e["reason"] == "Pulling"]
    assert pulls[0]["count"] == 1
    # the fix: AcrPull for this cluster's kubelet identity → running at the next sync
    lab.grant(lab.kubelet_oid("aks-norole"), "AcrPull", lab.registry("acrkubelet")["id"])
    pod = lab.get("aks-norole", "web")
    assert pod["status"]["phase"] == "Running"
    status = pod["status"]["containerStatuses"][0]
    assert status["ready"] and status["started"] and status["restartCount"] == 0
    assert status["imageID"].startswith("acrkubelet.azurecr.io/team/app@sha256:")
    assert [c["status"] for c in pod["status"]["conditions"]] == ["True"] * 5


def test_role_propagation_delay_holds_the_heal_until_time_passes() -> None:
    lab = Lab("identity")
    lab.world.settings["role_propagation_seconds"] = 60
    lab.pod("aks-norole", "web", IMAGE)
    lab.get("aks-norole", "web")
    lab.grant(lab.kubelet_oid("aks-norole"), "AcrPull", lab.registry("acrkubelet")["id"],
              wait=False)
    assert "waiting" in lab.state("aks-norole", "web")
    lab.world.advance(30)  # the back-off expired, the assignment is not honoured yet
    assert lab.state("aks-norole", "web") == {"waiting": {"reason": "ErrImagePull",
                                                         "message": ANON_401}}
    lab.world.advance(40)  # past the propagation delay and the next back-off
    assert "running" in lab.state("aks-norole", "web")


def test_expired_cluster_sp_secret_heals_after_reset_service_principal() -> None:
    from simulator.identity.models import app_by_app_id, make_password_credential

    lab = Lab("identity")
    lab.pod("aks-sp-expired", "web", IMAGE)
    assert lab.state("aks-sp-expired", "web")["waiting"]["message"] == OAUTH_401
    cluster = lab.cluster("aks-sp-expired")
    app = app_by_app_id(lab.world, cluster["properties"]["servicePrincipalProfile"]["clientId"])
    # a new password on the app alone changes nothing: the cluster still uses the old one
    cred, value = make_password_credential(lab.world, display_name="new", end=lab.world.now()
                                           + 86400 * 365)
    app["passwordCredentials"].append(cred)
    lab.world.changed()
    assert "waiting" in lab.state("aks-sp-expired", "web")
    # resetServicePrincipalProfile stores the new secret's hash on the cluster
    cluster["_service_principal"]["secret_hash"] = cred["_hash"]
    lab.world.changed()
    assert "running" in lab.state("aks-sp-expired", "web")


def test_kubelet_identity_back_on_the_scale_set_heals() -> None:
    lab = Lab("identity")
    lab.pod("aks-novmss", "web", IMAGE)
    assert lab.state("aks-novmss", "web")["waiting"]["message"] == ANON_401
    cluster = lab.cluster("aks-novmss")
    kid = cluster["properties"]["identityProfile"]["kubeletidentity"]
    vmss = lab.world.get(pool_vmss_id(cluster, cluster["properties"]["agentPoolProfiles"][0]))
    vmss["identity"] = {"type": "UserAssigned", "userAssignedIdentities": {
        kid["resourceId"]: {"principalId": kid["objectId"], "clientId": kid["clientId"]}}}
    lab.world.changed()
    assert "running" in lab.state("aks-novmss", "web")


def test_older_nodes_word_errors_with_the_rpc_wrapper_and_brackets() -> None:
    lab = Lab("identity")
    for cluster in ("aks-legacy", "aks-docker"):
        lab.grant(lab.kubelet_oid(cluster), "AcrPull", lab.registry("acrkubelet")["id"])
        lab.pod(cluster, "web", "acrkubelet.azurecr.io/team/app:v9")
    image = "acrkubelet.azurecr.io/team/app:v9"
    # the troubleshooting guide's cause 2 (containerd 1.6, in-tree credential provider)
    assert lab.state("aks-legacy", "web")["waiting"]["message"] == (
        f'[rpc error: code = NotFound desc = failed to pull and unpack image "{image}": failed '
        f'to resolve reference "{image}": {image}: not found, rpc error: code = Unknown desc = '
        f'failed to pull and unpack image "{image}": failed to resolve reference "{image}": '
        "failed to authorize: failed to fetch anonymous token: unexpected status: 401 "
        "Unauthorized]")
    # kubeflow/examples#654 (dockershim)
    assert lab.state("aks-docker", "web")["waiting"]["message"] == (
        "[rpc error: code = Unknown desc = Error response from daemon: manifest for "
        'acrkubelet.azurecr.io/team/app:v9 not found: manifest unknown: manifest tagged by "v9" '
        "is not found, rpc error: code = Unknown desc = Error response from daemon: Get "
        '"https://acrkubelet.azurecr.io/v2/team/app/manifests/v9": unauthorized: authentication '
        "required, visit https://aka.ms/acr/authorization for more information.]")


# -- network -----------------------------------------------------------------------------------
@pytest.mark.parametrize(("cluster", "message"), [
    ("aks-private-ok", None),
    ("aks-nolink", token_error("acrpriv.azurecr.io", "app", "v1", "anonymous", "403 Forbidden")),
    ("aks-disc", timeout_error("acrpriv.azurecr.io", "app", "v1", PE_IP)),
    ("aks-fw", timeout_error("acrpriv.azurecr.io", "app", "v1", PE_IP)),
    ("aks-nsg", timeout_error("acrpriv.azurecr.io", "app", "v1", PE_IP)),
])
def test_private_registry_outcomes(cluster: str, message: str | None) -> None:
    lab = Lab("network")
    lab.pod(cluster, "web", PRIV)
    state = lab.state(cluster, "web")
    assert state == ({"waiting": {"reason": "ErrImagePull", "message": message}} if message
                     else {"running": state["running"]})


def test_public_registry_restricted_or_disabled_is_403() -> None:
    lab = Lab("network")
    lab.pod("aks-public", "rules", "acrpub.azurecr.io/app:v1")
    lab.pod("aks-public", "closed", "acrclosed.azurecr.io/app:v1")
    assert lab.state("aks-public", "rules")["waiting"]["message"] == token_error(
        "acrpub.azurecr.io", "app", "v1", "anonymous", "403 Forbidden")
    assert lab.state("aks-public", "closed")["waiting"]["message"] == token_error(
        "acrclosed.azurecr.io", "app", "v1", "anonymous", "403 Forbidden")
    # allowing the cluster's load balancer outbound IP heals the first only
    net = lab.cluster("aks-public")["properties"]["networkProfile"]
    egress = lab.world.get(net["loadBalancerProfile"]["effectiveOutboundIPs"][0]["id"])
    lab.registry("acrpub")["properties"]["networkRuleSet"]["ipRules"].append(
        {"action": "Allow", "value": egress["properties"]["ipAddress"]})
    lab.world.changed()
    assert "running" in lab.state("aks-public", "rules")
    assert "waiting" in lab.state("aks-public", "closed")


def test_linking_the_private_dns_zone_heals() -> None:
    from simulator.privatedns.models import link_doc

    lab = Lab("network")
    lab.pod("aks-nolink", "web", PRIV)
    assert "waiting" in lab.state("aks-nolink", "web")
    zone = lab.world.find_by_name("Microsoft.Network/privateDnsZones", "privatelink.azurecr.io")
    vnet = lab.world.find_by_name("Microsoft.Network/virtualNetworks", "vnet-nolink")
    lab.world.put(link_doc(zone, "nolink", vnet["id"]))
    assert "running" in lab.state("aks-nolink", "web")


def test_reconnected_peering_heals() -> None:
    from simulator.network.peerings import set_state

    lab = Lab("network")
    lab.pod("aks-disc", "web", PRIV)
    assert "waiting" in lab.state("aks-disc", "web")
    for name in ("vnet-disc", "vnet-hub"):
        vnet = lab.world.find_by_name("Microsoft.Network/virtualNetworks", name)
        for p in vnet["properties"]["virtualNetworkPeerings"]:
            if "disc" in p["name"]:
                set_state(p, "Connected")
    lab.world.changed()
    assert "running" in lab.state("aks-disc", "web")


def test_firewall_allow_rule_heals_and_a_wrong_port_does_not() -> None:
    from simulator.network.edge import attach_rcg, rcg_doc

    lab = Lab("network")
    lab.pod("aks-fw", "web", PRIV)
    assert "waiting" in lab.state("aks-fw", "web")
    policy = lab.world.find_by_name("Microsoft.Network/firewallPolicies", "fwpol-hub")

    def allow(name: str, port: str, priority: int) -> None:
        rcg = rcg_doc(policy, name, {"priority": priority, "ruleCollections": [{
            "ruleCollectionType": "FirewallPolicyFilterRuleCollection", "name": name,
            "priority": 100, "action": {"type": "Allow"}, "rules": [{
                "ruleType": "NetworkRule", "name": name, "ipProtocols": ["TCP"],
                "sourceAddresses": ["10.43.0.0/22"], "destinationAddresses": ["10.30.1.0/24"],
                "destinationPorts": [port]}]}]})
        lab.world.put(rcg)
        attach_rcg(policy, rcg["id"])
        lab.world.changed()

    allow("wrong-port", "80", 300)
    assert "waiting" in lab.state("aks-fw", "web")
    allow("registry", "443", 310)
    assert "running" in lab.state("aks-fw", "web")


def test_nsg_deny_rule_removed_heals() -> None:
    lab = Lab("network")
    lab.pod("aks-nsg", "web", PRIV)
    assert "waiting" in lab.state("aks-nsg", "web")
    nsg = lab.world.find_by_name("Microsoft.Network/networkSecurityGroups", "nsg-aks-deny")
    nsg["properties"]["securityRules"] = []
    lab.world.changed()
    assert "running" in lab.state("aks-nsg", "web")


# -- images and nodes --------------------------------------------------------------------------
NOT_FOUND_V3 = ('rpc error: code = NotFound desc = failed to pull and unpack image '
                '"acrimg.azurecr.io/app:v3": failed to resolve reference '
                '"acrimg.azurecr.io/app:v3": acrimg.azurecr.io/app:v3: not found')
PLATFORM = ('rpc error: code = NotFound desc = failed to pull and unpack image '
            '"acrimg.azurecr.io/app:v1": no match for platform in manifest: not found')


@pytest.mark.parametrize(("image", "pool", "message"), [
    ("acrimg.azureacr.io/app:v1", "system",
     'failed to pull and unpack image "acrimg.azureacr.io/app:v1": failed to resolve reference '
     '"acrimg.azureacr.io/app:v1": failed to do request: Head '
     '"https://acrimg.azureacr.io/v2/app/manifests/v1": dial tcp: lookup acrimg.azureacr.io on '
     "168.63.129.16:53: no such host"),
    ("acrimg.azurecr.io/app:v3", "system", NOT_FOUND_V3),
    ("acrimg.azurecr.io/nope:v1", "system",
     token_error("acrimg.azurecr.io", "nope", "v1", "anonymous", "401 Unauthorized")),
    ("acrimg.azurecr.io/app:v1", "win", PLATFORM),
    ("acrimg.azurecr.io/app:v1", "armpool", PLATFORM),
    ("acrimg.azurecr.io/multi:v1", "armpool", None),
    ("acrimg.azurecr.io/app:v1", "busy", "pull QPS exceeded"),
    ("nginx", "system",
     'failed to pull and unpack image "docker.io/library/nginx:latest": failed to resolve '
     'reference "docker.io/library/nginx:latest": failed to do request: Head '
     '"https://registry-1.docker.io/v2/library/nginx/manifests/latest": dial tcp '
     "44.208.254.194:443: i/o timeout"),
])
def test_image_and_node_outcomes(image: str, pool: str, message: str | None) -> None:
    lab = Lab("images")
    lab.pod("aks-img", "web", image, pool=pool)
    state = lab.state("aks-img", "web")
    assert state == ({"waiting": {"reason": "ErrImagePull", "message": message}} if message
                     else {"running": state["running"]})


def test_invalid_reference_is_invalid_image_name() -> None:
    lab = Lab("images")
    lab.pod("aks-img", "web", "acrimg.azurecr.io/App:v1", pool="system")
    assert lab.state("aks-img", "web") == {"waiting": {
        "reason": "InvalidImageName",
        "message": 'Failed to apply default image tag "acrimg.azurecr.io/App:v1": couldn\'t parse '
        'image name "acrimg.azurecr.io/App:v1": invalid reference format: repository name must '
        "be lowercase"}}


def test_failing_init_container_blocks_the_pod() -> None:
    lab = Lab("images")
    lab.pod("aks-img", "web", "acrimg.azurecr.io/multi:v1", pool="armpool",
            init="acrimg.azurecr.io/tools/init:1.0")
    pod = lab.get("aks-img", "web")
    assert pod["status"]["initContainerStatuses"][0]["state"]["waiting"]["reason"] == \
        "ErrImagePull"
    assert pod["status"]["containerStatuses"][0]["state"] == {
        "waiting": {"reason": "PodInitializing"}}
    init = next(c for c in pod["status"]["conditions"] if c["type"] == "Initialized")
    assert (init["status"], init["reason"], init["message"]) == (
        "False", "ContainersNotInitialized", "containers with incomplete status: [init]")


def test_events_and_back_off_follow_the_kubelet() -> None:
    lab = Lab("images")
    lab.pod("aks-img", "web", "acrimg.azurecr.io/app:v3", pool="system")
    lab.get("aks-img", "web")
    lab.world.advance(6)  # half of the first 10 s back-off
    assert lab.state("aks-img", "web") == {"waiting": {
        "reason": "ImagePullBackOff", "message": 'Back-off pulling image "acrimg.azurecr.io/app:v3"'}}
    lab.world.advance(5)  # the back-off expired: a second attempt, then 20 s
    assert lab.state("aks-img", "web")["waiting"]["reason"] == "ErrImagePull"
    lab.world.advance(11)
    lab.get("aks-img", "web")
    got = {(e["reason"], e["message"]): e for e in lab.events("aks-img", "web")}
    counts = {k: e["count"] for k, e in got.items()}
    assert counts == {
        ("Scheduled", "Successfully assigned default/web to "
         f"aks-system-{nodes.digits(lab.cluster('aks-img')['id'])}-vmss000000"): 1,
        ("Pulling", 'Pulling image "acrimg.azurecr.io/app:v3"'): 2,
        ("Failed", f'Failed to pull image "acrimg.azurecr.io/app:v3": {NOT_FOUND_V3}'): 2,
        ("Failed", "Error: ErrImagePull"): 2,
        ("BackOff", 'Back-off pulling image "acrimg.azurecr.io/app:v3"'): 2,
        ("Failed", "Error: ImagePullBackOff"): 2,
    }
    failed = got[("Failed", "Error: ErrImagePull")]
    assert failed["type"] == "Warning" and failed["source"]["component"] == "kubelet"
    assert failed["involvedObject"]["fieldPath"] == "spec.containers{app}"
    assert failed["reportingComponent"] == "kubelet"
    assert failed["firstTimestamp"] < failed["lastTimestamp"]


def test_backoff_scale_compresses_the_back_off() -> None:
    lab = Lab("images")
    lab.world.settings["kubelet_backoff_scale"] = 0.01
    lab.pod("aks-img", "web", "acrimg.azurecr.io/app:v3", pool="system")
    lab.get("aks-img", "web")
    lab.world.advance(0.11)
    lab.get("aks-img", "web")
    pulls = [e for e in lab.events("aks-img", "web") if e["reason"] == "Pulling"]
    assert pulls[0]["count"] == 2


def test_sync_is_idempotent_when_nothing_changed() -> None:
    lab = Lab("images")
    lab.pod("aks-img", "web", "acrimg.azurecr.io/app:v1", pool="system")
    lab.get("aks-img", "web")
    rv = store.cluster_state(lab.world, lab.key("aks-img"))["rv"]
    lab.get("aks-img", "web")
    assert store.cluster_state(lab.world, lab.key("aks-img"))["rv"] == rv


def test_image_already_on_the_node_starts_without_the_registry() -> None:
    lab = Lab("images")
    lab.pod("aks-img", "first", "acrimg.azurecr.io/app:v1", pool="system")
    lab.get("aks-img", "first")
    lab.registry("acrimg")["properties"]["publicNetworkAccess"] = "Disabled"
    lab.pod("aks-img", "second", "acrimg.azurecr.io/app:v1", pool="system")
    assert "running" in lab.state("aks-img", "second")
    assert any(e["message"] == 'Container image "acrimg.azurecr.io/app:v1" already present on '
               "machine" for e in lab.events("aks-img", "second"))
