"""The owning workload of a failing pod, for the fixes that change a pod template: read it and
patch its template (strategic merge, as ``kubectl patch`` does). Only controllers whose template
may change are supported — never a bare pod, never a Job (its template is immutable)."""

from __future__ import annotations

from typing import Any

from kubernetes import client as k8s

from tasks.contract import ClusterRef, WorkloadRef
from tasks.fixes._idfix import k8s_id
from tasks.reads import Reads

KINDS = ("Deployment", "StatefulSet", "DaemonSet", "CronJob")


def supported(workload: WorkloadRef | None) -> str | None:
    """None when the workload's template can be patched, else why not."""
    if workload is None or workload.kind == "Pod":
        return "the pod has no owning controller: pullfix never edits a bare pod"
    if workload.kind not in KINDS:
        return f"a {workload.kind}'s pod template cannot be changed in place"
    return None


def resource(cluster: ClusterRef, w: WorkloadRef) -> str:
    return k8s_id(cluster.id, w.kind, w.namespace, w.name)


def read(reads: Reads, cluster: ClusterRef, w: WorkloadRef) -> Any:
    api = reads.kube(cluster)
    if w.kind == "CronJob":
        return k8s.BatchV1Api(api).read_namespaced_cron_job(w.name, w.namespace)
    apps = k8s.AppsV1Api(api)
    return getattr(apps, f"read_namespaced_{_snake(w.kind)}")(w.name, w.namespace)


def pod_spec(obj: Any, kind: str) -> Any:
    return (obj.spec.job_template.spec.template.spec if kind == "CronJob"
            else obj.spec.template.spec)


def patch_pod_spec(reads: Reads, cluster: ClusterRef, w: WorkloadRef, spec: dict[str, Any]) -> None:
    api = reads.kube(cluster)
    if w.kind == "CronJob":
        body = {"spec": {"jobTemplate": {"spec": {"template": {"spec": spec}}}}}
        k8s.BatchV1Api(api).patch_namespaced_cron_job(w.name, w.namespace, body)
        return
    apps = k8s.AppsV1Api(api)
    getattr(apps, f"patch_namespaced_{_snake(w.kind)}")(w.name, w.namespace,
                                                        {"spec": {"template": {"spec": spec}}})


def container_image(spec: Any, container: str, init: bool) -> str | None:
    for c in (spec.init_containers if init else spec.containers) or []:
        if c.name == container:
            return str(c.image)
    return None


def image_patch(container: str, init: bool, image: str) -> dict[str, Any]:
    return {"initContainers" if init else "containers": [{"name": container, "image": image}]}


def _snake(kind: str) -> str:
    return {"Deployment": "deployment", "StatefulSet": "stateful_set",
            "DaemonSet": "daemon_set"}[kind]
