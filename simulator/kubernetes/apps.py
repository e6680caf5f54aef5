"""The apps/v1 controllers for Deployments → ReplicaSets (``pod-template-hash``) → pods, with
the rolling update's maxSurge/maxUnavailable arithmetic, so a bad new template leaves the old
pods running and a fixed one replaces them. StatefulSets and DaemonSets: ``sets.py``."""

from __future__ import annotations

import math
from typing import Any

from simulator.core.world import World, clone
from simulator.kubernetes import pods, sets, store
from simulator.kubernetes.controllers import (
    active_pods,
    condition,
    create_pod,
    delete_pod,
    deletion_order,
    event,
    template_hash,
    write_status,
)


def _scaled(value: Any, total: int, up: bool) -> int:
    if isinstance(value, str) and value.endswith("%"):
        x = int(value[:-1]) * total / 100
        return math.ceil(x) if up else math.floor(x)
    return int(value or 0)


# -- ReplicaSet -----------------------------------------------------------------------------------
def reconcile_replicaset(world: World, key: str, rs: dict[str, Any]) -> None:
    want = int(rs["spec"].get("replicas", 1))
    have = active_pods(world, key, rs)
    if len(have) < want:
        for _ in range(want - len(have)):
            if create_pod(world, key, rs, rs["spec"]["template"]) is None:
                break
    elif len(have) > want:
        for pod in sorted(have, key=deletion_order)[: len(have) - want]:
            delete_pod(world, key, rs, pod)
    have = active_pods(world, key, rs)
    ready = sum(1 for p in have if pods.is_ready(p))
    write_status(world, key, "apps/replicasets", rs, {
        "replicas": len(have), "fullyLabeledReplicas": len(have), "readyReplicas": ready,
        "availableReplicas": ready, "observedGeneration": rs["metadata"].get("generation", 1)})


# -- Deployment -----------------------------------------------------------------------------------
def _new_replicaset(world: World, key: str, dep: dict[str, Any], h: str, revision: int,
                    replicas: int) -> dict[str, Any]:
    template = clone(dep["spec"]["template"])
    template.setdefault("metadata", {}).setdefault("labels", {})["pod-template-hash"] = h
    selector = clone(dep["spec"]["selector"])
    selector.setdefault("matchLabels", {})["pod-template-hash"] = h
    rs = {
        "apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": f"{dep['metadata']['name']}-{h}",
                     "namespace": dep["metadata"]["namespace"], "generation": 1,
                     "labels": dict(template["metadata"]["labels"]),
                     "annotations": {"deployment.kubernetes.io/desired-replicas":
                                     str(dep["spec"]["replicas"]),
                                     "deployment.kubernetes.io/max-replicas":
                                     str(dep["spec"]["replicas"] + 1),
                                     "deployment.kubernetes.io/revision": str(revision)},
                     "ownerReferences": [pods.owner_ref(dep)]},
        "spec": {"replicas": replicas, "selector": selector, "template": template},
        "status": {"replicas": 0},
    }
    store.put(world, key, "apps/replicasets", rs)
    return rs


def _scale(world: World, key: str, dep: dict[str, Any], rs: dict[str, Any], to: int) -> None:
    old = int(rs["spec"].get("replicas", 0))
    if old == to:
        return
    rs = {**rs, "spec": {**rs["spec"], "replicas": to},
          "metadata": {**rs["metadata"], "generation": rs["metadata"].get("generation", 1) + 1}}
    store.put(world, key, "apps/replicasets", rs)
    event(world, key, dep, "ScalingReplicaSet",
          f"Scaled {'up' if to > old else 'down'} replica set {rs['metadata']['name']} from "
          f"{old} to {to}")
    reconcile_replicaset(world, key, rs)


def _ready_count(world: World, key: str, rs: dict[str, Any]) -> int:
    return sum(1 for p in active_pods(world, key, rs) if pods.is_ready(p))


def reconcile_deployment(world: World, key: str, dep: dict[str, Any]) -> None:
    spec = dep["spec"]
    replicas = int(spec.get("replicas", 1))
    h = template_hash(spec["template"])
    owned = pods.owned_by(world, key, "apps/replicasets", dep)
    new = next((rs for rs in owned if rs["metadata"].get("labels", {}).get("pod-template-hash")
                == h), None)
    olds = [rs for rs in owned if rs is not new]
    revision = 1 + max([int(rs["metadata"].get("annotations", {}).get(
        "deployment.kubernetes.io/revision", "0")) for rs in owned] or [0])
    if spec.get("paused"):
        pass
    elif new is None:
        start = 0 if any(rs["spec"].get("replicas") for rs in olds) else replicas
        new = _new_replicaset(world, key, dep, h, revision, 0)
        if start:
            _scale(world, key, dep, new, start)
    elif olds and int(new["metadata"]["annotations"].get("deployment.kubernetes.io/revision", 0)) \
            < revision - 1:
        # rolled back to this template: it becomes the newest revision again
        new["metadata"]["annotations"]["deployment.kubernetes.io/revision"] = str(revision)
        store.put(world, key, "apps/replicasets", new)
    if new is not None and not spec.get("paused"):
        if (spec.get("strategy") or {}).get("type") == "Recreate":
            for rs in olds:
                _scale(world, key, dep, rs, 0)
            if not any(active_pods(world, key, rs) for rs in olds):
                _scale(world, key, dep, new, replicas)
        else:
            _roll(world, key, dep, new, olds, replicas)
    for rs in pods.owned_by(world, key, "apps/replicasets", dep):
        reconcile_replicaset(world, key, rs)
    _deployment_status(world, key, dep, new, replicas)


def _roll(world: World, key: str, dep: dict[str, Any], new: dict[str, Any],
          olds: list[dict[str, Any]], replicas: int) -> None:
    ru = (dep["spec"].get("strategy") or {}).get("rollingUpdate") or {}
    surge = _scaled(ru.get("maxSurge", "25%"), replicas, True)
    unavailable = _scaled(ru.get("maxUnavailable", "25%"), replicas, False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    old_total = sum(int(rs["spec"].get("replicas", 0)) for rs in olds)
    new_count = int(new["spec"].get("replicas", 0))
    if new_count > replicas or not olds:
        _scale(world, key, dep, new, replicas)
        new_count = replicas
    elif new_count < replicas:
        room = replicas + surge - (new_count + old_total)
        if room > 0:
            new_count = min(replicas, new_count + room)
            _scale(world, key, dep, new, new_count)
    # as the deployment controller: unhealthy old pods go first, within what availability
    # allows; then healthy old pods while more than the minimum are available
    min_available = replicas - unavailable
    all_count = new_count + old_total
    budget = all_count - min_available - (new_count - _ready_count(world, key, new))
    if budget <= 0:
        return
    for rs in sorted(olds, key=lambda r: r["metadata"]["creationTimestamp"]):
        cur = int(rs["spec"].get("replicas", 0))
        cut = min(budget, cur - _ready_count(world, key, rs))
        if cut > 0:
            _scale(world, key, dep, rs, cur - cut)
            budget -= cut
    owned = pods.owned_by(world, key, "apps/replicasets", dep)
    surplus = sum(_ready_count(world, key, rs) for rs in owned) - min_available
    for rs in sorted(olds, key=lambda r: r["metadata"]["creationTimestamp"]):
        rs = store.get(world, key, "apps/replicasets", rs["metadata"]["name"],
                       rs["metadata"]["namespace"]) or rs
        cur = int(rs["spec"].get("replicas", 0))
        if surplus > 0 and cur > 0:
            cut = min(cur, surplus)
            _scale(world, key, dep, rs, cur - cut)
            surplus -= cut


def _deployment_status(world: World, key: str, dep: dict[str, Any], new: dict[str, Any] | None,
                       replicas: int) -> None:
    owned = pods.owned_by(world, key, "apps/replicasets", dep)
    total = sum(len(active_pods(world, key, rs)) for rs in owned)
    ready = sum(_ready_count(world, key, rs) for rs in owned)
    updated = len(active_pods(world, key, new)) if new else 0
    new_ready = _ready_count(world, key, new) if new else 0
    ru = (dep["spec"].get("strategy") or {}).get("rollingUpdate") or {}
    min_available = replicas - _scaled(ru.get("maxUnavailable", "25%"), replicas, False)
    now = store.rfc3339(world.now())
    available = condition(dep, "Available", "True", "MinimumReplicasAvailable",
                          "Deployment has minimum availability.", now, True) \
        if ready >= min_available else \
        condition(dep, "Available", "False", "MinimumReplicasUnavailable",
                  "Deployment does not have minimum availability.", now, True)
    rs_name = new["metadata"]["name"] if new else dep["metadata"]["name"]
    if new is not None and new_ready >= replicas and total == replicas:
        progressing = condition(dep, "Progressing", "True", "NewReplicaSetAvailable",
                                f'ReplicaSet "{rs_name}" has successfully progressed.', now, True)
    else:
        progressing = condition(dep, "Progressing", "True", "ReplicaSetUpdated",
                                f'ReplicaSet "{rs_name}" is progressing.', now, True)
        deadline = int(dep["spec"].get("progressDeadlineSeconds", 600))
        started = store.parse_time(progressing["lastUpdateTime"])
        if world.now() - started > deadline:
            progressing = condition(dep, "Progressing", "False", "ProgressDeadlineExceeded",
                                    f'ReplicaSet "{rs_name}" has timed out progressing.', now,
                                    True)
    write_status(world, key, "apps/deployments", dep, {
        "observedGeneration": dep["metadata"].get("generation", 1), "replicas": total,
        "updatedReplicas": updated, "readyReplicas": ready, "availableReplicas": ready,
        "unavailableReplicas": max(0, replicas - ready),
        "conditions": [available, progressing]})


def reconcile_all(world: World, key: str) -> None:
    for dep in list(store.objects(world, key, "apps/deployments").values()):
        reconcile_deployment(world, key, dep)
    for rs in list(store.objects(world, key, "apps/replicasets").values()):
        if not pods.controller_of(rs):
            reconcile_replicaset(world, key, rs)
    for sts in list(store.objects(world, key, "apps/statefulsets").values()):
        sets.reconcile_statefulset(world, key, sts)
    for ds in list(store.objects(world, key, "apps/daemonsets").values()):
        sets.reconcile_daemonset(world, key, ds)
