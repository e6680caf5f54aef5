"""From failing pods to check targets: resolve each image's registry host to a registry
resource across the visible subscriptions (login server → ARM id)."""

from __future__ import annotations

from tasks.contract import Classification, ClusterRef, FailingPod, Target
from tasks.reads import Reads


def registry_host(image: str) -> str | None:
    """The registry host of an image reference (docker's rule: the first path component is a
    host when it has a '.' or ':' or is 'localhost'); None for Docker Hub short names."""
    first, sep, _ = image.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        return first.lower()
    return None


def target_for(reads: Reads, cluster: ClusterRef, pod: FailingPod,
               classification: Classification | None = None) -> Target:
    host = registry_host(pod.image)
    registry = reads.registry_for_host(host) if host else None
    return Target(cluster=cluster, pod=pod, classification=classification,
                  registry_host=host, registry_id=registry.id if registry else None)
