"""Writes on an existing cluster: the reconcile PUT (``az aks update``), tags and resetting the
service principal. Each returns what the long-running operation applies when it completes;
node-pool scale sets get their own operations so they change when the cluster's does.
"""

from __future__ import annotations

import copy
from typing import Any

from simulator.compute import models as compute
from simulator.containerservice import models, nodes
from simulator.containerservice.nodes import PoolPlan
from simulator.core import errors
from simulator.core.ids import parse
from simulator.core.world import World
from simulator.identity.models import secret_hash

IMMUTABLE = (("location", lambda d: d.get("location")),
             ("dnsPrefix", lambda d: (d.get("properties") or {}).get("dnsPrefix")),
             ("nodeResourceGroup", lambda d: (d.get("properties") or {}).get("nodeResourceGroup")))
REQUESTED_PROFILES = ("linuxProfile", "windowsProfile", "autoScalerProfile")


def _pool_from(body_pool: dict[str, Any], first: bool) -> PoolPlan:
    if not body_pool.get("name"):
        raise errors.bad_request("InvalidParameter", "The value of parameter "
                                 "agentPoolProfile.name is invalid.")
    return PoolPlan(
        name=body_pool["name"], count=int(body_pool.get("count") or 3),
        vm_size=body_pool.get("vmSize") or "Standard_DS2_v2",
        os_type=body_pool.get("osType") or "Linux", os_sku=body_pool.get("osSKU"),
        mode=body_pool.get("mode") or ("System" if first else "User"),
        subnet_id=body_pool.get("vnetSubnetID"),
        orchestrator_version=body_pool.get("orchestratorVersion"),
    )


def plan_from_body(sub: str, group: str, name: str, body: dict[str, Any]
                   ) -> models.ClusterPlan:
    """A create request as a :class:`ClusterPlan`."""
    if not body.get("location"):
        raise errors.bad_request("LocationRequired",
                                 "The location property is required for this definition.")
    props = body.get("properties") or {}
    identity = body.get("identity") or {}
    id_type = identity.get("type")
    spp = props.get("servicePrincipalProfile") or {}
    plan = models.ClusterPlan(sub=sub, group=group, name=name, location=body["location"],
                              tags=dict(body.get("tags") or {}))
    if id_type in (None, "None") and spp.get("clientId") not in (None, "msi"):
        if not spp.get("secret"):
            raise errors.bad_request("InvalidParameter", "The value of parameter "
                                     "servicePrincipalProfile.secret is invalid.")
        plan.identity_type, plan.sp_client_id = None, spp["clientId"]
        plan.sp_secret_hash = secret_hash(spp["secret"])
    elif id_type in (None, "None"):
        raise errors.bad_request("InvalidParameter", "Either identity or "
                                 "servicePrincipalProfile must be specified.")
    else:
        plan.identity_type = id_type
        users = list(identity.get("userAssignedIdentities") or {})
        plan.control_plane_identity_id = users[0] if users else None
    kubelet = ((props.get("identityProfile") or {}).get("kubeletidentity") or {})
    plan.kubelet_identity_id = kubelet.get("resourceId")
    pools = props.get("agentPoolProfiles") or []
    plan.pools = [_pool_from(p, i == 0) for i, p in enumerate(pools)]
    net = props.get("networkProfile") or {}
    plan.network_plugin = net.get("networkPlugin") or "azure"
    plan.network_plugin_mode = net.get("networkPluginMode") or (
        "overlay" if "networkPlugin" not in net else None)
    plan.network_policy = net.get("networkPolicy")
    plan.outbound_type = net.get("outboundType") or "loadBalancer"
    lb = net.get("loadBalancerProfile") or {}
    plan.outbound_ip_ids = [i["id"] for i in ((lb.get("outboundIPs") or {}).get("publicIPs")
                                              or [])]
    plan.managed_outbound_ips = int((lb.get("managedOutboundIPs") or {}).get("count") or 1)
    for field, attr in (("podCidr", "pod_cidr"), ("serviceCidr", "service_cidr"),
                        ("dnsServiceIP", "dns_service_ip")):
        if net.get(field):
            setattr(plan, attr, net[field])
    plan.kubernetes_version = props.get("kubernetesVersion") or plan.kubernetes_version
    plan.dns_prefix = props.get("dnsPrefix")
    plan.node_resource_group = props.get("nodeResourceGroup")
    aad = props.get("aadProfile") or {}
    plan.aad = bool(aad)
    plan.azure_rbac = bool(aad.get("enableAzureRBAC"))
    plan.admin_group_ids = list(aad.get("adminGroupObjectIDs") or [])
    plan.disable_local_accounts = bool(props.get("disableLocalAccounts"))
    plan.private_cluster = bool((props.get("apiServerAccessProfile") or {}).get(
        "enablePrivateCluster"))
    plan.sku_tier = (body.get("sku") or {}).get("tier") or "Free"
    plan.requested_profiles = {k: props[k] for k in REQUESTED_PROFILES if props.get(k)}
    return plan


def _subnet_of(world: World, cluster: dict[str, Any]) -> str:
    for p in cluster["properties"]["agentPoolProfiles"]:
        if p.get("vnetSubnetID"):
            return p["vnetSubnetID"]
        vmss = world.get(models.pool_vmss_id(cluster, p))
        if vmss:
            nic = vmss["properties"]["virtualMachineProfile"]["networkProfile"][
                "networkInterfaceConfigurations"][0]
            return nic["properties"]["ipConfigurations"][0]["properties"]["subnet"]["id"]
    raise errors.arm_error(500, "InternalOperationError", "The cluster has no node subnet.")


def reconcile(world: World, cluster: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """A PUT on an existing cluster: check what cannot change, take what can, and put every
    node pool back into the state AKS wants — including the kubelet identity on each scale
    set, which is how ``az aks update`` repairs a removed identity. Returns the cluster's
    completion patch."""
    for name, get in IMMUTABLE:
        new, old = get(body), get(cluster)
        if new is not None and str(new).lower() != str(old).lower():
            raise errors.bad_request("PropertyChangeNotAllowed",
                                     f"Changing property '{name}' is not allowed.")
    props = body.get("properties") or {}
    spp = props.get("servicePrincipalProfile") or {}
    current_sp = cluster["properties"]["servicePrincipalProfile"]["clientId"]
    if spp.get("clientId") and spp["clientId"].lower() != current_sp.lower():
        raise errors.bad_request(
            "PropertyChangeNotAllowed", "Changing property 'servicePrincipalProfile.clientId' "
            "is not allowed; use resetServicePrincipalProfile.")
    if "tags" in body:
        cluster["tags"] = dict(body.get("tags") or {})
    mc = cluster["properties"]
    version = props.get("kubernetesVersion") or mc["kubernetesVersion"]
    kubelet = (mc.get("identityProfile") or {}).get("kubeletidentity")
    overlay = mc["networkProfile"].get("networkPluginMode") == "overlay"
    sub = parse(cluster["id"]).subscription or ""
    final = copy.deepcopy(mc["agentPoolProfiles"])
    for bp in props.get("agentPoolProfiles") or []:
        existing = models.find_pool(cluster, bp.get("name", ""))
        if existing is None:
            pool = _pool_from(bp, False)
            nodes.create_pool_vmss(
                world, sub=sub, node_rg=mc["nodeResourceGroup"], location=cluster["location"],
                suffix=nodes.digits(cluster["id"]), pool=pool,
                subnet_id=pool.subnet_id or _subnet_of(world, cluster),
                kubernetes_version=version, kubelet=kubelet, on_vmss=True,
                tags=nodes.managed_tags(cluster["name"], parse(cluster["id"]).resource_group
                                        or ""), cluster_id=cluster["id"])
            final.append(models.pool_profile(pool, version, mc["networkProfile"]["networkPlugin"],
                                             overlay))
        elif bp.get("count") is not None:
            next(p for p in final if p["name"] == existing["name"])["count"] = int(bp["count"])
    for p in final:
        p["provisioningState"] = "Succeeded"
        p["eTag"] = models.etag()
        vmss = world.get(models.pool_vmss_id(cluster, p))
        if vmss is None:
            continue
        patch: dict[str, Any] = {}
        if vmss["sku"]["capacity"] != p["count"]:
            patch["sku"] = {"capacity": p["count"]}
        if kubelet and not compute.has_identity(vmss, kubelet["resourceId"]):
            patch["identity"] = compute.identity_patch_adding(world, vmss,
                                                              kubelet["resourceId"])
        if patch:
            vmss["properties"]["provisioningState"] = "Updating"
            world.begin_operation(resource_id=vmss["id"], kind="update", apply=patch)
    for p in mc["agentPoolProfiles"]:
        p["provisioningState"] = "Updating"
    return {"properties": {"agentPoolProfiles": final, "kubernetesVersion": version,
                           "currentKubernetesVersion": version}}


def reset_service_principal(cluster: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    if cluster.get("identity"):
        raise errors.bad_request(
            "BadRequest", "Updating service principal profile is not allowed on a managed "
            "identity (MSI) enabled cluster.")
    if not body.get("clientId") or not body.get("secret"):
        raise errors.bad_request("InvalidParameter", "The value of parameter "
                                 "servicePrincipalProfile is invalid: clientId and secret are "
                                 "required.")
    return {"properties": {"servicePrincipalProfile": {"clientId": body["clientId"]}},
            "_service_principal": {"client_id": body["clientId"],
                                   "secret_hash": secret_hash(body["secret"])}}
