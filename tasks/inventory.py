"""The fleet inventory: every cluster in every visible subscription, one list call per
subscription (never one call per cluster)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from azure.mgmt.containerservice import ContainerServiceClient
from azure.mgmt.resource.subscriptions import SubscriptionClient

from tasks.clients import Clients


@dataclass(frozen=True)
class ClusterRef:
    subscription_id: str
    subscription_name: str
    resource_group: str
    name: str
    id: str
    location: str
    identity: str  # "managed" | "service-principal"
    kubernetes_version: str
    tags: tuple[tuple[str, str], ...]


def subscriptions(clients: Clients) -> list[tuple[str, str]]:
    """(id, display name) of every subscription the identity can see."""
    return [(s.subscription_id or "", s.display_name or "")
            for s in clients.arm(SubscriptionClient).subscriptions.list()]


def clusters(clients: Clients, *, max_workers: int = 4,
             documents: dict[str, Any] | None = None) -> list[ClusterRef]:
    """``documents``: filled with each cluster's ARM document as listed (id, lower-cased →
    ManagedCluster), so a sweep chooses how to reach each cluster without reading it again."""
    subs = subscriptions(clients)

    def one(sub: tuple[str, str]) -> list[ClusterRef]:
        sub_id, sub_name = sub
        out = []
        for c in clients.arm(ContainerServiceClient, sub_id).managed_clusters.list():
            sp = c.service_principal_profile
            out.append(ClusterRef(
                subscription_id=sub_id,
                subscription_name=sub_name,
                resource_group=(c.id or "").split("/")[4],
                name=c.name or "",
                id=c.id or "",
                location=c.location,
                identity="service-principal" if sp and sp.client_id not in (None, "msi")
                else "managed",
                kubernetes_version=c.kubernetes_version or "",
                tags=tuple(sorted((c.tags or {}).items())),
            ))
            if documents is not None:
                documents[(c.id or "").lower()] = c
        return out

    with ThreadPoolExecutor(max_workers=max_workers) as pool:
        return [c for chunk in pool.map(one, subs) for c in chunk]
