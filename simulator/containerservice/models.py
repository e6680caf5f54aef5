"""Microsoft.ContainerService managed clusters and their agent pools.

A cluster is one document (``properties.agentPoolProfiles`` holds the pools; the agentPools
endpoints render from it) plus what :mod:`simulator.containerservice.nodes` puts in its node
resource group. Private keys keep what a real cluster knows but never returns: the service
principal's secret (as a hash), the kubeconfig tokens and each pool's node details.
"""

from __future__ import annotations

import copy
import secrets
from dataclasses import dataclass, field
from typing import Any

from simulator.containerservice import nodes
from simulator.containerservice.nodes import PoolPlan
from simulator.containerservice.validation import invalid, validate
from simulator.core.world import World
from simulator.identity.models import create_managed_identity_principal
from simulator.identity.scenario import create_user_assigned_identity
from simulator.resources.models import create_resource_group
from simulator.scenario import stable_uuid

CLUSTER_TYPE = "Microsoft.ContainerService/managedClusters"
POOL_TYPE = "Microsoft.ContainerService/managedClusters/agentPools"


def cluster_id(sub: str, group: str, name: str) -> str:
    return f"/subscriptions/{sub}/resourceGroups/{group}/providers/{CLUSTER_TYPE}/{name}"


def etag() -> str:
    return secrets.token_hex(5)


@dataclass
class ClusterPlan:
    sub: str
    group: str
    name: str
    location: str = "eastus"
    kubernetes_version: str = "1.30.6"
    pools: list[PoolPlan] = field(default_factory=lambda: [PoolPlan("nodepool1")])
    identity_type: str | None = "SystemAssigned"  # None: a service-principal cluster
    control_plane_identity_id: str | None = None
    sp_client_id: str | None = None
    sp_secret_hash: str | None = None
    kubelet_identity_id: str | None = None  # BYO kubelet identity
    network_plugin: str = "azure"
    network_plugin_mode: str | None = "overlay"
    network_policy: str | None = None
    subnet_id: str | None = None
    outbound_type: str = "loadBalancer"
    outbound_ip_ids: list[str] = field(default_factory=list)
    managed_outbound_ips: int = 1
    pod_cidr: str = "10.244.0.0/16"
    service_cidr: str = "10.0.0.0/16"
    dns_service_ip: str = "10.0.0.10"
    tags: dict[str, str] = field(default_factory=dict)
    kubelet_identity_on_vmss: bool = True
    sku_tier: str = "Free"
    node_resource_group: str | None = None
    dns_prefix: str | None = None
    power_state: str = "Running"
    aad: bool = False
    azure_rbac: bool = False  # aadProfile.enableAzureRBAC: Azure role assignments authorize
    admin_group_ids: list[str] = field(default_factory=list)
    disable_local_accounts: bool = False
    private_cluster: bool = False  # apiServerAccessProfile.enablePrivateCluster
    # linux/windows/autoscaler profiles a create request supplied: AKS stores them as given
    requested_profiles: dict[str, Any] = field(default_factory=dict)
    private: dict[str, Any] = field(default_factory=dict)


def pool_profile(pool: PoolPlan, version: str, network_plugin: str, mode_overlay: bool,
                 state: str = "Succeeded", power: str = "Running") -> dict[str, Any]:
    image_version, _ = nodes.node_image(pool)
    max_pods = 250 if mode_overlay else 110 if network_plugin == "kubenet" else 30
    profile: dict[str, Any] = {
        "name": pool.name, "count": pool.count, "vmSize": pool.vm_size, "osDiskSizeGB": 128,
        "osDiskType": "Managed", "kubeletDiskType": "OS", "maxPods": max_pods,
        "type": "VirtualMachineScaleSets", "enableAutoScaling": False, "scaleDownMode": "Delete",
        "provisioningState": state, "powerState": {"code": power},
        "orchestratorVersion": pool.orchestrator_version or version,
        "currentOrchestratorVersion": pool.orchestrator_version or version,
        "enableNodePublicIP": False, "mode": pool.mode, "enableEncryptionAtHost": False,
        "enableUltraSSD": False, "osType": pool.os_type, "osSKU": pool.sku,
        "nodeImageVersion": image_version,
        "upgradeSettings": {"maxSurge": "10%", "maxUnavailable": "0"},
        "enableFIPS": False,
        "securityProfile": {"enableVTPM": False, "enableSecureBoot": False},
        "eTag": etag(),
        "_node": {"arch": pool.arch, **pool.private},
    }
    if pool.subnet_id:
        profile["vnetSubnetID"] = pool.subnet_id
    return profile


def _network_profile(plan: ClusterPlan, outbound: list[str], node_rg: str) -> dict[str, Any]:
    overlay = plan.network_plugin == "azure" and plan.network_plugin_mode == "overlay"
    net: dict[str, Any] = {"networkPlugin": plan.network_plugin, "loadBalancerSku": "standard",
                           "serviceCidr": plan.service_cidr,
                           "dnsServiceIP": plan.dns_service_ip,
                           "outboundType": plan.outbound_type,
                           "serviceCidrs": [plan.service_cidr], "ipFamilies": ["IPv4"]}
    if plan.network_plugin == "azure":
        net["networkDataplane"] = "azure"
    if overlay:
        net["networkPluginMode"] = "overlay"
    if overlay or plan.network_plugin == "kubenet":
        net.update(podCidr=plan.pod_cidr, podCidrs=[plan.pod_cidr])
    if plan.network_policy:
        net["networkPolicy"] = plan.network_policy
    effective = [{"id": i, "resourceGroup": node_rg if f"/resourcegroups/{node_rg.lower()}/"
                  in i.lower() else i.split("/")[4]} for i in outbound]
    if plan.outbound_type == "loadBalancer":
        lb: dict[str, Any] = {"effectiveOutboundIPs": effective, "backendPoolType":
                              "nodeIPConfiguration", "allocatedOutboundPorts": 0,
                              "idleTimeoutInMinutes": 30}
        if plan.outbound_ip_ids:
            lb["outboundIPs"] = {"publicIPs": [{"id": i} for i in plan.outbound_ip_ids]}
        else:
            lb["managedOutboundIPs"] = {"count": plan.managed_outbound_ips}
        net["loadBalancerProfile"] = lb
    elif plan.outbound_type == "managedNATGateway":
        net["natGatewayProfile"] = {"managedOutboundIPProfile": {"count": 1},
                                    "effectiveOutboundIPs": effective,
                                    "idleTimeoutInMinutes": 4}
    return net


def create_cluster(world: World, plan: ClusterPlan) -> dict[str, Any]:
    """Create a cluster and everything AKS puts in its node resource group."""
    validate(plan)
    world.require_scope(f"/subscriptions/{plan.sub}/resourceGroups/{plan.group}")
    cid = cluster_id(plan.sub, plan.group, plan.name)
    suffix = nodes.digits(cid)
    node_rg = plan.node_resource_group or f"MC_{plan.group}_{plan.name}_{plan.location}"
    tags = nodes.managed_tags(plan.name, plan.group)
    create_resource_group(world, plan.sub, node_rg, plan.location, dict(tags), managed_by=cid)

    kubelet = None
    if plan.identity_type:
        kid = plan.kubelet_identity_id
        uami = world.get(kid) if kid else create_user_assigned_identity(
            world, sub=plan.sub, group=node_rg, name=f"{plan.name}-agentpool",
            location=plan.location)
        if uami is None:
            raise invalid(f"The kubelet identity '{kid}' was not found.",
                          "CustomKubeletIdentityNotFound")
        kubelet = {"resourceId": uami["id"], "clientId": uami["properties"]["clientId"],
                   "objectId": uami["properties"]["principalId"]}

    nsg = nodes.create_node_nsg(world, sub=plan.sub, node_rg=node_rg, location=plan.location,
                                suffix=suffix, tags=tags)
    subnet = plan.subnet_id or next((p.subnet_id for p in plan.pools if p.subnet_id), None)
    if subnet is None:
        subnet = nodes.create_managed_vnet(world, sub=plan.sub, node_rg=node_rg,
                                           location=plan.location, suffix=suffix, tags=tags,
                                           nsg=nsg)
    outbound = list(plan.outbound_ip_ids)
    if plan.outbound_type in ("loadBalancer", "managedNATGateway") and not outbound:
        lb_frontend = (f"/subscriptions/{plan.sub}/resourceGroups/{node_rg}/providers/"
                       f"Microsoft.Network/loadBalancers/kubernetes/frontendIPConfigurations/"
                       f"{stable_uuid('frontend', cid)}")
        outbound = [nodes.create_public_ip(
            world, sub=plan.sub, node_rg=node_rg, location=plan.location, seed=f"{cid}#{i}",
            tags=tags, frontend_of=lb_frontend if plan.outbound_type == "loadBalancer" else None,
            purpose="aks-slb-managed-outbound-ip" if plan.outbound_type == "loadBalancer"
            else "aks-nat-gateway-managed-outbound-ip",
        ) for i in range(plan.managed_outbound_ips)]

    overlay = plan.network_plugin == "azure" and plan.network_plugin_mode == "overlay"
    profiles = []
    for pool in plan.pools:
        if plan.subnet_id and not pool.subnet_id:
            pool.subnet_id = plan.subnet_id
        nodes.create_pool_vmss(
            world, sub=plan.sub, node_rg=node_rg, location=plan.location, suffix=suffix,
            pool=pool, subnet_id=pool.subnet_id or subnet,
            kubernetes_version=plan.kubernetes_version, kubelet=kubelet,
            on_vmss=plan.kubelet_identity_on_vmss, tags={**plan.tags, **tags}, cluster_id=cid)
        profiles.append(pool_profile(pool, plan.kubernetes_version, plan.network_plugin, overlay,
                                     power=plan.power_state))

    doc = cluster_doc(world, plan, cid, node_rg, profiles, kubelet,
                      _network_profile(plan, outbound, node_rg))
    return world.put(doc)


def cluster_doc(world: World, plan: ClusterPlan, cid: str, node_rg: str,
                profiles: list[dict[str, Any]], kubelet: dict[str, Any] | None,
                network: dict[str, Any]) -> dict[str, Any]:
    prefix = plan.dns_prefix or f"{plan.name[:10]}-{plan.group[:16]}-{plan.sub[:6]}"
    host = f"{prefix}-{stable_uuid('fqdn', cid)[:8]}"
    props: dict[str, Any] = {
        "provisioningState": "Succeeded", "powerState": {"code": plan.power_state},
        "kubernetesVersion": plan.kubernetes_version,
        "currentKubernetesVersion": plan.kubernetes_version,
        "dnsPrefix": prefix, "fqdn": f"{host}.hcp.{plan.location}.azmk8s.io",
        "azurePortalFQDN": f"{host}.portal.hcp.{plan.location}.azmk8s.io",
        "agentPoolProfiles": profiles,
        "linuxProfile": {"adminUsername": "azureuser",
                         "ssh": {"publicKeys": [{"keyData": nodes.ssh_key(cid)}]}},
        "servicePrincipalProfile": {"clientId": plan.sp_client_id or "msi"},
        "addonProfiles": {}, "nodeResourceGroup": node_rg, "enableRBAC": True,
        "supportPlan": "KubernetesOfficial", "networkProfile": network, "maxAgentPools": 100,
        "autoUpgradeProfile": {"nodeOSUpgradeChannel": "NodeImage"},
        "disableLocalAccounts": plan.disable_local_accounts, "securityProfile": {},
        "storageProfile": {"diskCSIDriver": {"enabled": True}, "fileCSIDriver": {"enabled": True},
                           "snapshotController": {"enabled": True}},
        "oidcIssuerProfile": {"enabled": False}, "workloadAutoScalerProfile": {},
        "resourceUID": stable_uuid("resource-uid", cid).replace("-", "")[:24],
        "metricsProfile": {"costAnalysis": {"enabled": False}},
        "upgradeSettings": {},
    }
    if any(p["osType"] == "Windows" for p in profiles):
        props["windowsProfile"] = {"adminUsername": "azureuser", "enableCSIProxy": True}
    for key_, requested in plan.requested_profiles.items():
        # AKS never returns the Windows admin password it was given
        given = {k: v for k, v in requested.items() if k != "adminPassword"}
        props[key_] = {**props.get(key_, {}), **copy.deepcopy(given)}
    if plan.aad:
        props["aadProfile"] = {"managed": True, "enableAzureRBAC": plan.azure_rbac,
                               "tenantID": world.tenant_id,
                               "adminGroupObjectIDs": list(plan.admin_group_ids) or None}
    if plan.private_cluster:
        # the API server has only a private endpoint in the node VNet: its name resolves in the
        # cluster's private DNS zone, and no public FQDN is published
        del props["fqdn"]
        props["privateFQDN"] = (f"{host}-{stable_uuid('private-fqdn', cid)[:8]}.privatelink."
                                f"{plan.location}.azmk8s.io")
        props["apiServerAccessProfile"] = {"enablePrivateCluster": True,
                                           "privateDNSZone": "system",
                                           "enablePrivateClusterPublicFQDN": False}
    doc: dict[str, Any] = {
        "id": cid, "location": plan.location, "name": plan.name, "tags": dict(plan.tags),
        "type": CLUSTER_TYPE, "eTag": etag(), "kind": "Base",
        "sku": {"name": "Base", "tier": plan.sku_tier},
        "properties": props,
        "_k8s_key": stable_uuid("k8s", cid),
        "_kubeconfig": {"user_token": secrets.token_hex(32),
                        "admin_token": secrets.token_hex(32)},
        "_private": dict(plan.private),
    }
    if kubelet:
        props["identityProfile"] = {"kubeletidentity": kubelet}
    if plan.identity_type == "UserAssigned" and plan.control_plane_identity_id:
        cp = world.get(plan.control_plane_identity_id)
        if cp is None:
            raise invalid(f"The user assigned identity '{plan.control_plane_identity_id}' "
                          "was not found.")
        doc["identity"] = {"type": "UserAssigned", "userAssignedIdentities": {cp["id"]: {
            "principalId": cp["properties"]["principalId"],
            "clientId": cp["properties"]["clientId"]}}}
    elif plan.identity_type:
        principal = stable_uuid("cluster-identity", cid)
        create_managed_identity_principal(world, name=plan.name, resource_id=cid,
                                          client_id=stable_uuid("cluster-identity-app", cid),
                                          principal_id=principal)
        doc["identity"] = {"type": "SystemAssigned", "principalId": principal,
                           "tenantId": world.tenant_id}
    if plan.sp_secret_hash:
        doc["_service_principal"] = {"client_id": plan.sp_client_id,
                                     "secret_hash": plan.sp_secret_hash}
    return doc


def agent_pool_doc(cluster: dict[str, Any], profile: dict[str, Any]) -> dict[str, Any]:
    """An agentPools resource rendered from the cluster's profile of that pool."""
    props = {k: v for k, v in profile.items() if k != "name"}
    return {"id": f"{cluster['id']}/agentPools/{profile['name']}", "name": profile["name"],
            "type": POOL_TYPE, "properties": props}


def find_pool(cluster: dict[str, Any], name: str) -> dict[str, Any] | None:
    for p in cluster["properties"]["agentPoolProfiles"]:
        if p["name"].lower() == name.lower():
            return p
    return None


def pool_vmss_id(cluster: dict[str, Any], profile: dict[str, Any]) -> str:
    from simulator.compute.models import vmss_id

    sub = cluster["id"].split("/")[2]
    pool = PoolPlan(profile["name"], os_type=profile["osType"])
    return vmss_id(sub, cluster["properties"]["nodeResourceGroup"],
                   nodes.vmss_name(pool, nodes.digits(cluster["id"])))


def by_k8s_key(world: World, k8s_key: str) -> dict[str, Any] | None:
    """The cluster whose Kubernetes API lives at ``/k8s/<k8s_key>`` (``_k8s_key`` is set when
    the cluster is created and never changes, so an index over the clusters holds)."""
    found = world.lookup("containerservice:k8s-key", CLUSTER_TYPE, _k8s_key, k8s_key)
    return found[0] if found else None


def _k8s_key(cluster: dict[str, Any]) -> list[str]:
    return [cluster["_k8s_key"]] if cluster.get("_k8s_key") else []


def kubelet_principal(world: World, cluster: dict[str, Any]) -> str:
    """The object id the kubelet authenticates to ACR as: the kubelet identity, or the
    cluster's service principal."""
    kubelet = (cluster["properties"].get("identityProfile") or {}).get("kubeletidentity")
    if kubelet:
        return kubelet["objectId"]
    from simulator.identity.models import sp_by_app_id

    sp = sp_by_app_id(world, cluster["properties"]["servicePrincipalProfile"]["clientId"])
    if sp is None:
        raise ValueError(f"cluster '{cluster['name']}' uses service principal "
                         f"'{cluster['properties']['servicePrincipalProfile']['clientId']}', "
                         "which is not in the directory")
    return sp["id"]
