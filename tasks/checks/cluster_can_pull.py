"""cluster-can-pull — initial triage (≈ ``az aks check-acr``), judged by the real thing.

``az aks check-acr`` runs a pod that asks for an ACR token as the kubelet identity. pullfix
cannot act as the kubelet identity, so it uses the real thing: the failing pod's own pull,
as the kubelet reports it now. In a diagnosis the pod was just seen failing, so this check
re-reads it and says where it stands — NOT_APPLICABLE while it still cannot pull (the cause
checks explain why; this check never duplicates their FAIL), PASS once it pulls (the image
was pulled: the container has an imageID, or runs). After a fix, the remediation flow calls
:func:`pod_pulls_now` to verify (the pod, or when it was replaced, its workload's pods).

Kubelet text: any pull error (``ErrImagePull`` / ``ImagePullBackOff``).
Evidence: the pod's current container status (k8s GET pod).
Fix: none (``restart-failing-pods`` makes a backed-off pod retry now).
"""

from __future__ import annotations

from typing import Any

from kubernetes.client.exceptions import ApiException

from tasks import kube
from tasks.checks._reasons import no_pod
from tasks.contract import Evidence, Finding, Group, Status, Target
from tasks.detect import PULL_FAILURES
from tasks.reads import Reads
from tasks.registry import check

NAME = "cluster-can-pull"
GROUP = Group.IDENTITY


def _status(pod: dict[str, Any], container: str) -> dict[str, Any] | None:
    status = pod.get("status") or {}
    for st in (status.get("initContainerStatuses") or []) + (status.get("containerStatuses") or []):
        if st.get("name") == container:
            return st  # type: ignore[no-any-return]
    return None


def _pulled(st: dict[str, Any] | None) -> bool:
    if st is None:
        return False
    state = st.get("state") or {}
    waiting = state.get("waiting") or {}
    if waiting.get("reason") in PULL_FAILURES:
        return False
    return bool(st.get("imageID")) or bool(state.get("running") or state.get("terminated"))


def _owned_by(pod: dict[str, Any], workload: str) -> bool:
    for ref in (pod.get("metadata") or {}).get("ownerReferences") or []:
        # Deployment → ReplicaSet <name>-<hash>; CronJob → Job <name>-<n>; others own directly
        name = ref.get("name") or ""
        if ref.get("controller") and (name == workload or name.startswith(workload + "-")):
            return True
    return False


def pod_pulls_now(reads: Reads, target: Target) -> bool:
    """Does the failing container pull now? Reads the pod fresh (never memoized); when the
    pod is gone (restarted by a fix), every current pod of its workload must have pulled."""
    pod = target.pod
    if pod is None:
        return True
    api = reads.kube(target.cluster)
    try:
        live = kube.get(api, kube.path("api", "v1", "namespaces", pod.namespace, "pods", pod.name))
        if (live.get("metadata") or {}).get("uid") == pod.uid:
            return _pulled(_status(live, pod.container))
    except ApiException as exc:
        if exc.status != 404:
            raise
    if pod.workload is None:
        return False
    mates = [p for p in kube.list_all(api, kube.path("api", "v1", "namespaces", pod.namespace,
                                                     "pods"))
             if _owned_by(p, pod.workload.name)]
    return bool(mates) and all(_pulled(_status(p, pod.container)) for p in mates)


@check(NAME, group=GROUP,
       permissions=("Microsoft.ContainerService/managedClusters/listClusterUserCredential/action",))
def cluster_can_pull(target: Target, reads: Reads) -> Finding:
    if target.pod is None:
        return no_pod(NAME, GROUP)
    pod = target.pod
    ok = pod_pulls_now(reads, target)
    ev = (Evidence(source=f"k8s GET pod {pod.namespace}/{pod.name}",
                   detail=f"container {pod.container} ({pod.image}) "
                          + ("has pulled its image now" if ok else "still cannot pull"),
                   data={"pulls_now": ok}),)
    if ok:
        return Finding(check=NAME, status=Status.PASS, group=GROUP, evidence=ev,
                       summary=f"{pod.namespace}/{pod.name} pulls {pod.image} now")
    return Finding(check=NAME, status=Status.NOT_APPLICABLE, group=GROUP, evidence=ev,
                   summary=f"{pod.namespace}/{pod.name} still cannot pull {pod.image}; the "
                           "cause checks say why (this check verifies a fix)")
