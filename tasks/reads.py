"""Memoized reads shared by every check of a run (and a sweep's clusters).

"List once and reuse": the registries of every visible subscription are listed once per
run, a cluster is read once, a registry's role assignments once — never one call per pod.
Check modules add their own reads with :meth:`Reads.memo`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

from azure.mgmt.authorization import AuthorizationManagementClient
from azure.mgmt.containerregistry import ContainerRegistryManagementClient
from azure.mgmt.containerservice import ContainerServiceClient

from tasks.clients import Clients
from tasks.contract import ClusterRef
from tasks.inventory import subscriptions
from tasks.kube_access import KubeAccess

T = TypeVar("T")


def parse_id(resource_id: str) -> dict[str, str]:
    """``{"subscription": …, "resource_group": …, "name": …}`` of an ARM id."""
    parts = resource_id.strip("/").split("/")
    low = [p.lower() for p in parts]
    out = {"subscription": parts[1] if len(parts) > 1 else "", "name": parts[-1]}
    if "resourcegroups" in low[:-1]:  # a trailing "resourceGroups" names no group
        out["resource_group"] = parts[low.index("resourcegroups") + 1]
    return out


class Reads:
    def __init__(self, clients: Clients) -> None:
        self.clients = clients
        self._memo: dict[tuple[Any, ...], Any] = {}
        self._locks: dict[tuple[Any, ...], threading.Lock] = {}
        self._guard = threading.Lock()

    def memo(self, key: tuple[Any, ...], thunk: Callable[[], T]) -> T:
        """``thunk()`` once per key for the life of this Reads; concurrent callers wait."""
        with self._guard:
            if key in self._memo:
                return self._memo[key]  # type: ignore[no-any-return]
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            with self._guard:
                if key in self._memo:
                    return self._memo[key]  # type: ignore[no-any-return]
            value = thunk()
            with self._guard:
                self._memo[key] = value
            return value

    # -- common reads -----------------------------------------------------------------------
    def subscriptions(self) -> list[tuple[str, str]]:
        return self.memo(("subscriptions",), lambda: subscriptions(self.clients))

    def tenant_id(self) -> str:
        """The Entra tenant of the visible subscriptions (the approvers' tenant)."""
        def load() -> str:
            from azure.mgmt.resource.subscriptions import SubscriptionClient

            for sub in self.clients.arm(SubscriptionClient).subscriptions.list():
                if sub.tenant_id:
                    return str(sub.tenant_id)
            raise LookupError("no visible subscription names its tenant")
        return self.memo(("tenant",), load)

    def seed_clusters(self, documents: dict[str, Any]) -> None:
        """Cluster documents a fleet list already returned (``inventory.clusters``): the
        sweep's one list per subscription then stands for each cluster's own read."""
        with self._guard:
            for cluster_id, doc in documents.items():
                self._memo.setdefault(("cluster-json", cluster_id.lower()), doc)

    def cluster_document(self, ref: ClusterRef) -> Any:
        """The cluster's ARM document (a ManagedCluster: a mapping in ARM's JSON layout), read
        once — or taken from the fleet list that already returned it (:meth:`seed_clusters`).

        Read without ``stream=True``: the body is then read inside azure-core's pipeline, so a
        connection dropped mid-answer is retried like any other (a streamed body is read after
        the retry policy has returned)."""
        return self.memo(("cluster-json", ref.id.lower()), lambda: self.clients.arm(
            ContainerServiceClient, ref.subscription_id).managed_clusters.get(
                ref.resource_group, ref.name))

    def cluster(self, ref: ClusterRef) -> Any:
        return self.cluster_document(ref)

    def forget_cluster(self, ref: ClusterRef) -> None:
        """Drop what was read for one cluster (its documents and its Kubernetes client) once
        its diagnosis is made, so a fleet sweep's memory stays bounded by its concurrency, not
        its size. Fleet-wide reads (registries, role assignments of a registry) stay."""
        with self._guard:
            for key in (("cluster-json", ref.id.lower()),):
                self._memo.pop(key, None)
                self._locks.pop(key, None)
        self.clients.release_kube(ref.subscription_id, ref.resource_group, ref.name)

    def registries(self) -> list[Any]:
        """Every registry in every visible subscription (one list per subscription)."""
        def load() -> list[Any]:
            out: list[Any] = []
            for sub, _ in self.subscriptions():
                out += list(self.clients.arm(ContainerRegistryManagementClient, sub)
                            .registries.list())
            return out
        return self.memo(("registries",), load)

    def registry_for_host(self, host: str) -> Any | None:
        """The registry whose login server (or data endpoint) is ``host``, if visible."""
        host = host.lower()
        for reg in self.registries():
            names = [reg.login_server or ""] + list(reg.data_endpoint_host_names or [])
            if host in (n.lower() for n in names):
                return reg
        return None

    def role_assignments(self, scope: str) -> list[Any]:
        """Assignments at, above and below ``scope`` (ARM's unfiltered list for a scope)."""
        sub = parse_id(scope)["subscription"]
        return self.memo(("role_assignments", scope.lower()), lambda: list(
            self.clients.arm(AuthorizationManagementClient, sub).role_assignments
            .list_for_scope(scope)))

    def role_definition(self, role_definition_id: str) -> Any:
        sub = parse_id(role_definition_id)["subscription"] if role_definition_id.lower(
        ).startswith("/subscriptions/") else ""
        def load() -> Any:
            # getById needs no subscription in its path, but the client wants one
            client = self.clients.arm(AuthorizationManagementClient,
                                      sub or self.subscriptions()[0][0])
            return client.role_definitions.get_by_id(role_definition_id)
        return self.memo(("role_definition", role_definition_id.lower().rsplit("/", 1)[-1]),
                         load)

    def kube(self, ref: ClusterRef) -> Any:
        """The cluster's kubernetes ApiClient, whichever way it is reached (a stopped cluster
        raises ``ClusterStopped``)."""
        return self.clients.kube(ref.subscription_id, ref.resource_group, ref.name)

    def kube_access(self, ref: ClusterRef) -> KubeAccess:
        return self.clients.kube_access(ref.subscription_id, ref.resource_group, ref.name,
                                        document=self.cluster_document(ref))
