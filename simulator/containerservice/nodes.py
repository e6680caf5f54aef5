"""What AKS creates in a cluster's node resource group: the kubelet identity, one scale set per
node pool, the outbound public IP and (without a BYO subnet) the managed virtual network.

Names follow AKS: ``aks-<pool>-<8 digits>-vmss`` for Linux pools (Windows pools are named
``aks<pool>``, which is why their names are limited to six characters), ``aks-vnet-<digits>``
with subnet ``aks-subnet``, ``<cluster>-agentpool`` for the kubelet identity and a GUID for
each managed outbound IP. The digits are one per cluster, derived from the cluster id.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from simulator.compute.models import create_vmss, vmss_id
from simulator.core.ids import key
from simulator.core.world import World

NODE_IMAGE = "202410.15.0"
WINDOWS_IMAGE = "20348.2762.241009"
AKS_IMAGE_SUB = "109a5e88-712a-48ae-9078-9ca8b3c81345"
# Azure's Arm64 sizes carry a lower-case "p" in their feature letters (D4ps_v5, E8pds_v5,
# B2pts_v2); that is the only place the AKS API reveals a pool's architecture
_ARM64 = re.compile(r"^Standard_[A-Z]+\d+[a-oq-z]*p[a-z]*_v\d+$")


def arch_of(vm_size: str) -> str:
    return "arm64" if _ARM64.match(vm_size) else "amd64"


def digits(cluster_id: str) -> str:
    return str(int(hashlib.sha256(key(cluster_id).encode()).hexdigest(), 16) % 90000000
               + 10000000)


def _hash_bytes(*parts: str) -> bytes:
    return hashlib.sha256("|".join(parts).lower().encode()).digest()


def ssh_key(cluster_id: str) -> str:
    # a fixed-format (not a usable) RSA public key, stable per cluster
    body = hashlib.sha512(key(cluster_id).encode()).hexdigest()
    return f"ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ{body[:300]} azureuser@aks"


@dataclass
class PoolPlan:
    name: str
    count: int = 3
    vm_size: str = "Standard_D4s_v5"
    os_type: str = "Linux"  # Linux | Windows
    os_sku: str | None = None
    mode: str = "System"
    subnet_id: str | None = None  # BYO subnet (vnetSubnetID)
    orchestrator_version: str | None = None
    private: dict[str, Any] = field(default_factory=dict)  # kept for the node simulation

    @property
    def arch(self) -> str:
        return arch_of(self.vm_size)

    @property
    def sku(self) -> str:
        if self.os_sku:
            return self.os_sku
        return "Windows2022" if self.os_type == "Windows" else "Ubuntu"


def node_image(pool: PoolPlan) -> tuple[str, str]:
    """(nodeImageVersion, gallery image id) for a pool."""
    arm = "arm64" if pool.arch == "arm64" else ""
    gallery = f"/subscriptions/{AKS_IMAGE_SUB}/resourceGroups/AKS-{{g}}/providers/" \
              "Microsoft.Compute/galleries/AKS{g}/images/{i}/versions/{v}"
    if pool.os_type == "Windows":
        year = "2019" if pool.sku == "Windows2019" else "2022"
        return (f"AKSWindows-{year}-containerd-{WINDOWS_IMAGE}",
                gallery.format(g="Windows", i=f"windows-{year}-containerd-gen2", v=WINDOWS_IMAGE))
    if pool.sku in ("AzureLinux", "CBLMariner"):
        img = f"V2gen2{arm}"
        return f"AKSAzureLinux-{img}-{NODE_IMAGE}", gallery.format(g="AzureLinux", i=img,
                                                                  v=NODE_IMAGE)
    img = f"2204gen2{arm}containerd"
    return f"AKSUbuntu-{img}-{NODE_IMAGE}", gallery.format(g="Ubuntu", i=img, v=NODE_IMAGE)


def vmss_name(pool: PoolPlan, suffix: str) -> str:
    return f"aks{pool.name}" if pool.os_type == "Windows" else f"aks-{pool.name}-{suffix}-vmss"


def managed_tags(cluster_name: str, group: str) -> dict[str, str]:
    return {"aks-managed-cluster-name": cluster_name, "aks-managed-cluster-rg": group}


def nsg_id(sub: str, node_rg: str, suffix: str) -> str:
    return (f"/subscriptions/{sub}/resourceGroups/{node_rg}/providers/Microsoft.Network/"
            f"networkSecurityGroups/aks-agentpool-{suffix}-nsg")


def create_node_nsg(world: World, *, sub: str, node_rg: str, location: str, suffix: str,
                    tags: dict[str, str]) -> str:
    """``aks-agentpool-<digits>-nsg``: AKS's NSG for the nodes, only the default rules."""
    from simulator.network.security import nsg_doc

    rid = nsg_id(sub, node_rg, suffix)
    world.put(nsg_doc(nsg_id=rid, name=f"aks-agentpool-{suffix}-nsg", location=location,
                      rules=[], tags=tags))
    return rid


def create_managed_vnet(world: World, *, sub: str, node_rg: str, location: str, suffix: str,
                        tags: dict[str, str], nsg: str) -> str:
    """The AKS-managed VNet (with the node NSG on its subnet); returns ``aks-subnet``'s id."""
    from simulator.network.vnets import subnet_doc, sync_backrefs, vnet_doc

    rid = (f"/subscriptions/{sub}/resourceGroups/{node_rg}/providers/Microsoft.Network/"
           f"virtualNetworks/aks-vnet-{suffix}")
    doc = vnet_doc(vnet_id=rid, name=f"aks-vnet-{suffix}", location=location,
                   prefixes=["10.224.0.0/12"], tags=tags)
    subnet = subnet_doc(rid, "aks-subnet", {"addressPrefix": "10.224.0.0/16",
                                            "networkSecurityGroup": {"id": nsg}})
    doc["properties"]["subnets"].append(subnet)
    world.put(doc)
    sync_backrefs(world, subnet["id"], subnet["properties"])
    return subnet["id"]


def create_public_ip(world: World, *, sub: str, node_rg: str, location: str, seed: str,
                     tags: dict[str, str], purpose: str = "aks-slb-managed-outbound-ip",
                     frontend_of: str | None = None) -> str:
    """A managed outbound IP: Standard, static, from 20.0.0.0/8, named by a GUID as AKS
    names them; deterministic per ``seed``."""
    from simulator.network.edge import public_ip_doc

    name = str(uuid.uuid5(uuid.NAMESPACE_URL, key(seed) + "#" + purpose))
    rid = (f"/subscriptions/{sub}/resourceGroups/{node_rg}/providers/Microsoft.Network/"
           f"publicIPAddresses/{name}")
    b = _hash_bytes(seed, purpose)
    doc = public_ip_doc(pip_id=rid, name=name, location=location,
                        address=f"20.{b[0] % 254 + 1}.{b[1]}.{b[2] % 254 + 1}",
                        tags={**tags, "aks-managed-type": purpose})
    if frontend_of:
        doc["properties"]["ipConfiguration"] = {"id": frontend_of}
    world.put(doc)
    return rid


def create_pool_vmss(world: World, *, sub: str, node_rg: str, location: str, suffix: str,
                     pool: PoolPlan, subnet_id: str, kubernetes_version: str,
                     kubelet: dict[str, Any] | None, on_vmss: bool, tags: dict[str, str],
                     cluster_id: str) -> dict[str, Any]:
    name = vmss_name(pool, suffix)
    vm_tags = {**tags, "aks-managed-poolName": pool.name,
               "aks-managed-resourceNameSuffix": suffix,
               "aks-managed-orchestrator": f"Kubernetes:{kubernetes_version}",
               "aks-managed-createOperationID": str(uuid.uuid5(uuid.NAMESPACE_URL, name)),
               "aks-managed-creationSource": f"vmssclient-{name}",
               "aks-managed-coordination": "true"}
    identity = None
    if kubelet:
        vm_tags["aks-managed-kubeletIdentityClientID"] = kubelet["clientId"]
        if on_vmss:
            identity = {"type": "UserAssigned", "userAssignedIdentities": {
                kubelet["resourceId"]: {"principalId": kubelet["objectId"],
                                        "clientId": kubelet["clientId"]}}}
    _, image_id = node_image(pool)
    return create_vmss(
        world, rid=vmss_id(sub, node_rg, name), location=location, vm_size=pool.vm_size,
        capacity=pool.count, os_type=pool.os_type, image_id=image_id, subnet_id=subnet_id,
        prefix=name if pool.os_type == "Windows" else f"aks-{pool.name}-{suffix}-vmss",
        tags=vm_tags, identity=identity, ssh_key=ssh_key(cluster_id),
        nsg_id=nsg_id(sub, node_rg, suffix),
    )
