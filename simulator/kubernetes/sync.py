"""Bring one cluster's Kubernetes objects up to date with the world *now*, at the start of
every request and after every write: the bootstrap namespaces, nodes from the agent pools,
the workload controllers, the scheduler, the garbage collectors and the kubelet (which writes
pod statuses) — repeated until nothing changes, so a request sees the converged state that a
real cluster reaches a few seconds after the change."""

from __future__ import annotations

from typing import Any

from simulator.core.world import World
from simulator.kubernetes import apps, batch, cron, nodes, pods, store

BOOTSTRAP_NAMESPACES = ("default", "kube-node-lease", "kube-public", "kube-system")
MAX_ROUNDS = 8


def _kubelet_sync(world: World, key: str) -> None:
    from simulator import kubelet  # lazily: the kubelet imports this package's store

    kubelet.sync(world, key)


def ensure_namespace(world: World, key: str, name: str,
                     labels: dict[str, str] | None = None) -> dict[str, Any]:
    """A namespace and its ``default`` service account (the service-account controller)."""
    from simulator.kubernetes import defaults

    ns = store.get(world, key, "namespaces", name)
    if ns is None:
        ns = {"apiVersion": "v1", "kind": "Namespace",
              "metadata": {"name": name, "labels": dict(labels or {})}}
        defaults.default_and_validate(ns)
        store.put(world, key, "namespaces", ns)
    if store.get(world, key, "serviceaccounts", "default", name) is None:
        store.put(world, key, "serviceaccounts", {
            "apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": {"name": "default", "namespace": name}})
    return ns


def bootstrap(world: World, key: str) -> None:
    state = store.cluster_state(world, key)
    if not state.get("bootstrapped"):
        for ns in BOOTSTRAP_NAMESPACES:
            ensure_namespace(world, key, ns)
        state["bootstrapped"] = True


def sync(world: World, key: str, cluster: dict[str, Any] | None = None) -> None:
    if cluster is None:
        from simulator.containerservice.models import by_k8s_key

        cluster = by_k8s_key(world, key)
        if cluster is None:
            return
    state = store.cluster_state(world, key)
    converged = state.get("converged")
    if converged and converged["fingerprint"] == _fingerprint(world, state) and \
            world.now() < converged["due"]:
        world.counters["k8s_sync_skipped"] += 1
        return
    world.counters["k8s_syncs"] += 1
    bootstrap(world, key)
    nodes.sync(world, key, cluster)
    for _ in range(MAX_ROUNDS):
        before = state["rv"]
        pods.collect_garbage(world, key)
        batch.reconcile_all(world, key)
        apps.reconcile_all(world, key)
        pods.schedule_pending(world, key)
        _kubelet_sync(world, key)
        if state["rv"] == before:
            break
    state["converged"] = {"fingerprint": _fingerprint(world, state), "due": _next_due(world, key)}


def _fingerprint(world: World, state: dict[str, Any]) -> list[Any]:
    """What a converged cluster depends on: any change to the world (every write through the
    API, LRO completion, reset, restore; tests that edit state call ``world.changed()``), the
    resource and journal counts, and the cluster's own resourceVersion."""
    return [world.epoch, world.changes, len(world.resources), len(world.journal), state["rv"]]


def _next_due(world: World, key: str) -> float:
    """When the clock alone next changes something: the kubelet's next pull attempt or
    back-off event, a Deployment's progress deadline, a CronJob's next schedule."""
    due = float((store.cluster_state(world, key).get("kubelet") or {}).get("next_due", 0.0))
    for dep in store.objects(world, key, "apps/deployments").values():
        for c in (dep.get("status") or {}).get("conditions") or []:
            if c["type"] == "Progressing" and c.get("reason") == "ReplicaSetUpdated":
                deadline = int(dep["spec"].get("progressDeadlineSeconds", 600))
                due = min(due, store.parse_time(c["lastUpdateTime"]) + deadline + 1)
    for cj in store.objects(world, key, "batch/cronjobs").values():
        if cj["spec"].get("suspend"):
            continue
        last = (cj.get("status") or {}).get("lastScheduleTime") or \
            cj["metadata"]["creationTimestamp"]
        try:
            due = min(due, cron.next_after(cj["spec"]["schedule"], store.parse_time(last)))
        except ValueError:
            continue
    return due
