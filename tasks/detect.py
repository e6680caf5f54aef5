"""Detection: the pods of one cluster that cannot pull, with the evidence captured now.

One list call per kind per cluster (pods, events, nodes, replica sets, jobs), joined here —
never a call per pod. Events expire (an hour by default), so the kubelet's exact message is
captured when the pod is first seen.

Lists are read as raw JSON through the client's ``ApiClient`` (``tasks.kube``): detection
reads a handful of fields, decoding every pod of a fleet into kubernetes models cost most of a
healthy cluster's CPU, and the typed API modules cost ≈ 0.6 s to import. A healthy cluster
costs one pod list.
"""

from __future__ import annotations

from typing import Any

from kubernetes.client.exceptions import ApiException

from tasks import kube
from tasks.contract import ClusterRef, FailingPod, WorkloadRef
from tasks.reads import Reads

PULL_FAILURES = ("ErrImagePull", "ImagePullBackOff")


def _nodes(api: Any) -> list[dict[str, Any]]:
    """The nodes, for each pod's OS and architecture. Azure RBAC's "Azure Kubernetes Service
    RBAC Reader" grants no ``nodes/read`` (nodes are cluster-scoped): without it detection goes
    on with the platform unknown, and the platform check says which role it lacks."""
    try:
        return kube.list_all(api, "/api/v1/nodes")
    except ApiException as exc:
        if exc.status == 403:
            return []
        raise


def _meta(obj: dict[str, Any]) -> dict[str, Any]:
    return obj.get("metadata") or {}


def _owner(obj: dict[str, Any]) -> dict[str, Any] | None:
    for ref in _meta(obj).get("ownerReferences") or []:
        if ref.get("controller"):
            return ref  # type: ignore[no-any-return]
    return None


def _statuses(pod: dict[str, Any]) -> list[tuple[bool, dict[str, Any]]]:
    status = pod.get("status") or {}
    return ([(True, s) for s in status.get("initContainerStatuses") or []]
            + [(False, s) for s in status.get("containerStatuses") or []])


def _waiting(st: dict[str, Any]) -> dict[str, Any]:
    return ((st.get("state") or {}).get("waiting")) or {}


def _cannot_pull(pod: dict[str, Any]) -> bool:
    return any(_waiting(s).get("reason") in PULL_FAILURES for _, s in _statuses(pod))


def failing_pods(reads: Reads, ref: ClusterRef) -> list[FailingPod]:
    api = reads.kube(ref)
    broken = [p for p in kube.list_all(api, "/api/v1/pods") if _cannot_pull(p)]
    if not broken:
        return []
    events = kube.list_all(api, "/api/v1/events")
    nodes = {_meta(n).get("name"): n for n in _nodes(api)}
    replicasets = {(_meta(r).get("namespace"), _meta(r).get("name")): r
                   for r in kube.list_all(api, "/apis/apps/v1/replicasets")}
    jobs = {(_meta(j).get("namespace"), _meta(j).get("name")): j
            for j in kube.list_all(api, "/apis/batch/v1/jobs")}
    failed: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for e in events:
        inv = e.get("involvedObject") or {}
        if e.get("reason") == "Failed" and inv.get("kind") == "Pod" and (
                e.get("message") or "").startswith("Failed to pull image"):
            failed.setdefault((inv.get("uid") or "", inv.get("fieldPath") or ""), []).append(e)

    out: list[FailingPod] = []
    for pod in broken:
        meta, spec = _meta(pod), pod.get("spec") or {}
        workload = _workload(pod, replicasets, jobs)
        node = nodes.get(spec.get("nodeName") or "")
        labels = (_meta(node).get("labels") or {}) if node else {}
        for init, st in _statuses(pod):
            waiting = _waiting(st)
            if waiting.get("reason") not in PULL_FAILURES:
                continue
            path = f"spec.{'initContainers' if init else 'containers'}{{{st.get('name')}}}"
            evs = sorted(failed.get((meta.get("uid") or "", path), []),
                         key=lambda e: str(e.get("lastTimestamp") or e.get("eventTime") or ""))
            message = evs[-1].get("message") if evs else (waiting.get("message") or "")
            out.append(FailingPod(
                namespace=meta.get("namespace"), name=meta.get("name"),
                uid=meta.get("uid"), node=spec.get("nodeName"), container=st.get("name"),
                init_container=init, image=st.get("image"), reason=waiting.get("reason"),
                message=message or "", workload=workload,
                image_pull_secrets=tuple(s.get("name") for s in spec.get("imagePullSecrets") or []),
                service_account=spec.get("serviceAccountName"),
                node_os=labels.get("kubernetes.io/os"),
                node_arch=labels.get("kubernetes.io/arch"),
                node_pool=labels.get("agentpool") or labels.get(
                    "kubernetes.azure.com/agentpool"),
                node_selector=dict(spec.get("nodeSelector") or {}),
            ))
    return out


def _workload(pod: dict[str, Any], replicasets: dict[tuple[Any, Any], dict[str, Any]],
              jobs: dict[tuple[Any, Any], dict[str, Any]]) -> WorkloadRef | None:
    ns = _meta(pod).get("namespace")
    owner = _owner(pod)
    if owner is None:
        return WorkloadRef(kind="Pod", namespace=ns, name=_meta(pod).get("name"))
    if owner.get("kind") == "ReplicaSet":
        rs = replicasets.get((ns, owner.get("name")))
        parent = _owner(rs) if rs is not None else None
        if parent is not None and parent.get("kind") == "Deployment":
            return WorkloadRef(kind="Deployment", namespace=ns, name=parent.get("name"))
        return WorkloadRef(kind="ReplicaSet", namespace=ns, name=owner.get("name"))
    if owner.get("kind") == "Job":
        job = jobs.get((ns, owner.get("name")))
        parent = _owner(job) if job is not None else None
        if parent is not None and parent.get("kind") == "CronJob":
            return WorkloadRef(kind="CronJob", namespace=ns, name=parent.get("name"))
        return WorkloadRef(kind="Job", namespace=ns, name=owner.get("name"))
    return WorkloadRef(kind=owner.get("kind"), namespace=ns, name=owner.get("name"))
