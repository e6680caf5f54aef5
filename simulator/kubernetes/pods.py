"""Pods as the control plane handles them: creation (defaulting, ServiceAccount admission),
scheduling to a node whose labels match ``nodeSelector`` / required node affinity and whose
taints the pod tolerates (else ``PodScheduled=False`` and a ``FailedScheduling`` event), and
the pod garbage collector (pods bound to a node that is gone, pods whose owner is gone).

Pods are created ``Pending`` without container statuses; the kubelet (``simulator.kubelet``)
writes the rest of ``status``.
"""

from __future__ import annotations

from typing import Any

from simulator.core.world import World, clone
from simulator.kubernetes import defaults, events, nodes, store
from simulator.kubernetes.errors import already_exists, status_error


def is_ready(pod: dict[str, Any]) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (pod.get("status") or {}).get("conditions") or [])


def is_terminal(pod: dict[str, Any]) -> bool:
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")


def controller_of(obj: dict[str, Any]) -> dict[str, Any] | None:
    return next((r for r in obj["metadata"].get("ownerReferences") or [] if r.get("controller")),
                None)


def owned_by(world: World, key: str, resource: str, owner: dict[str, Any]) -> list[dict[str, Any]]:
    uid = owner["metadata"]["uid"]
    return [o for o in store.objects(world, key, resource).values()
            if (controller_of(o) or {}).get("uid") == uid]


def owner_ref(owner: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": owner["apiVersion"], "kind": owner["kind"],
            "name": owner["metadata"]["name"], "uid": owner["metadata"]["uid"],
            "controller": True, "blockOwnerDeletion": True}


def namespace_exists(world: World, key: str, ns: str) -> bool:
    return store.get(world, key, "namespaces", ns) is not None


def create(world: World, key: str, pod: dict[str, Any], *, dry_run: bool = False
           ) -> dict[str, Any]:
    """Create a pod as the API server does (raises the server's errors)."""
    pod = clone(pod)
    pod["apiVersion"], pod["kind"] = "v1", "Pod"
    meta = pod.setdefault("metadata", {})
    ns = meta.setdefault("namespace", "default")
    if not namespace_exists(world, key, ns):
        raise status_error(404, f'namespaces "{ns}" not found', "NotFound",
                           {"name": ns, "kind": "namespaces"})
    if not meta.get("name") and meta.get("generateName"):
        meta["name"] = meta["generateName"] + defaults.random_suffix()
    if not meta.get("name"):
        raise status_error(422, "Pod \"\" is invalid: metadata.name: Required value: name or "
                           "generateName is required", "Invalid")
    if store.get(world, key, "pods", meta["name"], ns):
        raise already_exists("", "pods", meta["name"])
    pod["status"] = {}
    pod["spec"] = pod.get("spec") or {}
    bound = pod["spec"].get("nodeName")
    defaults.default_and_validate(pod)
    sa = store.get(world, key, "serviceaccounts", pod["spec"]["serviceAccountName"], ns)
    defaults.admit_pod(pod, sa)
    if dry_run:
        return pod
    store.put(world, key, "pods", pod)
    if bound:
        _bind(world, key, pod, bound, event=False)
    else:
        schedule(world, key, pod)
    return pod


# -- scheduling -----------------------------------------------------------------------------------
def _term_matches(term: dict[str, Any], node: dict[str, Any]) -> bool:
    labels = node["metadata"].get("labels") or {}
    for expr in term.get("matchExpressions") or []:
        if not _expr(expr, labels.get(expr["key"]), expr["key"] in labels):
            return False
    for expr in term.get("matchFields") or []:
        value = node["metadata"]["name"] if expr["key"] == "metadata.name" else None
        if not _expr(expr, value, value is not None):
            return False
    return True


def _expr(expr: dict[str, Any], value: str | None, present: bool) -> bool:
    op, vals = expr["operator"], expr.get("values") or []
    if op == "In":
        return present and value in vals
    if op == "NotIn":
        return not present or value not in vals
    if op == "Exists":
        return present
    if op == "DoesNotExist":
        return not present
    if op in ("Gt", "Lt") and present and value is not None and value.isdigit():
        return int(value) > int(vals[0]) if op == "Gt" else int(value) < int(vals[0])
    return False


def _selector_fits(pod: dict[str, Any], node: dict[str, Any]) -> bool:
    labels = node["metadata"].get("labels") or {}
    if any(labels.get(k) != v for k, v in (pod["spec"].get("nodeSelector") or {}).items()):
        return False
    required = (((pod["spec"].get("affinity") or {}).get("nodeAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution") or {})
    terms = required.get("nodeSelectorTerms") or []
    return not terms or any(_term_matches(t, node) for t in terms)


def _untolerated(pod: dict[str, Any], node: dict[str, Any]) -> dict[str, Any] | None:
    for taint in node["spec"].get("taints") or []:
        if taint.get("effect") not in ("NoSchedule", "NoExecute"):
            continue
        if not any(_tolerates(t, taint) for t in pod["spec"].get("tolerations") or []):
            return taint
    return None


def _tolerates(tol: dict[str, Any], taint: dict[str, Any]) -> bool:
    if tol.get("effect") and tol["effect"] != taint.get("effect"):
        return False
    if tol.get("operator") == "Exists":
        return not tol.get("key") or tol["key"] == taint["key"]
    return tol.get("key") == taint["key"] and tol.get("value", "") == taint.get("value", "")


def _pods_on(world: World, key: str) -> dict[str, int]:
    count: dict[str, int] = {}
    for p in store.objects(world, key, "pods").values():
        n = p["spec"].get("nodeName")
        if n and not is_terminal(p):
            count[n] = count.get(n, 0) + 1
    return count


def schedule(world: World, key: str, pod: dict[str, Any]) -> bool:
    """Bind an unbound pod to the least-loaded fitting node (pool order breaks ties)."""
    all_nodes = nodes.ordered(world, key)
    load = _pods_on(world, key)
    fit, affinity, taints, full, not_ready = [], 0, {}, 0, 0
    for node in all_nodes:
        name = node["metadata"]["name"]
        if not nodes.is_ready(node):
            not_ready += 1
        elif not _selector_fits(pod, node):
            affinity += 1
        elif (t := _untolerated(pod, node)) is not None:
            text = f"{{{t['key']}: {t.get('value', '')}}}" if t.get("value") else f"{{{t['key']}}}"
            taints[text] = taints.get(text, 0) + 1
        elif load.get(name, 0) >= int(node["status"]["allocatable"].get("pods", "110")):
            full += 1
        else:
            fit.append(node)
    if fit:
        best = min(fit, key=lambda n: load.get(n["metadata"]["name"], 0))
        _bind(world, key, pod, best["metadata"]["name"])
        return True
    total = len(all_nodes)
    if total == 0:
        message = "no nodes available to schedule pods"
    else:
        reasons = [f"{n} node(s) didn't match Pod's node affinity/selector" if what == "a" else
                   f"{n} node(s) had untolerated taint {what}" if what.startswith("{") else
                   f"{n} Too many pods" if what == "f" else f"{n} node(s) were not ready"
                   for what, n in [("a", affinity), *taints.items(), ("f", full),
                                   ("r", not_ready)] if n]
        message = (f"0/{total} nodes are available: {', '.join(sorted(reasons))}. preemption: "
                   f"0/{total} nodes are available: {total} Preemption is not helpful for "
                   "scheduling.")
    _unschedulable(world, key, pod, message)
    return False


def _set_condition(pod: dict[str, Any], cond: dict[str, Any]) -> bool:
    conds = pod.setdefault("status", {}).setdefault("conditions", [])
    for i, c in enumerate(conds):
        if c["type"] == cond["type"]:
            if (c["status"], c.get("reason"), c.get("message")) == \
                    (cond["status"], cond.get("reason"), cond.get("message")):
                return False
            conds[i] = cond
            return True
    conds.append(cond)
    return True


def _unschedulable(world: World, key: str, pod: dict[str, Any], message: str) -> None:
    now = store.rfc3339(world.now())
    changed = _set_condition(pod, {"type": "PodScheduled", "status": "False",
                                   "lastProbeTime": None, "lastTransitionTime": now,
                                   "reason": "Unschedulable", "message": message})
    if changed:
        store.put(world, key, "pods", pod)
    events.record(world, key, pod, type_="Warning", reason="FailedScheduling", message=message,
                  component="default-scheduler", bump=False)


def _bind(world: World, key: str, pod: dict[str, Any], node: str, event: bool = True) -> None:
    pod["spec"]["nodeName"] = node
    now = store.rfc3339(world.now())
    _set_condition(pod, {"type": "PodScheduled", "status": "True", "lastProbeTime": None,
                         "lastTransitionTime": now})
    store.put(world, key, "pods", pod)
    if event:
        events.record(world, key, pod, type_="Normal", reason="Scheduled",
                      message=f"Successfully assigned {pod['metadata']['namespace']}/"
                              f"{pod['metadata']['name']} to {node}",
                      component="default-scheduler")


def schedule_pending(world: World, key: str) -> None:
    for pod in list(store.objects(world, key, "pods").values()):
        if not pod["spec"].get("nodeName") and not is_terminal(pod):
            schedule(world, key, pod)


# -- garbage collection ---------------------------------------------------------------------------
def collect_garbage(world: World, key: str) -> None:
    """Delete pods bound to nodes that no longer exist (the pod GC) and objects whose
    controlling owner is gone (the garbage collector, background propagation)."""
    node_names = set(store.objects(world, key, "nodes"))
    for pod in list(store.objects(world, key, "pods").values()):
        n = pod["spec"].get("nodeName")
        if n and n not in node_names:
            store.delete(world, key, "pods", pod["metadata"]["name"], pod["metadata"]["namespace"])
    changed = True
    while changed:
        changed = False
        uids = {o["metadata"]["uid"] for objs in store.cluster_state(world, key)["objects"].values()
                for o in objs.values()}
        for resource in ("apps/replicasets", "batch/jobs", "pods"):
            for obj in list(store.objects(world, key, resource).values()):
                ref = controller_of(obj)
                if ref and ref["uid"] not in uids:
                    m = obj["metadata"]
                    store.delete(world, key, resource, m["name"], m.get("namespace"))
                    changed = True
