"""The ``cluster`` scenario entry: an AKS cluster with its node resource group.

```yaml
- kind: cluster
  name: aks-prod
  group: rg-aks
  kubernetes_version: 1.30.6
  identity: managed                  # or service-principal (with service_principal: app:NAME)
  node_pools:
    - {name: system, count: 3}
    - {name: arm, arch: arm64, mode: user}           # vm_size defaults to an Arm64 size
    - {name: win, os: windows, mode: user}
  network: {subnet: vnet:hub/subnets/aks, outbound_type: userDefinedRouting}
  kubelet_identity_on_vmss: false    # the identity was removed from the scale sets
  aad: true                          # AKS-managed Entra ID (aadProfile)
  azure_rbac: true                   # Azure RBAC for Kubernetes authorization (default with aad)
  admin_groups: [group:aks-admins]   # aadProfile.adminGroupObjectIDs
  local_accounts: false              # disableLocalAccounts: no static kubeconfig
  private: true                      # private API server (apiServerAccessProfile)
  power_state: Stopped               # a stopped cluster: no API server
```
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from simulator.containerservice import models
from simulator.containerservice.nodes import PoolPlan, arch_of
from simulator.core import errors
from simulator.core.world import World
from simulator.identity.models import app_by_app_id
from simulator.scenario import (
    PRINCIPAL_RESOLVERS,
    REF_TYPES,
    Spec,
    builder,
    resolve_principal,
    resolve_scope,
    subscription_id,
)

REF_TYPES["cluster"] = models.CLUSTER_TYPE
DEFAULT_SIZES = {"amd64": "Standard_D4s_v5", "arm64": "Standard_D4ps_v5"}


class NodePoolSpec(Spec):
    name: str
    os: Literal["linux", "windows"] = "linux"
    arch: Literal["amd64", "arm64"] | None = None  # default: what vm_size implies, else amd64
    vm_size: str | None = None
    count: int = Field(3, ge=0, le=1000)
    mode: Literal["system", "user", "System", "User"] | None = None
    os_sku: str | None = None  # Ubuntu, AzureLinux, Windows2019, Windows2022
    containerd_version: str | None = None
    kubelet_version: str | None = None

    @model_validator(mode="after")
    def _arch_matches_size(self) -> NodePoolSpec:
        if self.vm_size and self.arch and arch_of(self.vm_size) != self.arch:
            raise ValueError(f"vm_size {self.vm_size} is an {arch_of(self.vm_size)} size, but "
                             f"arch is {self.arch}")
        return self


class NetworkSpec(Spec):
    plugin: Literal["azure", "kubenet", "none"] = "azure"
    plugin_mode: Literal["overlay"] | None = "overlay"
    policy: str | None = None
    subnet: str | None = None  # ARM id or vnet:NAME/subnets/SUBNET
    vnet_subnet_id: str | None = None
    outbound_type: Literal["loadBalancer", "userDefinedRouting", "managedNATGateway",
                           "userAssignedNATGateway"] = "loadBalancer"
    outbound_ips: list[str] = []  # public IP ids or references: BYO outbound IPs
    managed_outbound_ips: int = Field(1, ge=1, le=100)
    pod_cidr: str = "10.244.0.0/16"
    service_cidr: str = "10.0.0.0/16"
    dns_service_ip: str = "10.0.0.10"


class ClusterSpec(Spec):
    name: str
    group: str
    subscription: str | None = None
    location: str = "eastus"
    kubernetes_version: str = "1.30.6"
    identity: Literal["managed", "service-principal"] = "managed"
    service_principal: str | None = None  # app:NAME
    control_plane_identity: str | None = None  # identity:NAME -> UserAssigned
    kubelet_identity: str | None = None  # identity:NAME -> BYO kubelet identity
    node_pools: list[NodePoolSpec] = [NodePoolSpec(name="nodepool1")]
    network: NetworkSpec = NetworkSpec()
    tags: dict[str, str] = {}
    kubelet_identity_on_vmss: bool = True
    sku_tier: Literal["Free", "Standard", "Premium"] = "Free"
    power_state: Literal["Running", "Stopped"] = "Running"
    aad: bool = False
    azure_rbac: bool | None = None  # default: on for aad clusters
    admin_groups: list[str] = []  # group:NAME or object ids
    local_accounts: bool = True
    private: bool = False
    dns_prefix: str | None = None
    node_resource_group: str | None = None

    @model_validator(mode="after")
    def _identity_fields(self) -> ClusterSpec:
        if self.identity == "service-principal" and not self.service_principal:
            raise ValueError("identity: service-principal needs service_principal: app:NAME")
        if self.identity == "managed" and self.service_principal:
            raise ValueError("service_principal is only for identity: service-principal")
        if not self.aad and (self.azure_rbac or self.admin_groups):
            raise ValueError("azure_rbac and admin_groups need aad: true")
        return self


def _ref(world: World, ref: str) -> str:
    """An ARM id or a reference; a subnet is ``vnet:NAME/subnets/SUBNET`` (as in ``vnet``)."""
    if ref.startswith("/") or "/subnets/" not in ref:
        return resolve_scope(world, ref)
    vnet_ref, _, subnet = ref.partition("/subnets/")
    vnet = world.get(resolve_scope(world, vnet_ref)) or {}
    names = [s["name"].lower() for s in (vnet.get("properties") or {}).get("subnets", [])]
    if subnet.lower() not in names:
        raise ValueError(f"unknown subnet '{ref}' (define it in its vnet above this entry)")
    return f"{vnet['id']}/subnets/{subnet}"


def _pool(spec: NodePoolSpec, first: bool) -> PoolPlan:
    arch = spec.arch or (arch_of(spec.vm_size) if spec.vm_size else "amd64")
    private = {k: v for k, v in (("containerd_version", spec.containerd_version),
                                 ("kubelet_version", spec.kubelet_version)) if v}
    return PoolPlan(
        name=spec.name, count=spec.count, vm_size=spec.vm_size or DEFAULT_SIZES[arch],
        os_type="Windows" if spec.os == "windows" else "Linux", os_sku=spec.os_sku,
        mode=(spec.mode or ("system" if first else "user")).capitalize(), private=private,
    )


@builder("cluster", ClusterSpec)
def build_cluster(world: World, spec: ClusterSpec) -> None:
    sub = subscription_id(world, spec.subscription)
    if world.get(f"/subscriptions/{sub}/resourceGroups/{spec.group}") is None:
        raise ValueError(f"unknown resource group '{spec.group}' (define it above this entry)")
    net = spec.network
    plan = models.ClusterPlan(
        sub=sub, group=spec.group, name=spec.name, location=spec.location,
        kubernetes_version=spec.kubernetes_version,
        pools=[_pool(p, i == 0) for i, p in enumerate(spec.node_pools)],
        network_plugin=net.plugin,
        network_plugin_mode=net.plugin_mode if net.plugin == "azure" else None,
        network_policy=net.policy, outbound_type=net.outbound_type,
        subnet_id=_ref(world, net.subnet or net.vnet_subnet_id) if (
            net.subnet or net.vnet_subnet_id) else None,
        outbound_ip_ids=[_ref(world, r) for r in net.outbound_ips],
        managed_outbound_ips=net.managed_outbound_ips, pod_cidr=net.pod_cidr,
        service_cidr=net.service_cidr, dns_service_ip=net.dns_service_ip,
        tags=dict(spec.tags), kubelet_identity_on_vmss=spec.kubelet_identity_on_vmss,
        sku_tier=spec.sku_tier, power_state=spec.power_state, aad=spec.aad,
        dns_prefix=spec.dns_prefix, node_resource_group=spec.node_resource_group,
        azure_rbac=spec.aad and spec.azure_rbac is not False,
        admin_group_ids=[resolve_principal(world, g) for g in spec.admin_groups],
        disable_local_accounts=not spec.local_accounts, private_cluster=spec.private,
    )
    if spec.identity == "service-principal":
        assert spec.service_principal
        sp_object = resolve_principal(world, spec.service_principal)
        sp = world.graph["servicePrincipals"][sp_object]
        app = app_by_app_id(world, sp["appId"])
        creds = (app or {}).get("passwordCredentials") or []
        if not creds:
            raise ValueError(f"{spec.service_principal} has no secret for the cluster to use; "
                             "give the application a secrets: entry")
        plan.identity_type, plan.sp_client_id = None, sp["appId"]
        # the cluster was configured with the app's newest secret
        plan.sp_secret_hash = creds[-1]["_hash"]
    else:
        if spec.control_plane_identity:
            plan.identity_type = "UserAssigned"
            plan.control_plane_identity_id = resolve_scope(world, spec.control_plane_identity)
        if spec.kubelet_identity:
            plan.kubelet_identity_id = resolve_scope(world, spec.kubelet_identity)
    try:
        models.create_cluster(world, plan)
    except errors.CloudError as exc:
        raise ValueError(exc.body["error"]["message"]) from exc


def _kubelet(world: World, name: str) -> str:
    cluster = world.find_by_name(models.CLUSTER_TYPE, name)
    if cluster is None:
        raise ValueError(f"unknown cluster '{name}' (define it above this entry)")
    return models.kubelet_principal(world, cluster)


PRINCIPAL_RESOLVERS["kubelet"] = _kubelet
