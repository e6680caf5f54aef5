"""The resource types this API server serves: REST name, group/version, kind, scope, short names
and verbs — what discovery returns and what every handler looks up.

The store key (``store.objects(..., resource)``) is the plural qualified by group for non-core
groups (``apps/deployments``), as ``store.py`` documents.
"""

from __future__ import annotations

from dataclasses import dataclass

RW = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]


@dataclass(frozen=True)
class ResourceType:
    plural: str
    group: str  # "" for the core group
    version: str
    kind: str
    namespaced: bool = True
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()

    @property
    def store_key(self) -> str:
        return f"{self.group}/{self.plural}" if self.group else self.plural

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def singular(self) -> str:
        return self.kind.lower()

    def discovery(self) -> dict:
        out = {"name": self.plural, "singularName": self.singular, "namespaced": self.namespaced,
               "kind": self.kind, "verbs": list(RW)}
        if self.short_names:
            out["shortNames"] = list(self.short_names)
        if self.categories:
            out["categories"] = list(self.categories)
        return out


ALL = ("all",)
TYPES = [
    ResourceType("namespaces", "", "v1", "Namespace", namespaced=False, short_names=("ns",)),
    ResourceType("nodes", "", "v1", "Node", namespaced=False, short_names=("no",)),
    ResourceType("pods", "", "v1", "Pod", short_names=("po",), categories=ALL),
    ResourceType("events", "", "v1", "Event", short_names=("ev",)),
    ResourceType("secrets", "", "v1", "Secret"),
    ResourceType("serviceaccounts", "", "v1", "ServiceAccount", short_names=("sa",)),
    ResourceType("deployments", "apps", "v1", "Deployment", short_names=("deploy",),
                 categories=ALL),
    ResourceType("replicasets", "apps", "v1", "ReplicaSet", short_names=("rs",), categories=ALL),
    ResourceType("statefulsets", "apps", "v1", "StatefulSet", short_names=("sts",),
                 categories=ALL),
    ResourceType("daemonsets", "apps", "v1", "DaemonSet", short_names=("ds",), categories=ALL),
    ResourceType("jobs", "batch", "v1", "Job", categories=ALL),
    ResourceType("cronjobs", "batch", "v1", "CronJob", short_names=("cj",), categories=ALL),
]
GROUPS = {"apps": "v1", "batch": "v1"}
# subresources discovery lists (kubectl resolves names only from the top-level entries)
SUBRESOURCES = {"pods": ["status", "log"], "deployments": ["status", "scale"],
                "replicasets": ["status", "scale"], "statefulsets": ["status", "scale"],
                "daemonsets": ["status"], "jobs": ["status"], "cronjobs": ["status"],
                "namespaces": ["status"], "nodes": ["status"]}


def lookup(group: str, version: str, plural: str) -> ResourceType | None:
    for t in TYPES:
        if t.group == group and t.version == version and t.plural == plural:
            return t
    return None


def by_kind(kind: str) -> ResourceType | None:
    return next((t for t in TYPES if t.kind == kind), None)


def by_store_key(store_key: str) -> ResourceType:
    return next(t for t in TYPES if t.store_key == store_key)
