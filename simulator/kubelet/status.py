"""What the kubelet writes to the API: container statuses, pod phase and conditions, and events
aggregated the way its event recorder does (same object, reason, type and message → one
event whose ``count`` and ``lastTimestamp`` move)."""

from __future__ import annotations

import hashlib
from typing import Any

from simulator.core.world import World
from simulator.kubernetes import store

Record = dict[str, Any]


def field_path(kind: str, name: str) -> str:
    return f"spec.{'initContainers' if kind == 'init' else 'containers'}{{{name}}}"


def emit(world: World, key: str, kst: dict[str, Any], pod: dict[str, Any], *, reason: str,
         message: str, type_: str = "Normal", path: str | None = None,
         component: str = "kubelet") -> None:
    meta = pod["metadata"]
    ns, now = meta.get("namespace", "default"), world.now()
    host = pod["spec"].get("nodeName", "")
    agg = "|".join((meta["uid"], component, reason, type_, path or "", message))
    ts = store.rfc3339(now)
    name = kst["events"].get(agg)
    existing = store.get(world, key, "events", name, ns) if name else None
    if existing is not None:
        existing["count"] = int(existing.get("count") or 1) + 1
        existing["lastTimestamp"] = ts
        store.put(world, key, "events", existing)
        return
    n = int(now * 1e9)
    while store.get(world, key, "events", f"{meta['name']}.{n:x}", ns) is not None:
        n += 1
    involved = {"kind": "Pod", "namespace": ns, "name": meta["name"], "uid": meta["uid"],
                "apiVersion": "v1", "resourceVersion": meta.get("resourceVersion", "")}
    if path:
        involved["fieldPath"] = path
    event = {
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": f"{meta['name']}.{n:x}", "namespace": ns},
        "involvedObject": involved, "reason": reason, "message": message,
        "source": {"component": component, **({"host": host} if component == "kubelet" else {})},
        "firstTimestamp": ts, "lastTimestamp": ts, "count": 1, "type": type_,
        "eventTime": None, "reportingComponent": component,
        "reportingInstance": host if component == "kubelet" else "",
    }
    store.put(world, key, "events", event)
    kst["events"][agg] = event["metadata"]["name"]


def waiting(c: dict[str, Any], reason: str, message: str | None = None) -> dict[str, Any]:
    state: dict[str, Any] = {"reason": reason}
    if message:
        state["message"] = message
    return {"name": c["name"], "state": {"waiting": state}, "lastState": {}, "ready": False,
            "restartCount": 0, "image": c.get("image", ""), "imageID": "", "started": False}


def running(c: dict[str, Any], rec: Record, *, init: bool) -> dict[str, Any]:
    started = store.rfc3339(rec["started_at"])
    base = {"name": c["name"], "lastState": {}, "restartCount": 0, "image": rec["image_ref"],
            "imageID": rec["image_id"], "containerID": f"containerd://{rec['container_id']}"}
    if init:
        return {**base, "ready": True, "started": False, "state": {"terminated": {
            "exitCode": 0, "reason": "Completed", "startedAt": started, "finishedAt": started,
            "containerID": base["containerID"]}}}
    return {**base, "ready": True, "started": True, "state": {"running": {"startedAt": started}}}


def container_id(uid: str, name: str, attempt: int) -> str:
    return hashlib.sha256(f"{uid}/{name}/{attempt}".encode()).hexdigest()


def _condition(old: list[dict[str, Any]], type_: str, ok: bool, now: str,
               reason: str | None = None, message: str | None = None) -> dict[str, Any]:
    status = "True" if ok else "False"
    prev = next((c for c in old if c.get("type") == type_), None)
    since = prev["lastTransitionTime"] if prev and prev.get("status") == status and prev.get(
        "lastTransitionTime") else now
    cond: dict[str, Any] = {"type": type_, "status": status, "lastProbeTime": None,
                            "lastTransitionTime": since}
    if not ok and reason:
        cond.update(reason=reason, message=message)
    return cond


def _names(statuses: list[dict[str, Any]], pred: Any) -> str:
    # Go's fmt of a []string: "[a b]"
    return "[" + " ".join(s["name"] for s in statuses if pred(s)) + "]"


def pod_status(world: World, pod: dict[str, Any], node: dict[str, Any] | None,
               init: list[dict[str, Any]], regular: list[dict[str, Any]],
               kubelet: tuple[int, int]) -> dict[str, Any]:
    """The pod's status as the kubelet reports it, keeping transition times that did not
    change."""
    old = dict(pod.get("status") or {})
    now = store.rfc3339(world.now())
    conds = old.get("conditions") or []
    initialized = all("terminated" in s["state"] for s in init)
    ready = initialized and all(s["ready"] for s in regular)
    out_conds = []
    if kubelet >= (1, 29):
        out_conds.append(_condition(conds, "PodReadyToStartContainers", True, now))
    out_conds += [
        _condition(conds, "Initialized", initialized, now, "ContainersNotInitialized",
                   "containers with incomplete status: " + _names(
                       init, lambda s: "terminated" not in s["state"])),
        _condition(conds, "Ready", ready, now, "ContainersNotReady",
                   "containers with unready status: " + _names(regular, lambda s: not s["ready"])),
        _condition(conds, "ContainersReady", ready, now, "ContainersNotReady",
                   "containers with unready status: " + _names(regular, lambda s: not s["ready"])),
        _condition(conds, "PodScheduled", True, now),
    ]
    host_ip = _host_ip(node, pod)
    pod_ip = host_ip if pod["spec"].get("hostNetwork") else _pod_ip(pod["metadata"]["uid"])
    status = {**old, "phase": "Running" if ready else "Pending", "conditions": out_conds,
              "hostIP": host_ip, "hostIPs": [{"ip": host_ip}], "podIP": pod_ip,
              "podIPs": [{"ip": pod_ip}], "startTime": old.get("startTime") or now,
              "containerStatuses": regular, "qosClass": old.get("qosClass") or _qos(pod)}
    if init:
        status["initContainerStatuses"] = init
    return status


def _host_ip(node: dict[str, Any] | None, pod: dict[str, Any]) -> str:
    for a in ((node or {}).get("status") or {}).get("addresses") or []:
        if a.get("type") == "InternalIP":
            return a["address"]
    h = hashlib.sha256(pod["spec"].get("nodeName", "").encode()).digest()
    return f"10.224.{h[0]}.{h[1] % 250 + 4}"


def _pod_ip(uid: str) -> str:
    h = hashlib.sha256(uid.encode()).digest()
    return f"10.244.{h[0]}.{h[1] % 250 + 2}"


def _qos(pod: dict[str, Any]) -> str:
    containers = (pod["spec"].get("containers") or []) + (pod["spec"].get("initContainers") or [])
    res = [c.get("resources") or {} for c in containers]
    if not any(r.get("requests") or r.get("limits") for r in res):
        return "BestEffort"
    guaranteed = all(
        (r.get("limits") or {}).get(k) and (r.get("requests") or {}).get(k, r["limits"][k])
        == r["limits"][k] for r in res for k in ("cpu", "memory"))
    return "Guaranteed" if guaranteed else "Burstable"
