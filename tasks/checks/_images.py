"""Registry data-plane reads shared by the image checks (azure-containerregistry through the
cloud profile's registry proxy), memoized per run: repository existence, manifest
properties (platforms), repository and tag names for "did you mean" proposals.

pullfix's own identity needs pull/metadata read on the registry (AcrPull, or Container
Registry Repository Reader on ABAC-mode registries) and a network path its firewall admits.
"""

from __future__ import annotations

from typing import Any

from azure.core.exceptions import ResourceNotFoundError

from tasks.checks._reasons import read
from tasks.reads import Reads

PULL = ("AcrPull (Microsoft.ContainerRegistry/registries/pull/read; on ABAC registries "
        "Container Registry Repository Reader)")


def _missing(thunk: Any) -> Any:
    try:
        return thunk()
    except ResourceNotFoundError:
        return None


def repository(reads: Reads, login: str, repo: str) -> Any | None:
    """The repository's properties, None when it does not exist."""
    c = reads.clients.registry(login)
    return reads.memo(("acr.repo", login.lower(), repo), lambda: read(
        f"read repository {repo} on {login}", PULL,
        lambda: _missing(lambda: c.get_repository_properties(repo))))


def manifest(reads: Reads, login: str, repo: str, ref: str) -> Any | None:
    """Manifest properties of ``repo:ref`` (tag or digest), None when not found."""
    c = reads.clients.registry(login)
    return reads.memo(("acr.manifest", login.lower(), repo, ref), lambda: read(
        f"read manifest {repo}:{ref} on {login}", PULL,
        lambda: _missing(lambda: c.get_manifest_properties(repo, ref))))


def repositories(reads: Reads, login: str) -> list[str]:
    c = reads.clients.registry(login)
    return reads.memo(("acr.catalog", login.lower()), lambda: read(
        f"list repositories on {login}", "AcrPull (catalog read)",
        lambda: list(c.list_repository_names())))


def tags(reads: Reads, login: str, repo: str) -> list[str]:
    c = reads.clients.registry(login)
    return reads.memo(("acr.tags", login.lower(), repo), lambda: read(
        f"list tags of {repo} on {login}", PULL,
        lambda: [t.name for t in c.list_tag_properties(repo)]))


def platforms(props: Any) -> list[tuple[str, str]]:
    """(os, architecture) pairs a manifest (list) serves."""
    def s(v: Any) -> str:
        return str(getattr(v, "value", v) or "").lower()  # SDK enums or plain strings
    related = getattr(props, "related_artifacts", None) or []
    if related:
        return [(s(r.operating_system), s(r.architecture)) for r in related]
    if props.operating_system or props.architecture:
        return [(s(props.operating_system), s(props.architecture))]
    return []
