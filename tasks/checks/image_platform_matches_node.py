"""image-platform-matches-node (cause 5) and image-arch-matches-node (its 401-looking twin).

Failure mode: the image's manifest (list) has no entry for the OS/architecture of the node
the pod runs on — a linux image scheduled on Windows by ``nodeSelector kubernetes.io/os``,
an amd64-only image on an Arm64 pool: ``no match for platform in manifest`` / ``no matching
manifest for …``. Newer guide: an architecture mismatch can also surface as ``401
Unauthorized`` (anonymous-token fallback); ``image-arch-matches-node`` is the same judgement
registered for that class, and FAILs only when the message reads unauthorized (elsewhere
image-platform-matches-node reports it).

Evidence: the image's platforms (ACR manifest properties: ``references`` of a list, or the
single manifest's os/architecture), the node's OS/arch (node labels), the pod's nodeSelector,
and the cluster's node pools (k8s node labels, grouped by pool) that could run the image.
Fix: ``set-os-node-selector`` (patch the owning workload's nodeSelector to a matching OS).
"""

from __future__ import annotations

from tasks import kube
from tasks.checks import _images as img
from tasks.checks._reasons import CannotRead, error, no_pod, not_applicable, read
from tasks.contract import Category, Evidence, Finding, Group, Status, Target
from tasks.reads import Reads
from tasks.reference import InvalidReference, parse
from tasks.registry import check

GROUP = Group.WORKLOAD
PERMS = ("Microsoft.ContainerRegistry/registries/pull/read",
         "Microsoft.ContainerService/managedClusters/listClusterUserCredential/action")


def _pools(reads: Reads, target: Target) -> dict[str, tuple[str, str]]:
    """pool → (os, arch) from the nodes' labels (what the scheduler sees)."""
    def load() -> dict[str, tuple[str, str]]:
        nodes = read(f"list nodes of {target.cluster.name}", "Azure Kubernetes Service Cluster "
                     "User Role and read access to nodes", lambda: kube.list_all(
                         reads.kube(target.cluster), "/api/v1/nodes"))
        out = {}
        for n in nodes:
            lb = (n.get("metadata") or {}).get("labels") or {}
            pool = lb.get("kubernetes.azure.com/agentpool") or lb.get("agentpool") or "?"
            out[pool] = (lb.get("kubernetes.io/os", ""), lb.get("kubernetes.io/arch", ""))
        return out
    return reads.memo(("k8s.pools", target.cluster.id.lower()), load)


def _judge(name: str, target: Target, reads: Reads) -> Finding:
    pod = target.pod
    assert pod is not None
    if not target.registry_id or not target.registry_host:
        return not_applicable(name, GROUP, "the image is not in a registry pullfix can see")
    try:
        ref = parse(pod.image)
    except InvalidReference:
        return not_applicable(name, GROUP, "the image reference is invalid "
                              "(image-reference-valid reports it)")
    props = img.manifest(reads, target.registry_host, ref.repository, ref.reference)
    if props is None:
        return not_applicable(name, GROUP, f"{pod.image} does not exist "
                              "(image-reference-valid reports it)")
    plats = img.platforms(props)
    want_os = pod.node_selector.get("kubernetes.io/os") or pod.node_os
    want_arch = pod.node_selector.get("kubernetes.io/arch") or pod.node_arch
    pools = _pools(reads, target)
    fits = [p for p, (o, a) in pools.items() if (o, a) in plats]
    shown = [f"{o}/{a}" for o, a in plats]
    ev = [Evidence(source=f"ACR GET https://{target.registry_host}/acr/v1/{ref.repository}/"
                   f"_manifests/{props.digest}", detail=f"image platforms: {shown}",
                   data={"platforms": shown}),
          Evidence(source=f"k8s pod {pod.namespace}/{pod.name}, node {pod.node}",
                   detail=f"node {pod.node_os}/{pod.node_arch} (pool {pod.node_pool}); "
                          f"nodeSelector {pod.node_selector}",
                   data={"node_os": pod.node_os, "node_arch": pod.node_arch,
                         "node_selector": pod.node_selector}),
          Evidence(source=f"k8s list nodes ({target.cluster.name})",
                   detail="pools: " + ", ".join(f"{p}={o}/{a}" for p, (o, a) in pools.items())
                          + f"; could run it: {fits or 'none'}",
                   data={"pools": {p: f"{o}/{a}" for p, (o, a) in pools.items()},
                         "fitting_pools": fits})]
    if not plats or not (want_os or want_arch):
        return not_applicable(name, GROUP, "cannot tell the image's or the node's platform",
                              evidence=tuple(ev))
    ok = any((not want_os or o == want_os) and (not want_arch or a == want_arch)
             for o, a in plats)
    if ok:
        return Finding(check=name, status=Status.PASS, group=GROUP, evidence=tuple(ev),
                       summary=f"{pod.image} has a {want_os}/{want_arch} image ({shown})")
    pinned = " (nodeSelector kubernetes.io/os)" if "kubernetes.io/os" in pod.node_selector else ""
    advice = (f"pools that could run it: {', '.join(fits)}" if fits else
              f"no pool can run it: add a {shown[0] if shown else '?'} pool or build a "
              "multi-platform image")
    return Finding(
        check=name, status=Status.FAIL, group=GROUP, evidence=tuple(ev),
        suggests=("set-os-node-selector",),
        root_cause=f"platform:{target.registry_host}/{ref.repository}@{props.digest}"
                   f"->{target.cluster.id.lower()}:{want_os}/{want_arch}",
        summary=f"{pod.image} is built for {', '.join(shown)} but the pod runs on "
                f"{want_os}/{want_arch}{pinned}; {advice}")


def _run(name: str, target: Target, reads: Reads) -> Finding:
    if target.pod is None:
        return no_pod(name, GROUP)
    try:
        return _judge(name, target, reads)
    except CannotRead as exc:
        return error(name, GROUP, exc)


@check("image-platform-matches-node", group=GROUP, suggests=("set-os-node-selector",),
       permissions=PERMS, categories=(Category.PLATFORM_MISMATCH,))
def image_platform_matches_node(target: Target, reads: Reads) -> Finding:
    return _run("image-platform-matches-node", target, reads)


@check("image-arch-matches-node", group=GROUP, suggests=("set-os-node-selector",),
       permissions=PERMS, categories=(Category.UNAUTHORIZED,))
def image_arch_matches_node(target: Target, reads: Reads) -> Finding:
    if target.pod is None:
        return no_pod("image-arch-matches-node", GROUP)
    cls = target.classification
    if cls is None or cls.category != Category.UNAUTHORIZED:
        return not_applicable("image-arch-matches-node", GROUP, "the pull error does not read "
                              "unauthorized: image-platform-matches-node judges the platform")
    return _run("image-arch-matches-node", target, reads)
