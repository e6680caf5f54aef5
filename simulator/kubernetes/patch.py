"""The three PATCH flavours the API server accepts for built-in types: JSON merge patch
(RFC 7386), JSON patch (RFC 6902) and strategic merge patch (lists of named things merge by
their key, as the Go types' ``patchMergeKey`` tags say)."""

from __future__ import annotations

import copy
from typing import Any

from simulator.kubernetes.errors import status_error

# field name -> merge key of its list items (from the core/apps/batch Go types)
MERGE_KEYS = {
    "containers": "name", "initContainers": "name", "ephemeralContainers": "name",
    "imagePullSecrets": "name", "env": "name", "volumes": "name", "volumeMounts": "mountPath",
    "volumeDevices": "devicePath", "ports": "containerPort", "conditions": "type",
    "ownerReferences": "uid", "hostAliases": "ip", "secrets": "name", "topologySpreadConstraints":
    "topologyKey", "resourceClaims": "name", "readinessGates": "conditionType",
}
PRIMITIVE_MERGE = {"finalizers"}  # lists of strings merged as sets

JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
APPLY = "application/apply-patch+yaml"


def merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge_patch(out.get(k), v)
    return out


def strategic_merge(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if patch.get("$patch") == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    if patch.get("$patch") == "delete":
        return None
    out = dict(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if k.startswith("$setElementOrder/") or k.startswith("$deleteFromPrimitiveList/") \
                or k in ("$retainKeys", "$patch"):
            if k.startswith("$deleteFromPrimitiveList/"):
                name = k.split("/", 1)[1]
                out[name] = [x for x in out.get(name) or [] if x not in v]
            continue
        if v is None:
            out.pop(k, None)
        elif isinstance(v, list) and k in MERGE_KEYS and isinstance(out.get(k), list):
            out[k] = _merge_list(out[k], v, MERGE_KEYS[k])
        elif isinstance(v, list) and k in PRIMITIVE_MERGE:
            out[k] = list(dict.fromkeys([*(out.get(k) or []), *v]))
        elif isinstance(v, dict):
            merged = strategic_merge(out.get(k), v)
            if merged is None:
                out.pop(k, None)
            else:
                out[k] = merged
        else:
            out[k] = copy.deepcopy(v)
    return out


def _merge_list(current: list[Any], patch: list[Any], key: str) -> list[Any]:
    out = [copy.deepcopy(x) for x in current]
    for item in patch:
        if not isinstance(item, dict):
            out.append(item)
            continue
        if item.get("$patch") == "replace":
            return [copy.deepcopy({k: v for k, v in i.items() if k != "$patch"}) for i in patch]
        idx = next((i for i, x in enumerate(out) if isinstance(x, dict)
                    and x.get(key) == item.get(key)), None)
        if item.get("$patch") == "delete":
            if idx is not None:
                out.pop(idx)
        elif idx is None:
            out.append(strategic_merge({}, item))
        else:
            out[idx] = strategic_merge(out[idx], item)
    return out


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise status_error(422, f'the server rejected our request due to an error in our '
                           f'request: path "{path}" must start with "/"', "Invalid")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _walk(doc: Any, parts: list[str]) -> tuple[Any, str]:
    cur = doc
    for p in parts[:-1]:
        cur = cur[int(p)] if isinstance(cur, list) else cur[p]
    return cur, parts[-1]


def json_patch(doc: Any, ops: list[dict[str, Any]]) -> Any:
    doc = copy.deepcopy(doc)
    for op in ops:
        try:
            doc = _apply_op(doc, op)
        except (KeyError, IndexError, ValueError, TypeError) as exc:
            raise status_error(422, f"the server rejected our request due to an error in our "
                               f"request: {op.get('op')} operation does not apply: doc is "
                               f"missing path: \"{op.get('path')}\"", "Invalid") from exc
    return doc


def _apply_op(doc: Any, op: dict[str, Any]) -> Any:
    kind = op["op"]
    parts = _pointer(op["path"])
    if kind == "test":
        cur = doc
        for p in parts:
            cur = cur[int(p)] if isinstance(cur, list) else cur[p]
        if cur != op["value"]:
            raise status_error(422, f"the server rejected our request due to an error in our "
                               f"request: testing value {op['path']} failed", "Invalid")
        return doc
    if kind in ("move", "copy"):
        src_parent, src_key = _walk(doc, _pointer(op["from"]))
        value = src_parent[int(src_key)] if isinstance(src_parent, list) else src_parent[src_key]
        if kind == "move":
            _apply_op(doc, {"op": "remove", "path": op["from"]})
        return _apply_op(doc, {"op": "add", "path": op["path"], "value": copy.deepcopy(value)})
    if not parts:
        return copy.deepcopy(op.get("value"))
    parent, last = _walk(doc, parts)
    if isinstance(parent, list):
        idx = len(parent) if last == "-" else int(last)
        if kind == "add":
            parent.insert(idx, copy.deepcopy(op["value"]))
        elif kind == "remove":
            parent.pop(idx)
        elif kind == "replace":
            parent[idx] = copy.deepcopy(op["value"])
    else:
        if kind == "add":
            parent[last] = copy.deepcopy(op["value"])
        elif kind == "remove":
            del parent[last]
        elif kind == "replace":
            if last not in parent:
                raise KeyError(last)
            parent[last] = copy.deepcopy(op["value"])
    return doc


def apply(content_type: str, current: dict[str, Any], body: Any) -> dict[str, Any]:
    ct = content_type.split(";")[0].strip().lower()
    if ct == JSON_PATCH:
        if not isinstance(body, list):
            raise status_error(400, "json: cannot unmarshal object into Go value of type "
                               "jsonpatch.Patch", "BadRequest")
        return json_patch(current, body)
    if ct == MERGE_PATCH:
        return merge_patch(current, body)
    if ct == STRATEGIC:
        return strategic_merge(current, body)
    raise status_error(415, f"the body of the request was in an unknown format - accepted media "
                       f"types include: {JSON_PATCH}, {MERGE_PATCH}, {APPLY}, {STRATEGIC}",
                       "UnsupportedMediaType")
