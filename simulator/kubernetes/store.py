"""Where Kubernetes objects live in the World — the contract between the API server
(``simulator.kubernetes``), the workload controllers and the kubelet (``simulator.kubelet``).

``world.state["k8s"][<cluster key>]`` holds, per cluster (the key is the managed cluster's
private ``_k8s_key``, the ``/k8s/<key>`` of its kubeconfig):

- ``objects``: ``{resource: {"<namespace>/<name>" | "<name>": object}}`` where ``resource`` is
  the plural REST name qualified by group for non-core groups, e.g. ``pods``, ``events``,
  ``secrets``, ``serviceaccounts``, ``namespaces``, ``nodes``, ``apps/deployments``,
  ``apps/replicasets``, ``apps/statefulsets``, ``apps/daemonsets``, ``batch/jobs``,
  ``batch/cronjobs``. Objects are complete Kubernetes JSON (apiVersion, kind, metadata with
  uid/resourceVersion/creationTimestamp, spec, status) — what the API returns as is.
- ``rv``: the cluster's resourceVersion counter (a string in metadata, as Kubernetes does).

All writes go through :func:`put` / :func:`delete` so resourceVersions advance and the
kubelet sees changes.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import uuid
from typing import Any

from simulator.core.world import World


def rfc3339(ts: float) -> str:
    return _rfc3339(math.floor(ts))


@functools.lru_cache(maxsize=4096)
def _rfc3339(seconds: int) -> str:
    """Whole seconds, as Kubernetes writes times; cached (a fleet writes the same few)."""
    return dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def cluster_state(world: World, cluster_key: str) -> dict[str, Any]:
    k8s = world.state.setdefault("k8s", {})
    return k8s.setdefault(cluster_key, {"objects": {}, "rv": 1})


def _key(obj: dict[str, Any]) -> str:
    meta = obj["metadata"]
    return f"{meta['namespace']}/{meta['name']}" if meta.get("namespace") else meta["name"]


def objects(world: World, cluster_key: str, resource: str) -> dict[str, dict[str, Any]]:
    return cluster_state(world, cluster_key)["objects"].setdefault(resource, {})


def get(world: World, cluster_key: str, resource: str, name: str,
        namespace: str | None = None) -> dict[str, Any] | None:
    return objects(world, cluster_key, resource).get(f"{namespace}/{name}" if namespace else name)


def put(world: World, cluster_key: str, resource: str, obj: dict[str, Any]) -> dict[str, Any]:
    """Create or replace; fills uid/creationTimestamp on create and bumps resourceVersion."""
    state = cluster_state(world, cluster_key)
    state["rv"] += 1
    meta = obj.setdefault("metadata", {})
    meta.setdefault("uid", str(uuid.uuid4()))
    meta.setdefault("creationTimestamp", rfc3339(world.now()))
    meta["resourceVersion"] = str(state["rv"])
    objects(world, cluster_key, resource)[_key(obj)] = obj
    return obj


def delete(world: World, cluster_key: str, resource: str, name: str,
           namespace: str | None = None) -> dict[str, Any] | None:
    state = cluster_state(world, cluster_key)
    state["rv"] += 1
    return objects(world, cluster_key, resource).pop(f"{namespace}/{name}" if namespace else name,
                                                    None)


def cluster_keys(world: World) -> list[str]:
    return list(world.state.get("k8s", {}))


def parse_time(text: str) -> float:
    return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC).timestamp()
