"""Discovery documents: ``/version``, ``/api``, ``/apis``, ``/api/v1``, ``/apis/<g>``,
``/apis/<g>/<v>`` — what kubectl and the python client read to resolve ``po``, ``deploy``…
(served as the unaggregated documents, which kubectl falls back to)."""

from __future__ import annotations

import hashlib
from typing import Any

from simulator.kubernetes.resources import GROUPS, SUBRESOURCES, TYPES


def version(kubernetes_version: str) -> dict[str, Any]:
    major, minor, *_ = (kubernetes_version.split(".") + ["0", "0"])
    return {"major": major, "minor": minor, "gitVersion": f"v{kubernetes_version}",
            "gitCommit": hashlib.sha1(kubernetes_version.encode()).hexdigest(),  # noqa: S324
            "gitTreeState": "clean", "buildDate": "2024-10-22T20:33:10Z", "goVersion": "go1.22.8",
            "compiler": "gc", "platform": "linux/amd64"}


def api_versions(host: str) -> dict[str, Any]:
    return {"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": host}]}


def _group(name: str) -> dict[str, Any]:
    gv = {"groupVersion": f"{name}/{GROUPS[name]}", "version": GROUPS[name]}
    return {"name": name, "versions": [gv], "preferredVersion": gv}


def api_groups() -> dict[str, Any]:
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": [_group(g) for g in GROUPS]}


def api_group(name: str) -> dict[str, Any] | None:
    return {"kind": "APIGroup", "apiVersion": "v1", **_group(name)} if name in GROUPS else None


def resource_list(group: str, version_: str) -> dict[str, Any] | None:
    types = [t for t in TYPES if t.group == group and t.version == version_]
    if not types:
        return None
    resources = []
    for t in types:
        resources.append(t.discovery())
        for sub in SUBRESOURCES.get(t.plural, []):
            entry = {"name": f"{t.plural}/{sub}", "singularName": "", "namespaced": t.namespaced,
                     "kind": t.kind, "verbs": ["get", "patch", "update"]}
            if sub == "log":
                entry.update(kind="Pod", verbs=["get"])
            if sub == "scale":
                entry.update(group="autoscaling", version="v1", kind="Scale")
            resources.append(entry)
    return {"kind": "APIResourceList", "apiVersion": "v1",
            "groupVersion": f"{group}/{version_}" if group else version_, "resources": resources}
