"""AKS managed clusters, agent pools and their scale sets, driven with the real SDK clients."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
import yaml
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.containerservice import ContainerServiceClient
from azure.mgmt.containerservice.models import (
    ManagedCluster,
    ManagedClusterAgentPoolProfile,
    ManagedClusterIdentity,
    ManagedClusterProperties,
    ManagedClusterServicePrincipalProfile,
    TagsObject,
)
from azure.mgmt.resource.resources import ResourceManagementClient

from simulator.fleet import generate, generate_from_spec
from simulator.scenario import ScenarioError, build_world, stable_uuid
from tests.parity import example, example_response, shape_diff
from tests.simharness import Sim

WORLDS = Path(__file__).parent / "worlds"
BASIC = pytest.mark.scenario(str(WORLDS / "aks-basic.yaml"))
NODE_RG = "MC_rg-aks_aks-prod_eastus"
MC_TYPE = "Microsoft.ContainerService/managedClusters"


def aks(sim: Sim) -> ContainerServiceClient:
    return sim.clients().arm(ContainerServiceClient, sim.subscription)


def compute(sim: Sim) -> ComputeManagementClient:
    return sim.clients().arm(ComputeManagementClient, sim.subscription)


def kubelet_id(sim: Sim, cluster: str = "aks-prod") -> str:
    mc = aks(sim).managed_clusters.get("rg-aks", cluster)
    return mc.properties.identity_profile["kubeletidentity"].resource_id


def pool_vmss(sim: Sim, cluster: str, pool: str):  # noqa: ANN201 - an SDK model
    rg = f"MC_rg-aks_{cluster}_eastus"
    for v in compute(sim).virtual_machine_scale_sets.list(rg):
        if v.tags.get("aks-managed-poolName") == pool:
            return v
    raise AssertionError(f"no scale set for pool {pool} in {rg}")


def has_identity(vmss, identity_id: str) -> bool:  # noqa: ANN001
    users = (vmss.identity.user_assigned_identities or {}) if vmss.identity else {}
    return any(k.lower() == identity_id.lower() for k in users)


# -- managed clusters: reads ---------------------------------------------------------------------
@BASIC
def test_managed_identity_cluster_has_kubelet_identity_and_node_resources(sim: Sim) -> None:
    # when the managed-identity cluster is read
    mc = aks(sim).managed_clusters.get("RG-AKS", "AKS-PROD")  # ARM ids are case-insensitive
    p = mc.properties
    # then it carries AKS's identity layout
    assert mc.identity.type == "SystemAssigned"
    assert p.service_principal_profile.client_id == "msi"
    kubelet = p.identity_profile["kubeletidentity"]
    assert kubelet.resource_id.endswith(
        f"/resourceGroups/{NODE_RG}/providers/Microsoft.ManagedIdentity/"
        "userAssignedIdentities/aks-prod-agentpool")
    assert p.node_resource_group == NODE_RG
    assert p.provisioning_state == "Succeeded" and p.power_state.code == "Running"
    assert p.fqdn.endswith(".hcp.eastus.azmk8s.io")
    # and pools whose vmSize matches their architecture and OS
    pools = {a.name: a for a in p.agent_pool_profiles}
    assert (pools["system"].mode, pools["system"].os_type) == ("System", "Linux")
    assert pools["armpool"].vm_size == "Standard_D4ps_v5"
    assert "arm64" in pools["armpool"].node_image_version
    assert pools["win"].os_type == "Windows" and p.windows_profile.admin_username
    assert {a.type for a in pools.values()} == {"VirtualMachineScaleSets"}
    # and the outbound IP lives in the node resource group
    (ip,) = p.network_profile.load_balancer_profile.effective_outbound_i_ps
    assert f"/resourceGroups/{NODE_RG}/providers/Microsoft.Network/publicIPAddresses/" in ip.id
    rc = sim.clients().arm(ResourceManagementClient, sim.subscription)
    node_rg = rc.resource_groups.get(NODE_RG)
    assert node_rg.managed_by.lower() == mc.id.lower()
    names = {r.name for r in rc.resources.list_by_resource_group(NODE_RG)}
    assert {"aks-prod-agentpool", "akswin", ip.id.rsplit("/", 1)[1]} <= names
    assert any(n.startswith("aks-vnet-") for n in names)


@BASIC
def test_service_principal_cluster_has_no_identity(sim: Sim) -> None:
    mc = aks(sim).managed_clusters.get("rg-aks-sp", "aks-sp")
    assert mc.identity is None
    assert mc.properties.identity_profile is None
    assert mc.properties.service_principal_profile.client_id == stable_uuid("app", "aks-sp-app")
    assert mc.properties.network_profile.network_plugin == "kubenet"


@BASIC
def test_list_clusters_by_subscription_and_group(sim: Sim) -> None:
    client = aks(sim)
    assert sorted(c.name for c in client.managed_clusters.list()) == [
        "aks-noid", "aks-prod", "aks-sp"]
    assert sorted(c.name for c in client.managed_clusters.list_by_resource_group("rg-aks")) == [
        "aks-noid", "aks-prod"]


@BASIC
def test_missing_cluster_and_group_raise_arm_errors(sim: Sim) -> None:
    with pytest.raises(ResourceNotFoundError) as err:
        aks(sim).managed_clusters.get("rg-aks", "nope")
    assert err.value.error.code == "ResourceNotFound"
    with pytest.raises(ResourceNotFoundError) as err:
        aks(sim).managed_clusters.get("rg-nope", "nope")
    assert err.value.error.code == "ResourceGroupNotFound"


@BASIC
def test_agent_pools_list_and_get(sim: Sim) -> None:
    client = aks(sim)
    assert [p.name for p in client.agent_pools.list("rg-aks", "aks-prod")] == [
        "system", "armpool", "win"]
    pool = client.agent_pools.get("rg-aks", "aks-prod", "armpool")
    assert pool.type == "Microsoft.ContainerService/managedClusters/agentPools"
    assert (pool.properties.count, pool.properties.mode) == (2, "User")
    with pytest.raises(ResourceNotFoundError) as err:
        client.agent_pools.get("rg-aks", "aks-prod", "ghost")
    assert err.value.error.code == "ResourceNotFound"


# -- managed clusters: long-running writes -------------------------------------------------------
@BASIC
def test_create_cluster_is_a_long_running_operation(sim: Sim) -> None:
    # given a create request for a new managed-identity cluster
    body = ManagedCluster(
        location="eastus", identity=ManagedClusterIdentity(type="SystemAssigned"),
        properties=ManagedClusterProperties(
            dns_prefix="new1", kubernetes_version="1.31.2",
            agent_pool_profiles=[ManagedClusterAgentPoolProfile(
                name="nodepool1", count=2, vm_size="Standard_D2s_v5", mode="System")]),
        tags={"env": "nonprod"},
    )
    # when it is sent and polled to completion
    poller = aks(sim).managed_clusters.begin_create_or_update("rg-aks", "aks-new", body)
    mc = poller.result()
    # then the cluster is there with its node resource group, kubelet identity and scale set
    assert mc.properties.provisioning_state == "Succeeded"
    assert mc.properties.agent_pool_profiles[0].provisioning_state == "Succeeded"
    kubelet = mc.properties.identity_profile["kubeletidentity"].resource_id
    assert kubelet.endswith("/userAssignedIdentities/aks-new-agentpool")
    assert has_identity(pool_vmss(sim, "aks-new", "nodepool1"), kubelet)
    assert pool_vmss(sim, "aks-new", "nodepool1").sku.capacity == 2


@BASIC
def test_create_without_system_pool_is_rejected(sim: Sim) -> None:
    body = {"location": "eastus", "identity": {"type": "SystemAssigned"}, "properties": {
        "dnsPrefix": "x", "agentPoolProfiles": [{"name": "user1", "count": 1,
                                                 "vmSize": "Standard_D2s_v5", "mode": "User"}]}}
    with pytest.raises(HttpResponseError) as err:
        aks(sim).managed_clusters.begin_create_or_update("rg-aks", "aks-bad", body).result()
    assert err.value.status_code == 400
    assert err.value.error.code == "MustDefineAtLeastOneSystemPool"


@BASIC
def test_second_write_during_a_running_operation_gets_409(sim: Sim) -> None:
    # given an update that takes five seconds (in real time)
    sim.settings(lro_seconds=5, speedup=1.0)
    client = aks(sim)
    mc = client.managed_clusters.get("rg-aks", "aks-prod")
    client.managed_clusters.begin_create_or_update("rg-aks", "aks-prod", mc, polling=False)
    assert client.managed_clusters.get("rg-aks", "aks-prod").properties.provisioning_state \
        == "Updating"
    # when a second PUT arrives while it runs
    with pytest.raises(HttpResponseError) as err:
        client.managed_clusters.begin_create_or_update("rg-aks", "aks-prod", mc)
    # then AKS refuses it
    assert err.value.status_code == 409
    assert err.value.error.code == "OperationNotAllowed"
    assert "in progress update managed cluster operation" in err.value.error.message
    # and once the operation is over, the cluster takes writes again
    sim.advance(6)
    assert client.managed_clusters.get("rg-aks", "aks-prod").properties.provisioning_state \
        == "Succeeded"
    client.managed_clusters.begin_update_tags("rg-aks", "aks-prod",
                                              TagsObject(tags={"env": "prod"})).result()


@BASIC
def test_update_tags_replaces_the_tags(sim: Sim) -> None:
    client = aks(sim)
    mc = client.managed_clusters.begin_update_tags(
        "rg-aks", "aks-prod", TagsObject(tags={"owner": "team-a"})).result()
    assert mc.tags == {"owner": "team-a"}
    assert client.managed_clusters.get("rg-aks", "aks-prod").tags == {"owner": "team-a"}


@BASIC
def test_put_cannot_change_immutable_properties(sim: Sim) -> None:
    client = aks(sim)
    mc = client.managed_clusters.get("rg-aks", "aks-prod")
    mc.properties.dns_prefix = "other"
    with pytest.raises(HttpResponseError) as err:
        client.managed_clusters.begin_create_or_update("rg-aks", "aks-prod", mc)
    assert err.value.error.code == "PropertyChangeNotAllowed"


@BASIC
def test_delete_cluster_removes_it_and_its_node_resource_group(sim: Sim) -> None:
    aks(sim).managed_clusters.begin_delete("rg-aks", "aks-noid").result()
    with pytest.raises(ResourceNotFoundError):
        aks(sim).managed_clusters.get("rg-aks", "aks-noid")
    rc = sim.clients().arm(ResourceManagementClient, sim.subscription)
    assert not rc.resource_groups.check_existence("MC_rg-aks_aks-noid_eastus")


@BASIC
def test_reset_service_principal_stores_the_new_client_id_only(sim: Sim) -> None:
    # when the SP cluster's credentials are reset
    client = aks(sim)
    new_client = "11111111-2222-3333-4444-555555555555"
    client.managed_clusters.begin_reset_service_principal_profile(
        "rg-aks-sp", "aks-sp",
        ManagedClusterServicePrincipalProfile(client_id=new_client, secret="n3w-s3cr3t-value"),
    ).result()
    # then the cluster reports the new client id, and the secret is never rendered
    mc = client.managed_clusters.get("rg-aks-sp", "aks-sp")
    assert mc.properties.service_principal_profile.client_id == new_client
    raw = sim.arm_request("GET", f"/subscriptions/{sim.subscription}/resourceGroups/rg-aks-sp/"
                          f"providers/{MC_TYPE}/aks-sp").text
    assert "n3w-s3cr3t-value" not in raw and "secret" not in raw.lower()


@BASIC
def test_reset_service_principal_on_a_managed_identity_cluster_is_rejected(sim: Sim) -> None:
    with pytest.raises(HttpResponseError) as err:
        aks(sim).managed_clusters.begin_reset_service_principal_profile(
            "rg-aks", "aks-prod", {"clientId": "x", "secret": "y"}).result()
    assert err.value.status_code == 400
    assert err.value.error.code == "BadRequest"


# -- credentials ---------------------------------------------------------------------------------
@BASIC
@pytest.mark.parametrize(("admin", "context", "user"), [
    (False, "aks-prod", "clusterUser_rg-aks_aks-prod"),
    (True, "aks-prod-admin", "clusterAdmin_rg-aks_aks-prod"),
])
def test_credentials_are_a_kubeconfig_for_the_simulated_api(sim: Sim, admin: bool, context: str,
                                                             user: str) -> None:
    ops = aks(sim).managed_clusters
    result = (ops.list_cluster_admin_credentials if admin else
              ops.list_cluster_user_credentials)("rg-aks", "aks-prod")
    (cred,) = result.kubeconfigs
    assert cred.name == ("clusterAdmin" if admin else "clusterUser")
    cfg = yaml.safe_load(cred.value)  # the SDK already base64-decoded the value
    assert cfg["current-context"] == context
    (cluster,) = cfg["clusters"]
    assert cluster["cluster"]["server"].startswith(sim.arm.rstrip("/") + "/k8s/")
    ca = base64.b64decode(cluster["cluster"]["certificate-authority-data"])
    assert ca == Path(sim.ca).read_bytes()
    (u,) = cfg["users"]
    assert u["name"] == user and len(u["user"]["token"]) == 64
    # the same cluster answers with the same server every time
    again = yaml.safe_load(ops.list_cluster_user_credentials("rg-aks", "aks-prod")
                           .kubeconfigs[0].value)
    assert again["clusters"][0]["cluster"]["server"] == cluster["cluster"]["server"]


# -- scale sets ------------------------------------------------------------------------------------
@BASIC
def test_scale_sets_get_list_and_list_all(sim: Sim) -> None:
    vms = compute(sim).virtual_machine_scale_sets
    names = sorted(v.name for v in vms.list(NODE_RG))
    assert names[:2] == ["aks-armpool-" + names[0].split("-")[2] + "-vmss",
                         "aks-system-" + names[0].split("-")[2] + "-vmss"]
    assert names[2] == "akswin"
    assert len(list(vms.list_all())) == 5
    system = vms.get(NODE_RG, names[1])
    assert system.sku.capacity == 3 and system.sku.name == "Standard_D4s_v5"
    assert has_identity(system, kubelet_id(sim))
    assert system.virtual_machine_profile.os_profile.linux_configuration is not None


@BASIC
def test_removing_and_restoring_the_kubelet_identity_with_vmss_update(sim: Sim) -> None:
    # given the kubelet identity on the system pool's scale set
    kid = kubelet_id(sim)
    vmss = pool_vmss(sim, "aks-prod", "system")
    vms = compute(sim).virtual_machine_scale_sets
    # when it is removed with a PATCH (az vmss identity remove)
    vms.begin_update(NODE_RG, vmss.name, {"identity": {"type": "None"}}).result()
    # then the scale set has no identity
    assert vms.get(NODE_RG, vmss.name).identity is None
    # and when it is assigned again (az vmss identity assign)
    updated = vms.begin_update(NODE_RG, vmss.name, {"identity": {
        "type": "UserAssigned", "userAssignedIdentities": {kid: {}}}}).result()
    assert has_identity(updated, kid)
    assert updated.identity.user_assigned_identities[kid].client_id == \
        aks(sim).managed_clusters.get("rg-aks", "aks-prod").properties.identity_profile[
            "kubeletidentity"].client_id


@BASIC
def test_assigning_an_unknown_identity_fails_as_compute_does(sim: Sim) -> None:
    vmss = pool_vmss(sim, "aks-prod", "system")
    ghost = kubelet_id(sim).replace("aks-prod-agentpool", "ghost")
    with pytest.raises(HttpResponseError) as err:
        compute(sim).virtual_machine_scale_sets.begin_update(NODE_RG, vmss.name, {"identity": {
            "type": "UserAssigned", "userAssignedIdentities": {ghost: {}}}}).result()
    assert err.value.status_code == 400
    assert err.value.error.code == "FailedIdentityOperation"


@BASIC
def test_reconcile_put_restores_the_kubelet_identity_on_every_scale_set(sim: Sim) -> None:
    # given a cluster whose kubelet identity was removed from its scale set
    client = aks(sim)
    kid = kubelet_id(sim, "aks-noid")
    assert not has_identity(pool_vmss(sim, "aks-noid", "nodepool1"), kid)
    # when the cluster's current model is PUT back (az aks update)
    mc = client.managed_clusters.get("rg-aks", "aks-noid")
    client.managed_clusters.begin_create_or_update("rg-aks", "aks-noid", mc).result()
    # then AKS has put the identity back on the scale set
    assert has_identity(pool_vmss(sim, "aks-noid", "nodepool1"), kid)


@BASIC
def test_reconcile_put_scales_pools_and_adds_new_ones(sim: Sim) -> None:
    client = aks(sim)
    mc = client.managed_clusters.get("rg-aks", "aks-prod")
    mc.properties.agent_pool_profiles[0].count = 5
    mc.properties.agent_pool_profiles.append(ManagedClusterAgentPoolProfile(
        name="extra", count=1, vm_size="Standard_D2s_v5", mode="User", os_type="Linux"))
    done = client.managed_clusters.begin_create_or_update("rg-aks", "aks-prod", mc).result()
    assert [p.name for p in done.properties.agent_pool_profiles] == [
        "system", "armpool", "win", "extra"]
    assert pool_vmss(sim, "aks-prod", "system").sku.capacity == 5
    assert has_identity(pool_vmss(sim, "aks-prod", "extra"), kubelet_id(sim))


# -- authorization -------------------------------------------------------------------------------
@BASIC
def test_reader_cannot_write_a_cluster(sim: Sim) -> None:
    # given an application that only holds Reader on the cluster's group
    reader = sim.clients(stable_uuid("app", "aks-reader"), "reader-secret-value-0001")
    client = reader.arm(ContainerServiceClient, sim.subscription)
    mc = client.managed_clusters.get("rg-aks", "aks-prod")  # reading is allowed
    # when it tries to PUT the cluster
    with pytest.raises(HttpResponseError) as err:
        client.managed_clusters.begin_create_or_update("rg-aks", "aks-prod", mc)
    # then ARM refuses with the action it lacks
    assert err.value.status_code == 403
    assert err.value.error.code == "AuthorizationFailed"
    assert "Microsoft.ContainerService/managedClusters/write" in err.value.error.message
    with pytest.raises(HttpResponseError) as err:
        client.managed_clusters.list_cluster_user_credentials("rg-aks", "aks-prod")
    assert err.value.error.code == "AuthorizationFailed"


# -- parity with the official examples -------------------------------------------------------------
# Features the simulated clusters do not use: zones, customer-managed disk encryption, forced
# upgrade overrides; example tag keys are data, not shape.
NOT_MODELLED = ("$.tags.*", "$.value[].tags.*", "*.availabilityZones", "*.diskEncryptionSetID",
                "*.upgradeSettings.overrideSettings")
MC_GET_2026 = ("azure-rest-api-specs/specification/containerservice/resource-manager/"
               "Microsoft.ContainerService/aks/stable/2026-08-01/examples/ManagedClustersGet.json")


def _mc(sim: Sim, tail: str = "") -> str:
    return f"/subscriptions/{sim.subscription}/resourceGroups/rg-aks/providers/{MC_TYPE}/" \
           f"aks-prod{tail}"


@BASIC
def test_parity_managed_cluster_get(sim: Sim) -> None:
    got = sim.arm_request("GET", _mc(sim), api_version="2026-08-01").json()
    # the example's cluster has customer-supplied outbound IPs; aks-prod uses a managed one
    ignore = (*NOT_MODELLED, "*.loadBalancerProfile.outboundIPs")
    assert shape_diff(example_response("ManagedClusters_Get"), got, ignore=ignore) == []
    assert shape_diff(example(MC_GET_2026)["responses"]["200"]["body"], got, ignore=ignore) == []


@BASIC
def test_parity_managed_cluster_list(sim: Sim) -> None:
    got = sim.arm_request("GET", f"/subscriptions/{sim.subscription}/providers/{MC_TYPE}").json()
    assert shape_diff(example_response("ManagedClusters_List"), got, ignore=NOT_MODELLED) == []


@BASIC
def test_parity_agent_pool_get_and_credentials(sim: Sim) -> None:
    pool = sim.arm_request("GET", _mc(sim, "/agentPools/system")).json()
    assert shape_diff(example_response("AgentPools_Get"), pool) == []
    creds = sim.arm_request("POST", _mc(sim, "/listClusterUserCredential")).json()
    assert shape_diff(example_response("ManagedClusters_ListClusterUserCredentials"), creds) == []


@BASIC
def test_parity_vmss_get(sim: Sim) -> None:
    vmss = pool_vmss(sim, "aks-prod", "system")
    got = sim.arm_request("GET", vmss.id, api_version="2026-04-01").json()
    ignore = (
        "$.tags.*",
        # AKS nodes boot from a shared gallery image referenced by id, not a marketplace image
        "*.imageReference.publisher", "*.imageReference.offer", "*.imageReference.sku",
        "*.imageReference.version",
        # AKS scale sets use no gallery applications, user data or dedicated hosts
        "*.applicationProfile", "*.userData", "$.properties.hostGroup",
    )
    assert shape_diff(example_response("VirtualMachineScaleSets_Get",
                                       name_contains="VirtualMachineScaleSet_Get.json"),
                      got, ignore=ignore) == []


# -- scenarios and fleets --------------------------------------------------------------------------
@pytest.mark.scenario("fleet:2x3:1")
def test_generated_fleet_serves_six_clusters(sim: Sim) -> None:
    subs = sim.conn["subscriptions"]
    assert len(subs) == 2
    names = [c.name for s in subs for c in
             sim.clients().arm(ContainerServiceClient, s).managed_clusters.list()]
    assert len(names) == 6 and len(set(names)) == 6


def test_fleet_generation_is_deterministic_per_seed() -> None:
    assert generate(2, 3, 1) == generate_from_spec("2x3:1")
    assert generate(2, 3, 1) != generate(2, 3, 2)
    envs = {r["tags"]["env"] for r in generate(3, 4, 7)["resources"] if r["kind"] == "cluster"}
    assert envs == {"prod", "nonprod"}
    with pytest.raises(ValueError, match="SxC"):
        generate_from_spec("three-by-four")


def _world(*entries: dict) -> None:
    build_world({"name": "t", "resources": [
        {"kind": "subscription", "name": "s"}, {"kind": "resource-group", "name": "rg"},
        *entries]})


def test_cluster_entry_rejects_inconsistent_pools() -> None:
    with pytest.raises(ScenarioError, match="is an arm64 size, but arch is amd64"):
        _world({"kind": "cluster", "name": "c", "group": "rg", "node_pools": [
            {"name": "p", "arch": "amd64", "vm_size": "Standard_D4ps_v5"}]})
    with pytest.raises(ScenarioError, match="Windows agent pools do not support Arm64"):
        _world({"kind": "cluster", "name": "c", "group": "rg", "node_pools": [
            {"name": "sys"}, {"name": "w", "os": "windows", "arch": "arm64"}]})
    with pytest.raises(ScenarioError, match="unknown resource group 'nope'"):
        _world({"kind": "cluster", "name": "c", "group": "nope"})
