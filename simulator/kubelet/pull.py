"""The outcome of one image pull, decided from world state in the order a real pull goes:
parse the reference → kubelet pull QPS → resolve the host from the node's VNet → reach it
(routes, firewall, NSGs, the registry's public-endpoint rules) → credentials in kubelet order
→ authorization → the manifest → a platform for the node.

Credentials (kubelet's keyring order): the pod's image pull secrets (its service account's
when the pod has none) whose registry matches, then what the node's credential provider
returns — for managed-identity clusters an ACR refresh token obtained with the kubelet
identity's token from IMDS (none when the identity is not on the pool's scale set, the
exchange cannot reach the registry, or ACR refuses the exchange), for service-principal
clusters the SP's appId and secret as basic auth. With no credential at all the pull is
anonymous. Each credential is a full pull attempt; the first that works wins.

Modelling choice for an unknown repository: ACR refuses the credential provider's token for
a repository it does not hold, so the pull falls back to an anonymous token request, which
ACR answers 401 unless anonymous pull is on — the "wrong name looks like 401" of the
troubleshooting guide (cause 2) and Azure/AKS#4052. Basic-auth credentials get the
registry's 404 instead.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from simulator.core.world import World
from simulator.kubelet import messages as msg
from simulator.kubelet import network
from simulator.kubelet.credentials import (
    Attempt,
    node_credential,
    repo_exists,
    secret_attempt,
    secret_entries,
)
from simulator.kubelet.messages import PullError, Wording
from simulator.kubelet.reference import DOCKER_HUB, InvalidReference, parse

DOCKER_HUB_HOST, DOCKER_HUB_IP = "registry-1.docker.io", "44.208.254.194"
# outcome cause -> the classification category of DESIGN.md ("Classifying pull errors")
CATEGORY = {
    "ok": "ok", "invalid_reference": "other", "pull_qps": "other", "host_not_found": "not_found",
    "dns_record_missing": "other", "docker_hub_unreachable": "timeout",
    "nsg_denied": "timeout", "route_drops": "timeout", "appliance_unreachable": "timeout",
    "firewall_denied": "timeout", "peering_not_connected": "timeout",
    "private_address_unreachable": "timeout", "public_access_disabled": "forbidden",
    "egress_ip_not_allowed": "forbidden", "tag_not_found": "not_found",
    "repository_not_found": "not_found", "platform_mismatch": "platform_mismatch",
}


@dataclass
class PullOutcome:
    ok: bool
    cause: str  # see CATEGORY; unauthorized causes name the failing credential's problem
    message: str  # the container status message (the runtime's error, as the kubelet keeps it)
    reason: str = "ErrImagePull"  # or InvalidImageName
    image_ref: str = ""  # normalized reference
    image_id: str = ""  # repo@digest for a successful pull
    size: int | None = None
    errors: list[PullError] = field(default_factory=list)

    @property
    def category(self) -> str:
        return CATEGORY.get(self.cause, "unauthorized")


def wording(cluster: dict[str, Any], profile: dict[str, Any]) -> Wording:
    node = {**(profile.get("_node") or {}), **(profile.get("_kubelet") or {})}
    kubelet_default = msg.version(profile.get("currentOrchestratorVersion") or profile.get(
        "orchestratorVersion") or cluster["properties"].get("kubernetesVersion"), (1, 30))
    return Wording(runtime=node.get("runtime") or "containerd",
                   containerd=msg.version(node.get("containerd_version"), (1, 7)),
                   kubelet=msg.version(node.get("kubelet_version"), kubelet_default))


def find_manifest(registry: dict[str, Any], repo: str, reference: str) -> dict[str, Any] | None:
    try:
        from simulator.registry.images import find_manifest as real
    except ImportError:
        real = None
    if real is not None:
        return real(registry, repo, reference)
    entry = (registry.get("_repositories") or {}).get(repo)
    if entry is None:
        return None
    digest = reference if reference.startswith("sha256:") else entry["tags"].get(reference)
    found = entry["manifests"].get(digest) if digest else None
    return dict(found, digest=digest) if found else None


def _digest_of(registry: dict[str, Any], repo: str, reference: str) -> str:
    if reference.startswith("sha256:"):
        return reference
    return ((registry.get("_repositories") or {}).get(repo) or {}).get("tags", {}).get(
        reference, "")


def _size(registry: dict[str, Any], repo: str, manifest: dict[str, Any], node_os: str,
          arch: str) -> int | None:
    manifests = ((registry.get("_repositories") or {}).get(repo) or {}).get("manifests", {})
    for child, plat in zip(manifest.get("children") or [], manifest.get("platforms") or [],
                           strict=False):
        if plat.get("os") == node_os and plat.get("architecture") == arch:
            manifest = manifests.get(child) or manifest
    try:
        body = json.loads(manifest.get("content") or "{}")
    except ValueError:
        return None
    sizes = [layer.get("size", 0) for layer in body.get("layers") or []]
    return sum(sizes) + (body.get("config") or {}).get("size", 0) if sizes else None


# -- the pull ----------------------------------------------------------------------------------
def evaluate(world: World, cluster: dict[str, Any], node: dict[str, Any] | None,
             pod: dict[str, Any], container: dict[str, Any]) -> PullOutcome:
    from simulator.containerregistry.models import registry_for_host
    from simulator.kubelet.nodes import node_platform, pool_of

    world.counters["pull_evaluations"] += 1
    profile = pool_of(cluster, node, pod)
    w = wording(cluster, profile)
    image = container.get("image") or ""
    try:
        ref = parse(image)
    except InvalidReference as exc:
        return PullOutcome(False, "invalid_reference", msg.invalid_name(image, str(exc)),
                           reason="InvalidImageName")

    def failed(cause: str, errors: list[PullError]) -> PullOutcome:
        return PullOutcome(False, cause, msg.render(errors, ref, w), image_ref=ref.normalized,
                           errors=errors)

    if {**(profile.get("_node") or {}), **(profile.get("_kubelet") or {})}.get(
            "pull_qps_exceeded"):
        return PullOutcome(False, "pull_qps", msg.PULL_QPS, image_ref=ref.normalized)
    url = msg.manifest_url(ref.host, ref)
    if ref.host == DOCKER_HUB:  # the simulated clusters have no route to Docker Hub
        return failed("docker_hub_unreachable", [PullError(
            "timeout", host=DOCKER_HUB_HOST, ip=DOCKER_HUB_IP,
            url=msg.manifest_url(DOCKER_HUB_HOST, ref))])
    net = network.node_network(world, cluster, profile)
    dns = net.dns_server if net else network.AZURE_DNS
    registry = registry_for_host(world, ref.host)
    if registry is None or net is None:
        return failed("host_not_found", [PullError("dns", host=ref.host, dns=dns, url=url)])
    ip, private = network.resolve(world, net.vnet, registry, ref.host)
    if ip is None:
        return failed("dns_record_missing", [PullError("dns", host=ref.host, dns=dns, url=url)])
    route = network.path(world, cluster, net, ip, private, ref.host)
    if not route.ok:
        return failed(route.cause, [PullError("timeout", host=ref.host, ip=ip, url=url)])
    refused = None if private else network.public_access(registry, route.egress_ips)
    client_ip = (route.egress_ips or [""])[0]

    attempts = [secret_attempt(world, registry, u, p)
                for u, p in secret_entries(world, cluster, pod, ref.host)]
    node_attempt, dropped = node_credential(world, cluster, profile, registry, ref,
                                             blocked=bool(refused))
    if node_attempt:
        attempts.append(node_attempt)
    if not attempts or w.legacy_credential_provider:
        attempts.append(Attempt("anonymous", fallback_cause=dropped))

    errors: list[PullError] = []
    causes: list[str] = []
    node_os, arch, variant = node_platform(node, profile)
    for a in attempts:
        anonymous = a.kind == "anonymous"
        if refused:
            errors.append(PullError("token", host=ref.host, anonymous=anonymous, status=403,
                                    ip=client_ip, url=url))
            causes.append(refused)
            continue
        cause = a.cause
        if anonymous and not registry["properties"].get("anonymousPullEnabled"):
            cause = a.fallback_cause or "no_credentials"
        if cause:
            errors.append(PullError("token", host=ref.host, anonymous=anonymous, status=401,
                                    url=url))
            causes.append(cause)
            continue
        manifest = find_manifest(registry, ref.repository, ref.reference)
        if manifest is None:
            missing = not repo_exists(registry, ref.repository)
            errors.append(PullError("not_found", host=ref.host, repo_missing=missing, url=url))
            causes.append("repository_not_found" if missing else "tag_not_found")
            continue
        platforms = manifest.get("platforms") or []
        if platforms and not any(p.get("os") == node_os and p.get("architecture") == arch
                                 for p in platforms):
            plat = f"{node_os}/{arch}" + (f"/{variant}" if variant else "")
            errors.append(PullError("platform", host=ref.host, platform=plat, url=url))
            causes.append("platform_mismatch")
            continue
        digest = manifest.get("digest") or _digest_of(registry, ref.repository, ref.reference)
        return PullOutcome(True, "ok", "", image_ref=ref.normalized,
                           image_id=f"{ref.host}/{ref.repository}@{digest}",
                           size=_size(registry, ref.repository, manifest, node_os, arch))
    return failed(causes[0], errors)
