"""Detection: the pods of one cluster that cannot pull, with the evidence captured now.

One list call per kind per cluster (pods, events, nodes, replica sets, jobs), joined here —
never a call per pod. Events expire (an hour by default), so the kubelet's exact message is
captured when the pod is first seen.
"""

from __future__ import annotations

from typing import Any

from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from tasks.contract import ClusterRef, FailingPod, WorkloadRef
from tasks.reads import Reads

PULL_FAILURES = ("ErrImagePull", "ImagePullBackOff")


def _list_all(call: Any, **kwargs: Any) -> list[Any]:
    """Every item of a list call, following ``continue`` tokens (bounded pages)."""
    items: list[Any] = []
    token = None
    for _ in range(1000):
        page = call(limit=500, _continue=token, **kwargs) if token else call(limit=500, **kwargs)
        items += page.items
        token = page.metadata._continue
        if not token:
            return items
    raise RuntimeError("more than 500,000 objects: refusing to page further")


def _nodes(core: k8s.CoreV1Api) -> list[Any]:
    """The nodes, for each pod's OS and architecture. Azure RBAC's "Azure Kubernetes Service
    RBAC Reader" grants no ``nodes/read`` (nodes are cluster-scoped): without it detection goes
    on with the platform unknown, and the platform check says which role it lacks."""
    try:
        return _list_all(core.list_node)
    except ApiException as exc:
        if exc.status == 403:
            return []
        raise


def _owner(obj: Any) -> Any | None:
    for ref in obj.metadata.owner_references or []:
        if ref.controller:
            return ref
    return None


def failing_pods(reads: Reads, ref: ClusterRef) -> list[FailingPod]:
    api = reads.kube(ref)
    core, apps, batch = k8s.CoreV1Api(api), k8s.AppsV1Api(api), k8s.BatchV1Api(api)
    pods = _list_all(core.list_pod_for_all_namespaces)
    broken = [p for p in pods if any(
        s.state and s.state.waiting and s.state.waiting.reason in PULL_FAILURES
        for s in (p.status.init_container_statuses or []) + (p.status.container_statuses or []))]
    if not broken:
        return []
    events = _list_all(core.list_event_for_all_namespaces)
    nodes = {n.metadata.name: n for n in _nodes(core)}
    replicasets = {(r.metadata.namespace, r.metadata.name): r
                   for r in _list_all(apps.list_replica_set_for_all_namespaces)}
    jobs = {(j.metadata.namespace, j.metadata.name): j
            for j in _list_all(batch.list_job_for_all_namespaces)}
    failed: dict[tuple[str, str], list[Any]] = {}
    for e in events:
        inv = e.involved_object
        if e.reason == "Failed" and inv and inv.kind == "Pod" and (e.message or "").startswith(
                "Failed to pull image"):
            failed.setdefault((inv.uid or "", inv.field_path or ""), []).append(e)

    out: list[FailingPod] = []
    for pod in broken:
        workload = _workload(pod, replicasets, jobs)
        node = nodes.get(pod.spec.node_name or "")
        labels = (node.metadata.labels or {}) if node else {}
        for init, statuses in ((True, pod.status.init_container_statuses or []),
                               (False, pod.status.container_statuses or [])):
            for st in statuses:
                waiting = st.state.waiting if st.state else None
                if not waiting or waiting.reason not in PULL_FAILURES:
                    continue
                path = f"spec.{'initContainers' if init else 'containers'}{{{st.name}}}"
                evs = sorted(failed.get((pod.metadata.uid, path), []),
                             key=lambda e: str(e.last_timestamp or e.event_time or ""))
                message = evs[-1].message if evs else (waiting.message or "")
                out.append(FailingPod(
                    namespace=pod.metadata.namespace, name=pod.metadata.name,
                    uid=pod.metadata.uid, node=pod.spec.node_name, container=st.name,
                    init_container=init, image=st.image, reason=waiting.reason, message=message,
                    workload=workload,
                    image_pull_secrets=tuple(s.name for s in pod.spec.image_pull_secrets or []),
                    service_account=pod.spec.service_account_name,
                    node_os=labels.get("kubernetes.io/os"),
                    node_arch=labels.get("kubernetes.io/arch"),
                    node_pool=labels.get("agentpool") or labels.get(
                        "kubernetes.azure.com/agentpool"),
                    node_selector=dict(pod.spec.node_selector or {}),
                ))
    return out


def _workload(pod: Any, replicasets: dict[tuple[str, str], Any],
              jobs: dict[tuple[str, str], Any]) -> WorkloadRef | None:
    ns = pod.metadata.namespace
    owner = _owner(pod)
    if owner is None:
        return WorkloadRef(kind="Pod", namespace=ns, name=pod.metadata.name)
    if owner.kind == "ReplicaSet":
        rs = replicasets.get((ns, owner.name))
        parent = _owner(rs) if rs is not None else None
        if parent is not None and parent.kind == "Deployment":
            return WorkloadRef(kind="Deployment", namespace=ns, name=parent.name)
        return WorkloadRef(kind="ReplicaSet", namespace=ns, name=owner.name)
    if owner.kind == "Job":
        job = jobs.get((ns, owner.name))
        parent = _owner(job) if job is not None else None
        if parent is not None and parent.kind == "CronJob":
            return WorkloadRef(kind="CronJob", namespace=ns, name=parent.name)
        return WorkloadRef(kind="Job", namespace=ns, name=owner.name)
    return WorkloadRef(kind=owner.kind, namespace=ns, name=owner.name)
