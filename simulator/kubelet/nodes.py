"""Which node pool a pod's node belongs to, and the node's platform."""

from __future__ import annotations

import re
from typing import Any

_LINUX_NODE = re.compile(r"^aks-(?P<pool>[a-z0-9]+)-\d+-vmss")
_WINDOWS_NODE = re.compile(r"^aks(?P<pool>[a-z0-9]{1,6})\d{6}$")


def pool_of(cluster: dict[str, Any], node: dict[str, Any] | None, pod: dict[str, Any]
            ) -> dict[str, Any]:
    """The agent pool profile of the pod's node: the node's ``agentpool`` label, else the
    AKS node name (``aks-<pool>-<digits>-vmss000000`` / ``aks<pool>000000``), else the
    first pool."""
    pools = cluster["properties"]["agentPoolProfiles"]
    labels = ((node or {}).get("metadata") or {}).get("labels") or {}
    name = labels.get("agentpool") or labels.get("kubernetes.azure.com/agentpool")
    if not name:
        node_name = pod["spec"].get("nodeName") or ""
        m = _LINUX_NODE.match(node_name) or _WINDOWS_NODE.match(node_name)
        name = m["pool"] if m else None
    for p in pools:
        if name and p["name"].lower() == name.lower():
            return p
    return pools[0]


def node_platform(node: dict[str, Any] | None, profile: dict[str, Any]
                  ) -> tuple[str, str, str | None]:
    """(os, architecture, variant) from the node's labels, else from its pool."""
    labels = ((node or {}).get("metadata") or {}).get("labels") or {}
    node_os = labels.get("kubernetes.io/os") or (
        "windows" if profile.get("osType") == "Windows" else "linux")
    arch = labels.get("kubernetes.io/arch") or (profile.get("_node") or {}).get("arch") or "amd64"
    return node_os, arch, "v8" if arch == "arm64" else None
