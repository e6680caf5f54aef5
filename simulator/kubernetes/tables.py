"""Server-side ``meta.k8s.io/v1`` Table output — the columns and cell text of the API server's
printers (``pkg/printers/internalversion``), so ``kubectl get`` prints what it prints against
a real cluster (including ``ImagePullBackOff`` / ``Init:ErrImagePull`` in STATUS)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from simulator.kubernetes import store
from simulator.kubernetes.selectors import selector_text

Row = list[Any]


def human_duration(seconds: float) -> str:
    """``k8s.io/apimachinery/pkg/util/duration.HumanDuration``."""
    s = int(seconds)
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 120:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        return f"{minutes}m" if s % 60 == 0 else f"{minutes}m{s % 60}s"
    if minutes < 180:
        return f"{minutes}m"
    hours = s // 3600
    if hours < 8:
        return f"{hours}h" if minutes % 60 == 0 else f"{hours}h{minutes % 60}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return f"{hours // 24}d" if hours % 24 == 0 else f"{hours // 24}d{hours % 24}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        dy = (hours // 24) % 365
        return f"{hours // 24 // 365}y" if dy == 0 else f"{hours // 24 // 365}y{dy}d"
    return f"{hours // 24 // 365}y"


def since(ts: str | None, now: float) -> str:
    return human_duration(now - store.parse_time(ts)) if ts else "<unknown>"


def _col(name: str, type_: str = "string", priority: int = 0, fmt: str = "") -> dict[str, Any]:
    return {"name": name, "type": type_, "format": fmt, "description": "", "priority": priority}


NAME = _col("Name", fmt="name")
AGE = _col("Age")


def _containers(spec: dict[str, Any]) -> tuple[str, str]:
    cs = spec.get("containers") or []
    return ",".join(c["name"] for c in cs), ",".join(c.get("image", "") for c in cs)


def pod_status_text(pod: dict[str, Any]) -> tuple[str, int, int, str | None]:
    """(STATUS, ready containers, restarts, last restart time) as ``printPod`` computes them."""
    status = pod.get("status") or {}
    spec = pod["spec"]
    reason = status.get("reason") or status.get("phase") or ""
    restarts, ready, last = 0, 0, None
    initializing = False
    inits = status.get("initContainerStatuses") or []
    for i, c in enumerate(inits):
        restarts += c.get("restartCount", 0)
        state = c.get("state") or {}
        term, wait = state.get("terminated"), state.get("waiting")
        if term and term.get("exitCode") == 0:
            continue
        if term:
            reason = "Init:" + term["reason"] if term.get("reason") else (
                f"Init:Signal:{term['signal']}" if term.get("signal")
                else f"Init:ExitCode:{term.get('exitCode')}")
        elif wait and wait.get("reason") and wait["reason"] != "PodInitializing":
            reason = "Init:" + wait["reason"]
        else:
            reason = f"Init:{i}/{len(spec.get('initContainers') or [])}"
        initializing = True
        break
    initialized = any(c.get("type") == "Initialized" and c.get("status") == "True"
                      for c in status.get("conditions") or [])
    if not initializing or initialized:
        restarts, has_running = 0, False
        for c in reversed(status.get("containerStatuses") or []):
            restarts += c.get("restartCount", 0)
            fin = ((c.get("lastState") or {}).get("terminated") or {}).get("finishedAt")
            if fin and (last is None or fin > last):
                last = fin
            state = c.get("state") or {}
            term, wait = state.get("terminated"), state.get("waiting")
            if wait and wait.get("reason"):
                reason = wait["reason"]
            elif term and term.get("reason"):
                reason = term["reason"]
            elif term:
                reason = f"Signal:{term['signal']}" if term.get("signal") else \
                    f"ExitCode:{term.get('exitCode')}"
            elif c.get("ready") and state.get("running"):
                has_running = True
                ready += 1
        if reason == "Completed" and has_running:
            ready_cond = any(c.get("type") == "Ready" and c.get("status") == "True"
                             for c in status.get("conditions") or [])
            reason = "Running" if ready_cond else "NotReady"
    if pod["metadata"].get("deletionTimestamp"):
        reason = "Unknown" if status.get("reason") == "NodeLost" else \
            reason if status.get("phase") in ("Succeeded", "Failed") else "Terminating"
    return reason, ready, restarts, last


def _pod(pod: dict[str, Any], now: float) -> Row:
    reason, ready, restarts, last = pod_status_text(pod)
    total = len(pod["spec"].get("containers") or [])
    restart_text = str(restarts) if not last else f"{restarts} ({since(last, now)} ago)"
    status = pod.get("status") or {}
    gates = pod["spec"].get("readinessGates") or []
    return [pod["metadata"]["name"], f"{ready}/{total}", reason, restart_text,
            since(pod["metadata"].get("creationTimestamp"), now), status.get("podIP") or "<none>",
            pod["spec"].get("nodeName") or "<none>", status.get("nominatedNodeName") or "<none>",
            f"{len(gates)}/{len(gates)}" if gates else "<none>"]


def _node(node: dict[str, Any], now: float) -> Row:
    st = node["status"]
    ready = next((c["status"] for c in st.get("conditions") or [] if c["type"] == "Ready"), None)
    status = "Ready" if ready == "True" else "NotReady" if ready else "Unknown"
    if node["spec"].get("unschedulable"):
        status += ",SchedulingDisabled"
    roles = sorted(k.split("/", 1)[1] for k in node["metadata"].get("labels") or {}
                   if k.startswith("node-role.kubernetes.io/"))
    addr = {a["type"]: a["address"] for a in st.get("addresses") or []}
    info = st.get("nodeInfo") or {}
    return [node["metadata"]["name"], status, ",".join(roles) or "<none>",
            since(node["metadata"].get("creationTimestamp"), now), info.get("kubeletVersion", ""),
            addr.get("InternalIP", "<none>"), addr.get("ExternalIP", "<none>"),
            info.get("osImage", "<unknown>"), info.get("kernelVersion", "<unknown>"),
            info.get("containerRuntimeVersion", "<unknown>")]


def _workload_tail(obj: dict[str, Any]) -> list[str]:
    names, images = _containers(((obj["spec"].get("template") or {}).get("spec")) or {})
    return [names, images, selector_text(obj["spec"].get("selector")) or "<none>"]


def _deployment(d: dict[str, Any], now: float) -> Row:
    st = d.get("status") or {}
    return [d["metadata"]["name"], f"{st.get('readyReplicas', 0)}/{d['spec'].get('replicas', 1)}",
            st.get("updatedReplicas", 0), st.get("availableReplicas", 0),
            since(d["metadata"].get("creationTimestamp"), now), *_workload_tail(d)]


def _replicaset(rs: dict[str, Any], now: float) -> Row:
    st = rs.get("status") or {}
    return [rs["metadata"]["name"], rs["spec"].get("replicas", 1), st.get("replicas", 0),
            st.get("readyReplicas", 0), since(rs["metadata"].get("creationTimestamp"), now),
            *_workload_tail(rs)]


def _statefulset(s: dict[str, Any], now: float) -> Row:
    st = s.get("status") or {}
    return [s["metadata"]["name"], f"{st.get('readyReplicas', 0)}/{s['spec'].get('replicas', 1)}",
            since(s["metadata"].get("creationTimestamp"), now), *_workload_tail(s)[:2]]


def _daemonset(ds: dict[str, Any], now: float) -> Row:
    st = ds.get("status") or {}
    sel = ((ds["spec"].get("template") or {}).get("spec") or {}).get("nodeSelector") or {}
    return [ds["metadata"]["name"], st.get("desiredNumberScheduled", 0),
            st.get("currentNumberScheduled", 0), st.get("numberReady", 0),
            st.get("updatedNumberScheduled", 0), st.get("numberAvailable", 0),
            ",".join(f"{k}={v}" for k, v in sorted(sel.items())) or "<none>",
            since(ds["metadata"].get("creationTimestamp"), now), *_workload_tail(ds)]


def _job(j: dict[str, Any], now: float) -> Row:
    st = j.get("status") or {}
    conds = {c["type"]: c["status"] for c in st.get("conditions") or []}
    status = "Complete" if conds.get("Complete") == "True" else "Failed" if \
        conds.get("Failed") == "True" else "Suspended" if j["spec"].get("suspend") else "Running"
    end = st.get("completionTime")
    duration = human_duration((store.parse_time(end) if end else now) -
                              store.parse_time(st["startTime"])) if st.get("startTime") else ""
    return [j["metadata"]["name"], status,
            f"{st.get('succeeded', 0)}/{j['spec'].get('completions', 1)}", duration,
            since(j["metadata"].get("creationTimestamp"), now), *_workload_tail(j)]


def _cronjob(cj: dict[str, Any], now: float) -> Row:
    st = cj.get("status") or {}
    tpl = cj["spec"]["jobTemplate"]["spec"]
    names, images = _containers((tpl.get("template") or {}).get("spec") or {})
    return [cj["metadata"]["name"], cj["spec"]["schedule"], cj["spec"].get("timeZone") or "<none>",
            str(bool(cj["spec"].get("suspend"))), len(st.get("active") or []),
            since(st.get("lastScheduleTime"), now) if st.get("lastScheduleTime") else "<none>",
            since(cj["metadata"].get("creationTimestamp"), now), names, images,
            selector_text(tpl.get("selector")) or "<none>"]


def _event(e: dict[str, Any], now: float) -> Row:
    first = since(e.get("firstTimestamp") or None, now) if e.get("firstTimestamp") else "<unknown>"
    last = since(e["lastTimestamp"], now) if e.get("lastTimestamp") else first
    io = e["involvedObject"]
    target = f"{io.get('kind', '').lower()}/{io['name']}" if io.get("name") else \
        io.get("kind", "").lower()
    src = e.get("source") or {}
    source = src.get("component", "") + (f", {src['host']}" if src.get("host") else "")
    return [last, e.get("type", ""), e.get("reason", ""), target, io.get("fieldPath", ""), source,
            (e.get("message") or "").strip(), first, e.get("count") or 1, e["metadata"]["name"]]


def _secret(s: dict[str, Any], now: float) -> Row:
    return [s["metadata"]["name"], s.get("type", "Opaque"), len(s.get("data") or {}),
            since(s["metadata"].get("creationTimestamp"), now)]


def _namespace(n: dict[str, Any], now: float) -> Row:
    return [n["metadata"]["name"], (n.get("status") or {}).get("phase", "Active"),
            since(n["metadata"].get("creationTimestamp"), now)]


def _serviceaccount(sa: dict[str, Any], now: float) -> Row:
    return [sa["metadata"]["name"], len(sa.get("secrets") or []),
            since(sa["metadata"].get("creationTimestamp"), now)]


WIDE_TAIL = [_col("Containers", priority=1), _col("Images", priority=1),
             _col("Selector", priority=1)]
PRINTERS: dict[str, tuple[list[dict[str, Any]], Callable[[dict[str, Any], float], Row]]] = {
    "pods": ([NAME, _col("Ready"), _col("Status"), _col("Restarts"), AGE, _col("IP", priority=1),
              _col("Node", priority=1), _col("Nominated Node", priority=1),
              _col("Readiness Gates", priority=1)], _pod),
    "nodes": ([NAME, _col("Status"), _col("Roles"), AGE, _col("Version"),
               _col("Internal-IP", priority=1), _col("External-IP", priority=1),
               _col("OS-Image", priority=1), _col("Kernel-Version", priority=1),
               _col("Container-Runtime", priority=1)], _node),
    "apps/deployments": ([NAME, _col("Ready"), _col("Up-to-date", "integer"),
                          _col("Available", "integer"), AGE, *WIDE_TAIL], _deployment),
    "apps/replicasets": ([NAME, _col("Desired", "integer"), _col("Current", "integer"),
                          _col("Ready", "integer"), AGE, *WIDE_TAIL], _replicaset),
    "apps/statefulsets": ([NAME, _col("Ready"), AGE, *WIDE_TAIL[:2]], _statefulset),
    "apps/daemonsets": ([NAME, _col("Desired", "integer"), _col("Current", "integer"),
                         _col("Ready", "integer"), _col("Up-to-date", "integer"),
                         _col("Available", "integer"), _col("Node Selector"), AGE, *WIDE_TAIL],
                        _daemonset),
    "batch/jobs": ([NAME, _col("Status"), _col("Completions"), _col("Duration"), AGE, *WIDE_TAIL],
                   _job),
    "batch/cronjobs": ([NAME, _col("Schedule"), _col("Timezone"), _col("Suspend"),
                        _col("Active", "integer"), _col("Last Schedule"), AGE, *WIDE_TAIL],
                       _cronjob),
    "events": ([_col("Last Seen"), _col("Type"), _col("Reason"), _col("Object"),
                _col("Subobject", priority=1), _col("Source", priority=1), _col("Message"),
                _col("First Seen", priority=1), _col("Count", "integer", 1),
                _col("Name", priority=1)], _event),
    "secrets": ([NAME, _col("Type"), _col("Data", "integer"), AGE], _secret),
    "namespaces": ([NAME, _col("Status"), AGE], _namespace),
    "serviceaccounts": ([NAME, _col("Secrets", "integer"), AGE], _serviceaccount),
}


def wants_table(accept: str) -> bool:
    return "as=table" in accept.replace(" ", "").lower()


def table(store_key: str, objs: list[dict[str, Any]], now: float, list_meta: dict[str, Any],
          include: str | None, api_version: str, kind: str) -> dict[str, Any]:
    columns, printer = PRINTERS[store_key]
    rows = []
    for obj in objs:
        row: dict[str, Any] = {"cells": printer(obj, now)}
        if include == "Object":
            row["object"] = {"apiVersion": api_version, "kind": kind, **obj}
        elif include != "None":
            row["object"] = {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                             "metadata": obj["metadata"]}
        rows.append(row)
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": list_meta,
            "columnDefinitions": columns, "rows": rows}
