"""Label selectors (equality- and set-based, as in ``?labelSelector=``) and field selectors,
with the field labels the API server supports per resource — an unsupported one is a 400,
as on a real cluster."""

from __future__ import annotations

import re
from typing import Any

from simulator.kubernetes.errors import bad_request

_COMMON = {"metadata.name", "metadata.namespace"}
FIELDS = {
    "pods": {"spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName",
             "spec.hostNetwork", "status.phase", "status.podIP", "status.nominatedNodeName"},
    "events": {"involvedObject.kind", "involvedObject.namespace", "involvedObject.name",
               "involvedObject.uid", "involvedObject.apiVersion", "involvedObject.resourceVersion",
               "involvedObject.fieldPath", "reason", "reportingComponent", "source", "type"},
    "secrets": {"type"},
    "nodes": {"spec.unschedulable"},
    "namespaces": {"status.phase"},
    "apps/replicasets": {"status.replicas"},
    "batch/jobs": {"status.successful"},
}


def _split(text: str) -> list[str]:
    """Split on commas outside parentheses."""
    parts, depth, cur = [], 0, ""
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur.strip())
            cur = ""
        else:
            cur += ch
    if cur.strip():
        parts.append(cur.strip())
    return parts


_SET = re.compile(r"^(?P<key>[^\s!=()]+)\s+(?P<op>in|notin)\s*\((?P<vals>[^)]*)\)$")
_EQ = re.compile(r"^(?P<key>[^\s!=]+)\s*(?P<op>==|=|!=)\s*(?P<val>[^\s!=]*)$")


def parse_labels(text: str | None) -> list[tuple[str, str, list[str]]]:
    reqs: list[tuple[str, str, list[str]]] = []
    for part in _split(text or ""):
        if m := _SET.match(part):
            reqs.append((m["key"], m["op"], [v.strip() for v in m["vals"].split(",") if v.strip()]))
        elif m := _EQ.match(part):
            reqs.append((m["key"], "!=" if m["op"] == "!=" else "=", [m["val"]]))
        elif re.fullmatch(r"![^\s!=()]+", part):
            reqs.append((part[1:], "!", []))
        elif re.fullmatch(r"[^\s!=()]+", part):
            reqs.append((part, "exists", []))
        else:
            raise bad_request(f'unable to parse requirement: found \'{part}\', expected: '
                              "'=', '!=', '==', 'in', notin'")
    return reqs


def labels_match(reqs: list[tuple[str, str, list[str]]], labels: dict[str, str] | None) -> bool:
    labels = labels or {}
    for key, op, vals in reqs:
        have = key in labels
        val = labels.get(key)
        if op == "exists":
            ok = have
        elif op == "!":
            ok = not have
        elif op in ("=", "in"):
            ok = have and val in vals
        else:  # != and notin
            ok = not have or val not in vals
        if not ok:
            return False
    return True


def selector_matches(selector: dict[str, Any] | None, labels: dict[str, str] | None) -> bool:
    """A ``LabelSelector`` object (matchLabels / matchExpressions) against labels."""
    if not selector:
        return False
    labels = labels or {}
    for k, v in (selector.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for expr in selector.get("matchExpressions") or []:
        op, k, vals = expr["operator"], expr["key"], expr.get("values") or []
        if op == "In" and labels.get(k) not in vals or op == "NotIn" and labels.get(k) in vals:
            return False
        if op == "Exists" and k not in labels or op == "DoesNotExist" and k in labels:
            return False
    return True


def selector_text(selector: dict[str, Any] | None) -> str:
    """How kubectl prints a selector (``app=web,tier in (a,b)``)."""
    parts = [f"{k}={v}" for k, v in sorted((selector or {}).get("matchLabels", {}).items())]
    for e in (selector or {}).get("matchExpressions") or []:
        op = e["operator"]
        if op in ("In", "NotIn"):
            parts.append(f"{e['key']} {op.lower()} ({','.join(e.get('values') or [])})")
        else:
            parts.append(e["key"] if op == "Exists" else f"!{e['key']}")
    return ",".join(parts)


def parse_fields(text: str | None, store_key: str, kind: str) -> list[tuple[str, bool, str]]:
    """(field, equals?, value) requirements; unsupported field labels are rejected."""
    reqs = []
    allowed = _COMMON | FIELDS.get(store_key, set())
    for part in _split(text or ""):
        m = re.fullmatch(r"([^!=]+?)\s*(==|=|!=)\s*(.*)", part)
        if not m:
            raise bad_request(f"invalid selector: '{text}'; can't understand '{part}'")
        field, op, value = m.groups()
        if field not in allowed:
            raise bad_request(f'field label not supported: {field}')
        reqs.append((field, op != "!=", value))
    return reqs


def _field_value(obj: dict[str, Any], field: str) -> str:
    if field == "source":
        return (obj.get("source") or {}).get("component", "")
    cur: Any = obj
    for part in field.split("."):
        cur = cur.get(part) if isinstance(cur, dict) else None
    if isinstance(cur, bool):
        return "true" if cur else "false"
    return "" if cur is None else str(cur)


def fields_match(reqs: list[tuple[str, bool, str]], obj: dict[str, Any]) -> bool:
    return all((_field_value(obj, f) == v) == eq for f, eq, v in reqs)
