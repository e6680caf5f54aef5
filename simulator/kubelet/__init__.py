"""The simulated kubelet: brings every scheduled pod of a cluster up to date with the world.

``sync(world, cluster_key)`` is called by the Kubernetes API server before it answers a
request for that cluster. For each pod with ``spec.nodeName``, init containers first (one
failing blocks the rest), each container's image is pulled (:mod:`simulator.kubelet.pull`)
and the result written as the kubelet writes it: container statuses, phase, conditions and
aggregated events.

Timing, from world time so ``World.advance`` moves it:

- a failed pull backs off 10 s, doubling to 300 s (kubelet's image back-off), times
  ``settings.kubelet_backoff_scale`` and divided by ``settings.speedup`` as Azure's delays
  are. The status shows ``ErrImagePull`` with the runtime's message for the first half of
  each back-off and ``ImagePullBackOff`` / ``Back-off pulling image "…"`` for the second,
  when the ``BackOff`` and ``Error: ImagePullBackOff`` events are recorded (once per
  back-off period, aggregated by the event recorder);
- when the back-off expires the pull is attempted again;
- when the world changes (a world *generation*, bumped by a listener on
  ``World.changed()`` — every write through the API, LRO completion, reset — plus the
  number of resources and journal entries, and the cluster's Kubernetes resourceVersion),
  each failing container's outcome is re-evaluated at once, and if it differs from the last
  attempt (the fix worked, or the failure moved on) the next attempt happens immediately: a
  correct fix heals at the next request, an unrelated change leaves the back-off running.
  Tests that edit world state directly call ``world.changed()`` as the dispatcher does.

A container that pulled stays running. Images pulled on a node are kept there, so a pod
with ``imagePullPolicy: IfNotPresent`` on that node starts without asking the registry.
Bookkeeping lives beside the objects, in ``world.state["k8s"][key]["kubelet"]``.
"""

from __future__ import annotations

import math
import weakref
from typing import Any

from simulator.core.world import World
from simulator.kubelet import messages as msg
from simulator.kubelet import status as st
from simulator.kubelet.nodes import pool_of
from simulator.kubelet.pull import evaluate, wording
from simulator.kubelet.reference import InvalidReference, parse
from simulator.kubernetes import store

BASE_BACKOFF, MAX_BACKOFF = 10.0, 300.0
_generations: weakref.WeakKeyDictionary[World, int] = weakref.WeakKeyDictionary()


def _bump(world: World) -> None:
    _generations[world] = _generations.get(world, 0) + 1


def _listen(world: World) -> None:
    if _bump not in world.listeners:
        world.listeners.append(_bump)


def generation(world: World) -> int:
    return _generations.get(world, 0)


def _fingerprint(world: World, key: str) -> list[Any]:
    return [generation(world), len(world.resources), len(world.journal),
            store.cluster_state(world, key)["rv"]]


def sync(world: World, cluster_key: str) -> None:
    from simulator.containerservice.models import by_k8s_key

    with world.lock:
        _listen(world)
        cluster = by_k8s_key(world, cluster_key)
        if cluster is None or (cluster["properties"].get("powerState") or {}).get(
                "code") == "Stopped":
            return
        kst = store.cluster_state(world, cluster_key).setdefault("kubelet", {
            "containers": {}, "events": {}, "scheduled": [], "node_images": {},
            "fingerprint": None, "next_due": 0.0})
        now = world.now()
        changed = _fingerprint(world, cluster_key) != kst["fingerprint"]
        if not changed and now < kst["next_due"]:
            return
        world.counters["kubelet_syncs"] += 1
        due = math.inf
        pods = store.objects(world, cluster_key, "pods")
        for pod in list(pods.values()):
            if pod["spec"].get("nodeName") and not pod["metadata"].get("deletionTimestamp"):
                due = min(due, _sync_pod(world, cluster, cluster_key, kst, pod, now, changed))
        live = {p["metadata"].get("uid") for p in pods.values()}
        kst["containers"] = {k: v for k, v in kst["containers"].items()
                             if k.split("/", 1)[0] in live}
        kst["next_due"] = due
        kst["fingerprint"] = _fingerprint(world, cluster_key)


def _backoff(world: World, previous: float | None) -> float:
    """The next back-off, in wall seconds: the kubelet's 10 s doubling to 300 s, passing
    ``speedup`` times faster like every other delay of the twin, so a role assignment honoured
    after 5 minutes and a pod retrying every 5 minutes keep their real proportions."""
    scale = float(world.settings.get("kubelet_backoff_scale", 1.0))
    if previous is None:
        return world.delay(BASE_BACKOFF * scale)
    return min(previous * 2, world.delay(MAX_BACKOFF * scale))


def _sync_pod(world: World, cluster: dict[str, Any], key: str, kst: dict[str, Any],
              pod: dict[str, Any], now: float, changed: bool) -> float:
    node = store.get(world, key, "nodes", pod["spec"]["nodeName"])
    w = wording(cluster, pool_of(cluster, node, pod))
    uid = pod["metadata"]["uid"]
    if uid not in kst["scheduled"]:
        kst["scheduled"].append(uid)
        ns = pod["metadata"].get("namespace", "default")
        already = any(e.get("reason") == "Scheduled" and e["involvedObject"].get("uid") == uid
                      for e in store.objects(world, key, "events").values())
        if not already:
            st.emit(world, key, kst, pod, reason="Scheduled", component="default-scheduler",
                    message=f"Successfully assigned {ns}/{pod['metadata']['name']} to "
                    f"{pod['spec']['nodeName']}")
    due = math.inf
    init_done = True
    init_statuses, statuses = [], []
    for kind, items, out in (("init", pod["spec"].get("initContainers") or [], init_statuses),
                             ("app", pod["spec"].get("containers") or [], statuses)):
        for c in items:
            if not init_done:
                out.append(st.waiting(c, "PodInitializing"))
                continue
            rec, d = _container(world, cluster, key, kst, pod, node, c, kind, now, changed, w)
            due = min(due, d)
            if rec["pulled"]:
                out.append(st.running(c, rec, init=kind == "init"))
                continue
            out.append(st.waiting(c, *_waiting_state(rec, c, now)))
            if kind == "init":
                init_done = False
    new = st.pod_status(world, pod, node, init_statuses, statuses, w.kubelet)
    if new != pod.get("status"):
        pod["status"] = new
        store.put(world, key, "pods", pod)
    return due


def _waiting_state(rec: dict[str, Any], c: dict[str, Any], now: float) -> tuple[str, str]:
    if rec["reason"] != "ErrImagePull" or now < rec["last_attempt"] + rec["backoff"] / 2:
        return rec["reason"], rec["message"]
    return "ImagePullBackOff", msg.back_off(c["image"])


def _container(world: World, cluster: dict[str, Any], key: str, kst: dict[str, Any],
               pod: dict[str, Any], node: dict[str, Any] | None, c: dict[str, Any], kind: str,
               now: float, changed: bool, w: msg.Wording) -> tuple[dict[str, Any], float]:
    """Bring one container's pull up to date; returns its record and when it next needs
    attention."""
    rid = f"{pod['metadata']['uid']}/{kind}/{c['name']}"
    rec = kst["containers"].get(rid)
    if rec is None or rec["image"] != c.get("image"):
        rec = kst["containers"][rid] = {
            "image": c.get("image"), "pulled": False, "attempts": 0, "backoff": None,
            "last_attempt": 0.0, "next_attempt": 0.0, "message": "", "reason": "",
            "backoff_reported": 0}
    if rec["pulled"]:
        return rec, math.inf
    path = st.field_path(kind, c["name"])
    due_now = rec["attempts"] == 0 or now >= rec["next_attempt"]
    if not due_now and changed:
        outcome = evaluate(world, cluster, node, pod, c)
        due_now = outcome.ok or outcome.message != rec["message"]
    if due_now:
        _attempt(world, cluster, key, kst, pod, node, c, rec, path, now, w)
    elif (rec["reason"] == "ErrImagePull" and rec["backoff_reported"] < rec["attempts"]
          and now >= rec["last_attempt"] + rec["backoff"] / 2):
        rec["backoff_reported"] = rec["attempts"]
        st.emit(world, key, kst, pod, reason="BackOff", message=msg.back_off(c["image"]),
                path=path)
        st.emit(world, key, kst, pod, reason="Failed", type_="Warning", path=path,
                message=msg.error("ImagePullBackOff"))
    if rec["pulled"]:
        return rec, math.inf
    if rec["reason"] == "ErrImagePull" and rec["backoff_reported"] < rec["attempts"]:
        return rec, min(rec["next_attempt"], rec["last_attempt"] + rec["backoff"] / 2)
    return rec, rec["next_attempt"]


def _pull_policy(c: dict[str, Any]) -> str:
    if c.get("imagePullPolicy"):
        return c["imagePullPolicy"]
    try:
        return parse(c.get("image") or "").default_pull_policy
    except InvalidReference:
        return "IfNotPresent"


def _attempt(world: World, cluster: dict[str, Any], key: str, kst: dict[str, Any],
             pod: dict[str, Any], node: dict[str, Any] | None, c: dict[str, Any],
             rec: dict[str, Any], path: str, now: float, w: msg.Wording) -> None:
    image, node_name = c["image"], pod["spec"]["nodeName"]
    cached = kst["node_images"].setdefault(node_name, {})
    policy = _pull_policy(c)
    if image in cached and policy != "Always":
        st.emit(world, key, kst, pod, reason="Pulled", message=msg.already_present(image),
                path=path)
        _start(world, key, kst, pod, c, rec, path, now, cached[image])
        return
    if policy == "Never":
        rec.update(reason="ErrImageNeverPull", attempts=rec["attempts"] + 1,
                   message=f'Container image "{image}" is not present with pull policy of Never',
                   last_attempt=now, next_attempt=math.inf)
        st.emit(world, key, kst, pod, reason="ErrImageNeverPull", type_="Warning", path=path,
                message=rec["message"])
        return
    outcome = evaluate(world, cluster, node, pod, c)
    if outcome.reason == "InvalidImageName":
        rec.update(reason="InvalidImageName", message=outcome.message, last_attempt=now,
                   attempts=rec["attempts"] + 1, next_attempt=math.inf)
        st.emit(world, key, kst, pod, reason="InspectFailed", type_="Warning", path=path,
                message=outcome.message)
        st.emit(world, key, kst, pod, reason="Failed", type_="Warning", path=path,
                message=msg.error("InvalidImageName"))
        return
    st.emit(world, key, kst, pod, reason="Pulling", message=msg.pulling(image), path=path)
    if outcome.ok:
        seconds = 0.5 + (outcome.size or 0) / 50e6
        st.emit(world, key, kst, pod, reason="Pulled", path=path,
                message=msg.pulled(image, seconds, outcome.size, w))
        found = {"image_ref": outcome.image_ref, "image_id": outcome.image_id}
        cached[image] = found
        _start(world, key, kst, pod, c, rec, path, now, found)
        return
    rec["backoff"] = _backoff(world, rec["backoff"])
    rec.update(reason="ErrImagePull", message=outcome.message, cause=outcome.cause,
               attempts=rec["attempts"] + 1, last_attempt=now,
               next_attempt=now + rec["backoff"])
    st.emit(world, key, kst, pod, reason="Failed", type_="Warning", path=path,
            message=msg.failed_to_pull(image, outcome.message))
    st.emit(world, key, kst, pod, reason="Failed", type_="Warning", path=path,
            message=msg.error("ErrImagePull"))


def _start(world: World, key: str, kst: dict[str, Any], pod: dict[str, Any],
           c: dict[str, Any], rec: dict[str, Any], path: str, now: float,
           found: dict[str, str]) -> None:
    rec.update(pulled=True, started_at=now, image_ref=found["image_ref"],
               image_id=found["image_id"],
               container_id=st.container_id(pod["metadata"]["uid"], c["name"], 0))
    st.emit(world, key, kst, pod, reason="Created", message=f"Created container {c['name']}",
            path=path)
    st.emit(world, key, kst, pod, reason="Started", message=f"Started container {c['name']}",
            path=path)
