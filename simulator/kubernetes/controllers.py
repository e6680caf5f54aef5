"""Shared pieces of the workload controllers: pods from a template, owner references,
template hashes, status writes that only happen when something changed, and the events
controllers record (``SuccessfulCreate``, ``FailedCreate`` ...)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from simulator.core.world import World, clone
from simulator.kubernetes import defaults, events, pods, store
from simulator.kubernetes.errors import CloudError

COMPONENTS = {"ReplicaSet": "replicaset-controller", "Deployment": "deployment-controller",
              "StatefulSet": "statefulset-controller", "DaemonSet": "daemonset-controller",
              "Job": "job-controller", "CronJob": "cronjob-controller"}


def template_hash(template: dict[str, Any], n: int = 10) -> str:
    digest = int(hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest(), 16)
    out = ""
    for _ in range(n):
        digest, r = divmod(digest, len(defaults.ALPHABET))
        out += defaults.ALPHABET[r]
    return out


def event(world: World, key: str, owner: dict[str, Any], reason: str, message: str,
          type_: str = "Normal") -> None:
    events.record(world, key, owner, type_=type_, reason=reason, message=message,
                  component=COMPONENTS[owner["kind"]])


def create_pod(world: World, key: str, owner: dict[str, Any], template: dict[str, Any], *,
               name: str | None = None, labels: dict[str, str] | None = None,
               spec_extra: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """Create a pod from ``template`` owned by ``owner``; on refusal (e.g. the service account
    is missing) record ``FailedCreate`` on the owner as the controller does and return None."""
    meta = template.get("metadata") or {}
    pod = {
        "metadata": {
            "namespace": owner["metadata"]["namespace"],
            "labels": {**(meta.get("labels") or {}), **(labels or {})},
            "ownerReferences": [pods.owner_ref(owner)],
        },
        "spec": {**clone(template.get("spec") or {}), **(spec_extra or {})},
    }
    if meta.get("annotations"):
        pod["metadata"]["annotations"] = dict(meta["annotations"])
    if name:
        pod["metadata"]["name"] = name
    else:
        pod["metadata"]["generateName"] = owner["metadata"]["name"] + "-"
    try:
        created = pods.create(world, key, pod)
    except CloudError as exc:
        event(world, key, owner, "FailedCreate", f"Error creating: {exc.body.get('message')}",
              "Warning")
        return None
    if owner["kind"] == "StatefulSet":
        event(world, key, owner, "SuccessfulCreate",
              f"create Pod {created['metadata']['name']} in StatefulSet "
              f"{owner['metadata']['name']} successful")
    else:
        event(world, key, owner, "SuccessfulCreate", f"Created pod: {created['metadata']['name']}")
    return created


def delete_pod(world: World, key: str, owner: dict[str, Any], pod: dict[str, Any]) -> None:
    m = pod["metadata"]
    store.delete(world, key, "pods", m["name"], m["namespace"])
    if owner["kind"] == "StatefulSet":
        event(world, key, owner, "SuccessfulDelete",
              f"delete Pod {m['name']} in StatefulSet {owner['metadata']['name']} successful")
    else:
        event(world, key, owner, "SuccessfulDelete", f"Deleted pod: {m['name']}")


def write_status(world: World, key: str, resource: str, obj: dict[str, Any],
                 status: dict[str, Any]) -> None:
    status = {k: v for k, v in status.items() if v not in (None, 0, [], {}) or k in
              ("replicas", "currentNumberScheduled", "desiredNumberScheduled",
               "numberMisscheduled", "numberReady")}
    if obj.get("status") != status:
        store.put(world, key, resource, {**obj, "status": status})


def condition(old: dict[str, Any], type_: str, status: str, reason: str, message: str,
              now: str, update_time: bool = False) -> dict[str, Any]:
    """A workload condition that keeps its timestamps while nothing about it changes."""
    prev = next((c for c in (old.get("status") or {}).get("conditions") or []
                 if c["type"] == type_), None)
    same = prev and (prev["status"], prev.get("reason"), prev.get("message")) == \
        (status, reason, message)
    cond = {"type": type_, "status": status, "reason": reason, "message": message,
            "lastTransitionTime": prev["lastTransitionTime"] if prev and
            prev["status"] == status else now}
    if update_time:
        cond["lastUpdateTime"] = prev.get("lastUpdateTime", now) if same and prev else now
    return cond


def active_pods(world: World, key: str, owner: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for p in pods.owned_by(world, key, "pods", owner) if not pods.is_terminal(p)]


def deletion_order(pod: dict[str, Any]) -> tuple[int, int, int, str]:
    """Which pods a controller removes first: unscheduled, then not ready, then newest."""
    return (1 if pod["spec"].get("nodeName") else 0, 1 if pods.is_ready(pod) else 0,
            -int(pod["metadata"].get("resourceVersion", "0")), pod["metadata"]["name"])
