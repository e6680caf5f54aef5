"""Nodes derived from the cluster's agent pools: one per scale-set instance, named and
labelled as AKS names and labels them, kept in step with the managed cluster document (a
pool scaled, added, removed or stopped changes the nodes on the next request).

Names: ``aks-<pool>-<digits>-vmss<6 base-36 chars>`` for Linux, ``aks<pool><6 chars>`` for
Windows — the scale set's computer-name prefix plus the instance id.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from typing import Any

from simulator.containerservice import nodes as aks_nodes
from simulator.core.world import World
from simulator.kubernetes import store

DEFAULT_CONTAINERD = {"Linux": "1.7.22-1", "Windows": "1.7.20+azure"}
_B36 = "0123456789abcdefghijklmnopqrstuvwxyz"


def _b36(n: int) -> str:
    out = ""
    for _ in range(6):
        n, r = divmod(n, 36)
        out = _B36[r] + out
    return out


def node_name(cluster: dict[str, Any], pool: dict[str, Any], index: int) -> str:
    suffix = aks_nodes.digits(cluster["id"])
    if pool["osType"] == "Windows":
        return f"aks{pool['name']}{_b36(index)}"
    return f"aks-{pool['name']}-{suffix}-vmss{_b36(index)}"


def _cpus(vm_size: str) -> int:
    m = re.match(r"Standard_[A-Z]+(\d+)", vm_size)
    return int(m.group(1)) if m else 2


def _stable(*parts: str) -> str:
    return str(uuid.UUID(hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]))


def desired_nodes(cluster: dict[str, Any], created: float) -> list[dict[str, Any]]:
    """The Node objects the cluster's pools imply right now (without store metadata)."""
    props = cluster["properties"]
    if (props.get("powerState") or {}).get("code") == "Stopped":
        return []
    out: list[dict[str, Any]] = []
    ip = 4
    for pi, pool in enumerate(props.get("agentPoolProfiles") or []):
        if (pool.get("powerState") or {}).get("code") == "Stopped":
            continue
        for i in range(int(pool.get("count") or 0)):
            out.append(_node(cluster, pool, pi, i, f"10.224.{ip // 250}.{ip % 250}",
                             created))
            ip += 1
    return out


def _node(cluster: dict[str, Any], pool: dict[str, Any], pool_index: int, i: int,
          address: str, created: float) -> dict[str, Any]:
    props = cluster["properties"]
    private = pool.get("_node") or {}
    arch = private.get("arch") or aks_nodes.arch_of(pool["vmSize"])
    windows = pool["osType"] == "Windows"
    os_name = "windows" if windows else "linux"
    name = node_name(cluster, pool, i)
    version = private.get("kubelet_version") or pool.get("currentOrchestratorVersion") or \
        props["kubernetesVersion"]
    containerd = private.get("containerd_version") or DEFAULT_CONTAINERD[pool["osType"]]
    region = cluster["location"]
    node_rg = props["nodeResourceGroup"]
    labels = {
        "agentpool": pool["name"], "beta.kubernetes.io/arch": arch,
        "beta.kubernetes.io/instance-type": pool["vmSize"], "beta.kubernetes.io/os": os_name,
        "failure-domain.beta.kubernetes.io/region": region,
        "failure-domain.beta.kubernetes.io/zone": "0",
        "kubernetes.azure.com/agentpool": pool["name"], "kubernetes.azure.com/cluster": node_rg,
        "kubernetes.azure.com/mode": pool.get("mode", "User").lower(),
        "kubernetes.azure.com/node-image-version": pool.get("nodeImageVersion", ""),
        "kubernetes.azure.com/nodepool-type": "VirtualMachineScaleSets",
        "kubernetes.azure.com/os-sku": pool.get("osSKU") or ("Windows2022" if windows else "Ubuntu"),
        "kubernetes.azure.com/role": "agent", "kubernetes.azure.com/storageprofile": "managed",
        "kubernetes.azure.com/storagetier": "Premium_LRS", "kubernetes.io/arch": arch,
        "kubernetes.io/hostname": name, "kubernetes.io/os": os_name, "kubernetes.io/role": "agent",
        "node-role.kubernetes.io/agent": "", "node.kubernetes.io/instance-type": pool["vmSize"],
        "storageprofile": "managed", "storagetier": "Premium_LRS",
        "topology.disk.csi.azure.com/zone": "", "topology.kubernetes.io/region": region,
        "topology.kubernetes.io/zone": "0",
    }
    kubelet = (props.get("identityProfile") or {}).get("kubeletidentity")
    if kubelet:
        labels["kubernetes.azure.com/kubelet-identity-client-id"] = kubelet["clientId"]
    if windows:
        labels["node.kubernetes.io/windows-build"] = "10.0.20348"
    cpus = _cpus(pool["vmSize"])
    mem_ki = cpus * 4 * 1024 * 1024
    max_pods = str(pool.get("maxPods") or 30)
    capacity = {"cpu": str(cpus), "ephemeral-storage": "129886128Ki", "hugepages-1Gi": "0",
                "hugepages-2Mi": "0", "memory": f"{mem_ki - 340000}Ki", "pods": max_pods}
    allocatable = dict(capacity, cpu=f"{cpus * 1000 - 140}m", memory=f"{int(mem_ki * 0.8)}Ki",
                       **{"ephemeral-storage": "119703055367"})
    vmss = aks_nodes.vmss_name(aks_nodes.PoolPlan(pool["name"], os_type=pool["osType"]),
                               aks_nodes.digits(cluster["id"]))
    sub = cluster["id"].split("/")[2]
    since = store.rfc3339(created)
    seed = f"{cluster['id']}|{name}".lower()
    return {
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "labels": labels, "annotations": {
            "node.alpha.kubernetes.io/ttl": "0",
            "volumes.kubernetes.io/controller-managed-attach-detach": "true"},
            "_pool": pool["name"], "_poolIndex": pool_index, "_index": i},
        "spec": {"providerID": f"azure:///subscriptions/{sub}/resourceGroups/{node_rg.lower()}/"
                               f"providers/Microsoft.Compute/virtualMachineScaleSets/{vmss}/"
                               f"virtualMachines/{i}"},
        "status": {
            "capacity": capacity, "allocatable": allocatable,
            "conditions": [
                _cond("MemoryPressure", "False", "KubeletHasSufficientMemory",
                      "kubelet has sufficient memory available", since),
                _cond("DiskPressure", "False", "KubeletHasNoDiskPressure",
                      "kubelet has no disk pressure", since),
                _cond("PIDPressure", "False", "KubeletHasSufficientPID",
                      "kubelet has sufficient PID available", since),
                _cond("Ready", "True", "KubeletReady", "kubelet is posting ready status", since),
            ],
            "addresses": [{"type": "InternalIP", "address": address},
                          {"type": "Hostname", "address": name}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {
                "architecture": arch, "bootID": _stable(seed, "boot"),
                "containerRuntimeVersion": f"containerd://{containerd}",
                "kernelVersion": "10.0.20348.2762" if windows else "5.15.0-1073-azure",
                "kubeProxyVersion": f"v{version}", "kubeletVersion": f"v{version}",
                "machineID": _stable(seed, "machine").replace("-", ""),
                "operatingSystem": os_name,
                "osImage": "Windows Server 2022 Datacenter" if windows else "Ubuntu 22.04.5 LTS",
                "systemUUID": _stable(seed, "system"),
            },
            "images": [],
        },
    }


def _cond(type_: str, status: str, reason: str, message: str, since: str) -> dict[str, str]:
    return {"type": type_, "status": status, "lastHeartbeatTime": since,
            "lastTransitionTime": since, "reason": reason, "message": message}


def sync(world: World, key: str, cluster: dict[str, Any]) -> bool:
    """Bring the Node objects in line with the cluster's pools; True when anything changed."""
    state = store.cluster_state(world, key)
    created = state.setdefault("created", world.now())
    want = {n["metadata"]["name"]: n for n in desired_nodes(cluster, created)}
    have = store.objects(world, key, "nodes")
    changed = False
    for name in list(have):
        if name not in want:
            store.delete(world, key, "nodes", name)
            changed = True
    for name, node in want.items():
        old = have.get(name)
        if old is None:
            node["metadata"]["creationTimestamp"] = store.rfc3339(created)
            store.put(world, key, "nodes", node)
            changed = True
        elif (old["metadata"]["labels"], old["status"]["nodeInfo"], old["status"]["capacity"]) \
                != (node["metadata"]["labels"], node["status"]["nodeInfo"],
                    node["status"]["capacity"]):
            meta = {**old["metadata"], "labels": node["metadata"]["labels"]}
            store.put(world, key, "nodes", {**old, "metadata": meta, "status": {
                **old["status"], "nodeInfo": node["status"]["nodeInfo"],
                "capacity": node["status"]["capacity"],
                "allocatable": node["status"]["allocatable"]}})
            changed = True
    return changed


def ordered(world: World, key: str) -> list[dict[str, Any]]:
    """Nodes in pool order, then instance order (the scheduler's tie-break)."""
    return sorted(store.objects(world, key, "nodes").values(),
                  key=lambda n: (n["metadata"].get("_poolIndex", 0), n["metadata"].get("_index", 0)))


def is_ready(node: dict[str, Any]) -> bool:
    return any(c["type"] == "Ready" and c["status"] == "True"
               for c in node["status"].get("conditions", [])) and \
        not node["spec"].get("unschedulable")
