"""The StatefulSet controller (ordinal pods; OrderedReady: a pod that never becomes Ready
blocks the next ordinal and the rolling update, so fixing the template alone does not replace
a broken pod — as documented upstream) and the DaemonSet controller (one pod per node whose
labels match; old-revision pods that are unavailable are replaced right away)."""

from __future__ import annotations

from typing import Any

from simulator.core.world import World
from simulator.kubernetes import nodes, pods
from simulator.kubernetes.controllers import (
    active_pods,
    create_pod,
    delete_pod,
    template_hash,
    write_status,
)


def _scaled(value: Any, total: int) -> int:
    if isinstance(value, str) and value.endswith("%"):
        return -(-int(value[:-1]) * total // 100)
    return int(value or 0)


# -- StatefulSet ----------------------------------------------------------------------------------
def reconcile_statefulset(world: World, key: str, sts: dict[str, Any]) -> None:
    name, spec = sts["metadata"]["name"], sts["spec"]
    revision = f"{name}-{template_hash(spec['template'])}"
    replicas = int(spec.get("replicas", 1))
    ordered = spec.get("podManagementPolicy", "OrderedReady") == "OrderedReady"
    have = {p["metadata"]["name"]: p for p in active_pods(world, key, sts)}
    blocked = False
    for i in range(replicas):
        pod_name = f"{name}-{i}"
        pod = have.get(pod_name)
        if pod is None:
            labels = {"controller-revision-hash": revision,
                      "statefulset.kubernetes.io/pod-name": pod_name,
                      "apps.kubernetes.io/pod-index": str(i)}
            extra = {"hostname": pod_name}
            if spec.get("serviceName"):
                extra["subdomain"] = spec["serviceName"]
            created = create_pod(world, key, sts, spec["template"], name=pod_name, labels=labels,
                                 spec_extra=extra)
            blocked = True
            if ordered or created is None:
                break
        elif ordered and not pods.is_ready(pod):
            blocked = True
            break
    for pod_name, pod in sorted(have.items(), key=lambda kv: -_ordinal(kv[0])):
        if _ordinal(pod_name) >= replicas:
            delete_pod(world, key, sts, pod)
            blocked = True
            if ordered:
                break
    if not blocked:
        # rolling update: the highest ordinal still on an old revision, once all are Ready
        current = active_pods(world, key, sts)
        stale = [p for p in current if p["metadata"]["labels"].get("controller-revision-hash")
                 != revision]
        if stale and all(pods.is_ready(p) for p in current):
            delete_pod(world, key, sts, max(stale, key=lambda p: _ordinal(p["metadata"]["name"])))
    current = active_pods(world, key, sts)
    updated = [p for p in current
               if p["metadata"]["labels"].get("controller-revision-hash") == revision]
    ready = sum(1 for p in current if pods.is_ready(p))
    cur_rev = (sts.get("status") or {}).get("currentRevision") or revision
    if len(updated) == replicas == len(current):
        cur_rev = revision
    write_status(world, key, "apps/statefulsets", sts, {
        "observedGeneration": sts["metadata"].get("generation", 1), "replicas": len(current),
        "readyReplicas": ready, "currentReplicas": len(current) - len(updated)
        if cur_rev != revision else len(current), "updatedReplicas": len(updated),
        "currentRevision": cur_rev, "updateRevision": revision, "collisionCount": 0,
        "availableReplicas": ready})


def _ordinal(pod_name: str) -> int:
    tail = pod_name.rsplit("-", 1)[-1]
    return int(tail) if tail.isdigit() else -1


# -- DaemonSet ------------------------------------------------------------------------------------
DS_TOLERATIONS = [{"key": f"node.kubernetes.io/{k}", "operator": "Exists", "effect": e}
                  for k, e in (("not-ready", "NoExecute"), ("unreachable", "NoExecute"),
                               ("disk-pressure", "NoSchedule"), ("memory-pressure", "NoSchedule"),
                               ("pid-pressure", "NoSchedule"), ("unschedulable", "NoSchedule"))]


def reconcile_daemonset(world: World, key: str, ds: dict[str, Any]) -> None:
    spec = ds["spec"]
    tpl = spec["template"]
    revision = template_hash(tpl)
    selector = tpl["spec"].get("nodeSelector") or {}
    eligible = [n for n in nodes.ordered(world, key)
                if all((n["metadata"].get("labels") or {}).get(k) == v
                       for k, v in selector.items())]
    have: dict[str, list[dict[str, Any]]] = {}
    for p in active_pods(world, key, ds):
        node = _ds_node(p)
        have.setdefault(node, []).append(p)
    eligible_names = {n["metadata"]["name"] for n in eligible}
    for node, ps in have.items():
        if node not in eligible_names:
            for p in ps:
                delete_pod(world, key, ds, p)
    max_unavailable = _scaled(((spec.get("updateStrategy") or {}).get("rollingUpdate") or {})
                              .get("maxUnavailable", 1), len(eligible)) or 1
    unavailable = sum(1 for n in eligible_names for p in have.get(n, []) if not pods.is_ready(p))
    unavailable += sum(1 for n in eligible_names if not have.get(n))
    for node in eligible:
        name = node["metadata"]["name"]
        ps = have.get(name, [])
        stale = [p for p in ps if p["metadata"]["labels"].get("controller-revision-hash") != revision]
        on_update = (spec.get("updateStrategy") or {}).get("type", "RollingUpdate") == "RollingUpdate"
        for p in stale if on_update else []:
            if not pods.is_ready(p):
                delete_pod(world, key, ds, p)
                ps.remove(p)
            elif unavailable < max_unavailable:
                delete_pod(world, key, ds, p)
                ps.remove(p)
                unavailable += 1
        if not ps:
            affinity = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [{"matchFields": [{"key": "metadata.name", "operator": "In",
                                                        "values": [name]}]}]}}}
            tolerations = [*(tpl["spec"].get("tolerations") or []), *DS_TOLERATIONS]
            create_pod(world, key, ds, tpl, labels={
                "controller-revision-hash": revision,
                "pod-template-generation": str(ds["metadata"].get("generation", 1))},
                spec_extra={"affinity": affinity, "tolerations": tolerations})
    current = active_pods(world, key, ds)
    ready = sum(1 for p in current if pods.is_ready(p))
    updated = sum(1 for p in current if p["metadata"]["labels"].get("controller-revision-hash")
                  == revision)
    write_status(world, key, "apps/daemonsets", ds, {
        "currentNumberScheduled": len(current), "desiredNumberScheduled": len(eligible),
        "numberMisscheduled": 0, "numberReady": ready, "numberAvailable": ready,
        "numberUnavailable": max(0, len(eligible) - ready), "updatedNumberScheduled": updated,
        "observedGeneration": ds["metadata"].get("generation", 1)})


def _ds_node(pod: dict[str, Any]) -> str:
    terms = (((pod["spec"].get("affinity") or {}).get("nodeAffinity") or {})
             .get("requiredDuringSchedulingIgnoredDuringExecution") or {}).get(
        "nodeSelectorTerms") or [{}]
    for f in terms[0].get("matchFields") or []:
        if f["key"] == "metadata.name":
            return f["values"][0]
    return pod["spec"].get("nodeName") or ""
