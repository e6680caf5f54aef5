"""Core v1 Events as the control plane's components record them: one object per
(involved object, reason, message), whose ``count``/``lastTimestamp`` advance when the same
thing happens again — the aggregation ``kubectl describe`` shows as ``(x3 over 2m)``."""

from __future__ import annotations

from typing import Any

from simulator.core.world import World
from simulator.kubernetes import store
from simulator.kubernetes.resources import by_kind


def reference(obj: dict[str, Any], field_path: str | None = None) -> dict[str, Any]:
    meta = obj["metadata"]
    t = by_kind(obj["kind"])
    ref = {"kind": obj["kind"], "namespace": meta.get("namespace"), "name": meta["name"],
           "uid": meta["uid"], "apiVersion": t.api_version if t else obj.get("apiVersion"),
           "resourceVersion": meta.get("resourceVersion")}
    if field_path:
        ref["fieldPath"] = field_path
    return {k: v for k, v in ref.items() if v is not None}


def record(world: World, key: str, obj: dict[str, Any], *, type_: str, reason: str, message: str,
           component: str, host: str | None = None, field_path: str | None = None,
           bump: bool = True) -> dict[str, Any]:
    """Record (or, when an identical event exists, count again) an event about ``obj``.

    ``bump=False`` leaves an existing identical event alone — for components that must stay
    idempotent when they re-evaluate an unchanged world.
    """
    ns = obj["metadata"].get("namespace") or "default"
    uid = obj["metadata"]["uid"]
    now = store.rfc3339(world.now())
    for ev in store.objects(world, key, "events").values():
        io = ev["involvedObject"]
        if io.get("uid") == uid and ev["reason"] == reason and ev["message"] == message \
                and io.get("fieldPath") == field_path:
            if bump:
                ev = dict(ev, count=ev.get("count", 1) + 1, lastTimestamp=now)
                store.put(world, key, "events", ev)
            return ev
    source = {"component": component, **({"host": host} if host else {})}
    # named <object>.<hex unix nanos> as the event recorder names them, so names sort by time
    n = int(world.now() * 1e9)
    while store.get(world, key, "events", f"{obj['metadata']['name']}.{n:x}", ns) is not None:
        n += 1
    ev = {
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": f"{obj['metadata']['name']}.{n:x}", "namespace": ns},
        "involvedObject": reference(obj, field_path), "reason": reason, "message": message,
        "source": source, "firstTimestamp": now, "lastTimestamp": now, "count": 1,
        "type": type_, "eventTime": None, "reportingComponent": component,
        "reportingInstance": host or "",
    }
    return store.put(world, key, "events", ev)


def delete_for(world: World, key: str, uid: str) -> None:
    """Events go with their object (a real cluster lets them expire after an hour)."""
    for k, ev in list(store.objects(world, key, "events").items()):
        if ev["involvedObject"].get("uid") == uid:
            ns, _, name = k.partition("/")
            store.delete(world, key, "events", name, ns)
