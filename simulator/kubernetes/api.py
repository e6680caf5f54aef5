"""The REST verbs on Kubernetes objects: list (selectors, paging, Table output), get, create,
replace, patch and delete — the API server's behaviour and words, over ``store.py``."""

from __future__ import annotations

import base64
import binascii
import copy
import json
from typing import Any

from simulator.core.routing import Ctx, Reply
from simulator.core.world import World, public
from simulator.kubernetes import batch, defaults, errors, patch, pods, store, sync, tables
from simulator.kubernetes.resources import ResourceType, by_store_key
from simulator.kubernetes.selectors import fields_match, labels_match, parse_fields, parse_labels

PROTECTED_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
IMMUTABLE_SELECTOR = {"Deployment", "ReplicaSet", "StatefulSet", "DaemonSet"}


def _render(obj: dict[str, Any]) -> dict[str, Any]:
    return public(obj)


def _list_meta(world: World, key: str) -> dict[str, Any]:
    return {"resourceVersion": str(store.cluster_state(world, key)["rv"])}


def _sort_key(obj: dict[str, Any]) -> str:
    m = obj["metadata"]
    return f"{m.get('namespace', '')}/{m['name']}"


def _continue_token(rv: int, start: str) -> str:
    raw = json.dumps({"v": "meta.k8s.io/v1", "rv": rv, "start": start + "\x00"})
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _continue_start(token: str) -> str:
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        return str(data["start"]).rstrip("\x00")
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise errors.bad_request(f"continue key is not valid: {exc}") from exc


def list_objects(ctx: Ctx, key: str, t: ResourceType, ns: str | None) -> Reply:
    world = ctx.world
    label_reqs = parse_labels(ctx.q("labelSelector"))
    field_reqs = parse_fields(ctx.q("fieldSelector"), t.store_key, t.kind)
    objs = [o for o in store.objects(world, key, t.store_key).values()
            if (not ns or o["metadata"].get("namespace") == ns)
            and labels_match(label_reqs, o["metadata"].get("labels"))
            and fields_match(field_reqs, o)]
    objs.sort(key=_sort_key)
    if ctx.q("continue"):
        start = _continue_start(ctx.q("continue") or "")
        objs = [o for o in objs if _sort_key(o) > start]
    meta = _list_meta(world, key)
    limit = int(ctx.q("limit") or 0)
    if limit > 0 and len(objs) > limit:
        rest = len(objs) - limit
        objs = objs[:limit]
        meta["continue"] = _continue_token(store.cluster_state(world, key)["rv"],
                                           _sort_key(objs[-1]))
        if not label_reqs and not field_reqs:
            meta["remainingItemCount"] = rest
    items = [_render(o) for o in objs]
    if tables.wants_table(ctx.headers.get("accept", "")) and t.store_key in tables.PRINTERS:
        return Reply(200, tables.table(t.store_key, items, world.now(), meta,
                                       ctx.q("includeObject"), t.api_version, t.kind))
    for item in items:
        item.pop("apiVersion", None)
        item.pop("kind", None)
    return Reply(200, {"kind": f"{t.kind}List", "apiVersion": t.api_version, "metadata": meta,
                       "items": items})


def must_get(world: World, key: str, t: ResourceType, ns: str | None, name: str
             ) -> dict[str, Any]:
    obj = store.get(world, key, t.store_key, name, ns if t.namespaced else None)
    if obj is None:
        raise errors.not_found(t.group, t.plural, name)
    return obj


def get_object(ctx: Ctx, key: str, t: ResourceType, ns: str | None, name: str) -> Reply:
    obj = _render(must_get(ctx.world, key, t, ns, name))
    if tables.wants_table(ctx.headers.get("accept", "")) and t.store_key in tables.PRINTERS:
        return Reply(200, tables.table(t.store_key, [obj], ctx.world.now(),
                                       _list_meta(ctx.world, key), ctx.q("includeObject"),
                                       t.api_version, t.kind))
    return Reply(200, obj)


def _body(ctx: Ctx, t: ResourceType) -> dict[str, Any]:
    body = ctx.json()
    if not isinstance(body, dict):
        raise errors.bad_request("the object provided is unrecognized (must be of type "
                                 f"{t.kind})")
    if body.get("kind") and body["kind"] != t.kind:
        raise errors.bad_request(f"the object provided is unrecognized (must be of type {t.kind}): "
                                 f"kind {body['kind']}")
    if body.get("apiVersion") and body["apiVersion"] != t.api_version:
        raise errors.bad_request(f"the API version in the data ({body['apiVersion']}) does not "
                                 f"match the expected API version ({t.api_version})")
    return body


def _dry_run(ctx: Ctx) -> bool:
    return ctx.q("dryRun") == "All"


def create_object(ctx: Ctx, key: str, t: ResourceType, ns: str | None) -> Reply:
    world = ctx.world
    obj = _body(ctx, t)
    obj["apiVersion"], obj["kind"] = t.api_version, t.kind
    meta = obj.setdefault("metadata", {})
    for k in ("uid", "resourceVersion", "creationTimestamp", "generation", "deletionTimestamp",
              "managedFields"):
        meta.pop(k, None)
    if t.namespaced:
        if meta.get("namespace") and meta["namespace"] != ns:
            raise errors.bad_request("the namespace of the provided object does not match the "
                                     "namespace sent on the request")
        meta["namespace"] = ns
    if t.kind == "Pod":
        created = pods.create(world, key, obj, dry_run=_dry_run(ctx))
        return Reply(201, _render(created))
    if t.namespaced and not pods.namespace_exists(world, key, ns or ""):
        raise errors.status_error(404, f'namespaces "{ns}" not found', "NotFound",
                                  {"name": ns or "", "kind": "namespaces"})
    if not meta.get("name") and meta.get("generateName"):
        meta["name"] = meta["generateName"] + defaults.random_suffix()
    if not meta.get("name"):
        raise errors.invalid(t.kind, "", [("metadata.name", "Required value: name or "
                                           "generateName is required")])
    if store.get(world, key, t.store_key, meta["name"], ns if t.namespaced else None):
        raise errors.already_exists(t.group, t.plural, meta["name"])
    if t.kind not in ("Secret", "ServiceAccount", "Event"):
        obj["status"] = {}
    defaults.default_and_validate(obj)
    if _dry_run(ctx):
        return Reply(201, _render(obj))
    store.put(world, key, t.store_key, obj)
    if t.kind == "Job":
        batch.prepare_job(obj)
    if t.kind == "Namespace":
        sync.ensure_namespace(world, key, meta["name"])
    return Reply(201, _render(obj))


def _check_immutable(t: ResourceType, cur: dict[str, Any], new: dict[str, Any]) -> None:
    name = cur["metadata"]["name"]
    if t.kind in IMMUTABLE_SELECTOR and new["spec"].get("selector") != cur["spec"].get("selector"):
        raise errors.invalid(t.kind, name, [("spec.selector", "Invalid value: "
                                             f"{json.dumps(new['spec'].get('selector'))}: field "
                                             "is immutable")])
    if t.kind == "Job" and new["spec"].get("template") != cur["spec"].get("template"):
        raise errors.invalid(t.kind, name, [("spec.template", "Invalid value: ...: field is "
                                             "immutable")])
    if t.kind == "Secret" and cur.get("immutable") and (new.get("data") != cur.get("data")):
        raise errors.invalid(t.kind, name, [("data", "Forbidden: field is immutable when "
                                             "`immutable` is set")])


def replace(ctx: Ctx, key: str, t: ResourceType, cur: dict[str, Any], new: dict[str, Any],
            sub: str | None = None) -> Reply:
    world = ctx.world
    new = copy.deepcopy(new)
    meta = new.setdefault("metadata", {})
    cm = cur["metadata"]
    if meta.get("name") and meta["name"] != cm["name"]:
        raise errors.bad_request(f"the name of the object ({meta['name']}) does not match the name "
                                 f"on the URL ({cm['name']})")
    if meta.get("resourceVersion") and meta["resourceVersion"] != cm["resourceVersion"]:
        raise errors.conflict(t.group, t.plural, cm["name"])
    if sub == "status":
        result = {**copy.deepcopy(cur), "status": new.get("status") or {}}
    else:
        new["apiVersion"], new["kind"] = t.api_version, t.kind
        for k in ("name", "namespace", "uid", "creationTimestamp", "generation",
                  "deletionTimestamp"):
            if k in cm:
                meta[k] = cm[k]
        meta.update({k: v for k, v in cm.items() if k.startswith("_")})
        if "status" in cur:
            new["status"] = copy.deepcopy(cur["status"])
        defaults.default_and_validate(new)
        if t.kind == "Pod":
            defaults.check_pod_update(cur, new)
        if t.kind in defaults.WORKLOADS or t.kind == "Job":
            _check_immutable(t, cur, new)
            if new.get("spec") != cur.get("spec"):
                meta["generation"] = cm.get("generation", 1) + 1
        elif t.kind == "Secret":
            _check_immutable(t, cur, new)
        result = new
    if _dry_run(ctx):
        return Reply(200, _render(result))
    store.put(world, key, t.store_key, result)
    return Reply(200, _render(result))


def update_object(ctx: Ctx, key: str, t: ResourceType, ns: str | None, name: str,
                  sub: str | None) -> Reply:
    cur = must_get(ctx.world, key, t, ns, name)
    body = _body(ctx, t) if sub != "scale" else ctx.json()
    if sub == "scale":
        return _set_scale(ctx, key, t, cur, body)
    return replace(ctx, key, t, cur, body, sub)


def patch_object(ctx: Ctx, key: str, t: ResourceType, ns: str | None, name: str,
                 sub: str | None) -> Reply:
    cur = must_get(ctx.world, key, t, ns, name)
    ct = ctx.headers.get("content-type", "application/json")
    try:
        body = json.loads(ctx.body or b"null")
    except ValueError as exc:
        raise errors.bad_request(f"error decoding patch: {exc}") from exc
    if sub == "scale":
        return _set_scale(ctx, key, t, cur, patch.apply(ct, scale_of(cur), body))
    patched = patch.apply(ct, _render(cur), body)
    if not isinstance(patched, dict):
        raise errors.bad_request("the patch produced something that is not an object")
    return replace(ctx, key, t, cur, patched, sub)


def scale_of(obj: dict[str, Any]) -> dict[str, Any]:
    from simulator.kubernetes.selectors import selector_text

    m = obj["metadata"]
    return {"kind": "Scale", "apiVersion": "autoscaling/v1",
            "metadata": {k: m[k] for k in ("name", "namespace", "uid", "resourceVersion",
                                           "creationTimestamp") if k in m},
            "spec": {"replicas": obj["spec"].get("replicas", 1)},
            "status": {"replicas": (obj.get("status") or {}).get("replicas", 0),
                       "selector": selector_text(obj["spec"].get("selector"))}}


def _set_scale(ctx: Ctx, key: str, t: ResourceType, cur: dict[str, Any],
               scale: dict[str, Any]) -> Reply:
    replicas = (scale.get("spec") or {}).get("replicas")
    if not isinstance(replicas, int) or replicas < 0:
        raise errors.invalid("Scale", cur["metadata"]["name"], [(
            "spec.replicas", f"Invalid value: {replicas}: must be greater than or equal to 0")])
    new = copy.deepcopy(cur)
    new["spec"]["replicas"] = replicas
    replace(ctx, key, t, cur, public(new))
    return Reply(200, scale_of(must_get(ctx.world, key, t, cur["metadata"].get("namespace"),
                                        cur["metadata"]["name"])))


def delete_object(ctx: Ctx, key: str, t: ResourceType, ns: str | None, name: str) -> Reply:
    world = ctx.world
    cur = must_get(world, key, t, ns, name)
    body = ctx.json() if ctx.body else {}
    policy = ctx.q("propagationPolicy") or (body or {}).get("propagationPolicy") or "Background"
    rendered = _render(cur)
    if t.kind == "Namespace" and name in PROTECTED_NAMESPACES:
        raise errors.status_error(403, f'namespaces "{name}" is forbidden: this namespace may not '
                                  "be deleted", "Forbidden", {"name": name, "kind": "namespaces"})
    if _dry_run(ctx):
        return Reply(200, rendered)
    store.delete(world, key, t.store_key, name, ns if t.namespaced else None)
    if t.kind == "Namespace":
        for resource, objs in store.cluster_state(world, key)["objects"].items():
            for k in [k for k, o in objs.items() if o["metadata"].get("namespace") == name]:
                store.delete(world, key, resource, k.split("/", 1)[1], name)
        rendered["metadata"]["deletionTimestamp"] = store.rfc3339(world.now())
        rendered["status"] = {"phase": "Terminating"}
        return Reply(200, rendered)
    if policy == "Orphan":
        uid = cur["metadata"]["uid"]
        for resource in ("apps/replicasets", "batch/jobs", "pods"):
            for o in list(store.objects(world, key, resource).values()):
                refs = o["metadata"].get("ownerReferences") or []
                if any(r.get("uid") == uid for r in refs):
                    o["metadata"]["ownerReferences"] = [r for r in refs if r.get("uid") != uid]
                    store.put(world, key, resource, o)
    if t.kind == "Pod":
        rendered["metadata"]["deletionTimestamp"] = store.rfc3339(world.now())
        rendered["metadata"]["deletionGracePeriodSeconds"] = 0
        return Reply(200, rendered)
    return Reply(200, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                       "details": {"name": name, "group": t.group, "kind": t.plural,
                                   "uid": cur["metadata"]["uid"]}})


def delete_collection(ctx: Ctx, key: str, t: ResourceType, ns: str | None) -> Reply:
    world = ctx.world
    label_reqs = parse_labels(ctx.q("labelSelector"))
    field_reqs = parse_fields(ctx.q("fieldSelector"), t.store_key, t.kind)
    for o in list(store.objects(world, key, t.store_key).values()):
        m = o["metadata"]
        if (not ns or m.get("namespace") == ns) and labels_match(label_reqs, m.get("labels")) \
                and fields_match(field_reqs, o):
            if t.kind == "Namespace" and m["name"] in PROTECTED_NAMESPACES:
                continue
            store.delete(world, key, t.store_key, m["name"], m.get("namespace"))
    return Reply(200, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"})


def pod_log(ctx: Ctx, key: str, ns: str, name: str) -> Reply:
    pod = must_get(ctx.world, key, by_store_key("pods"), ns, name)
    names = [c["name"] for c in pod["spec"].get("containers") or []]
    inits = [c["name"] for c in pod["spec"].get("initContainers") or []]
    container = ctx.q("container")
    if not container:
        if len(names) != 1:
            extra = f" or one of the init containers: [{' '.join(inits)}]" if inits else ""
            raise errors.bad_request(f"a container name must be specified for pod {name}, choose "
                                     f"one of: [{' '.join(names)}]{extra}")
        container = names[0]
    if container not in names + inits:
        raise errors.bad_request(f"container {container} is not valid for pod {name}")
    status = pod.get("status") or {}
    statuses = (status.get("containerStatuses") or []) + (status.get("initContainerStatuses") or [])
    st = next((s for s in statuses if s.get("name") == container), None)
    waiting = ((st or {}).get("state") or {}).get("waiting")
    if st is None or waiting:
        reason = (waiting or {}).get("reason") or "ContainerCreating"
        text = "trying and failing to pull image" if reason in (
            "ImagePullBackOff", "ErrImagePull", "ErrImageNeverPull", "InvalidImageName") else reason
        raise errors.bad_request(f'container "{container}" in pod "{name}" is waiting to start: '
                                 f"{text}")
    return Reply(200, b"", content_type="text/plain")
