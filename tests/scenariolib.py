"""Helpers for scenario-library tests: reach a cluster's Kubernetes API the way an operator
does (kubeconfig from listClusterUserCredential), read pods and events, and wait — with a
bound — for pods to heal or keep failing."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kubernetes import client as k8s

from tasks.inventory import clusters
from tests.simharness import Sim


@dataclass
class Kube:
    core: k8s.CoreV1Api
    apps: k8s.AppsV1Api
    batch: k8s.BatchV1Api
    resource_group: str
    subscription: str


def kube(sim: Sim, cluster: str, tmp_path: Path) -> Kube:
    """The cluster's API the way pullfix reaches it: the user kubeconfig's static token, an
    Entra token (Entra ID clusters) or kubectl through runCommand (private clusters)."""
    ref = next(c for c in clusters(sim.clients()) if c.name == cluster)
    api = sim.clients().kube(ref.subscription_id, ref.resource_group, cluster)
    return Kube(k8s.CoreV1Api(api), k8s.AppsV1Api(api), k8s.BatchV1Api(api),
                ref.resource_group, ref.subscription_id)


def pods(kb: Kube, namespace: str, workload: str) -> list[Any]:
    return kb.core.list_namespaced_pod(namespace, label_selector=f"app={workload}").items


def waiting_reasons(pod: Any) -> list[str]:
    statuses = (pod.status.init_container_statuses or []) + (pod.status.container_statuses or [])
    return [s.state.waiting.reason for s in statuses if s.state and s.state.waiting]


def is_running(pod: Any) -> bool:
    statuses = pod.status.container_statuses or []
    return pod.status.phase == "Running" and bool(statuses) and all(
        s.state and s.state.running for s in statuses)


def failed_messages(kb: Kube, pod: Any) -> list[str]:
    events = kb.core.list_namespaced_event(
        pod.metadata.namespace,
        field_selector=f"involvedObject.name={pod.metadata.name},involvedObject.uid={pod.metadata.uid}")
    return [e.message for e in events.items
            if e.reason == "Failed" and not (e.message or "").startswith("Error: ")]


def wait_running(kb: Kube, namespace: str, workload: str, *, seconds: float = 20) -> list[Any]:
    """Poll (bounded) until every pod of the workload runs; return them, or raise with what
    the pods show."""
    deadline = time.monotonic() + seconds
    while True:
        found = pods(kb, namespace, workload)
        if found and all(is_running(p) for p in found):
            return found
        if time.monotonic() > deadline:
            shown = [(p.metadata.name, p.status.phase, waiting_reasons(p)) for p in found]
            raise AssertionError(f"{namespace}/{workload} not running after {seconds}s: {shown}")
        time.sleep(0.2)


def still_failing(kb: Kube, namespace: str, workload: str) -> list[Any]:
    found = pods(kb, namespace, workload)
    assert found, f"no pods for {namespace}/{workload}"
    assert not any(is_running(p) for p in found), [p.metadata.name for p in found]
    assert all(set(waiting_reasons(p)) & {"ErrImagePull", "ImagePullBackOff"} for p in found), [
        waiting_reasons(p) for p in found]
    return found


# flow runs this test process starts carry this tag, so helpers that answer or list paused
# sign-offs on the shared Prefect server only touch their own (xdist workers run side by side)
WORKER_TAG = f"pytest-worker-{os.getpid()}"


def own_paused_runs() -> list[Any]:
    from flows.cli.signoff import _paused_runs

    return [r for r in _paused_runs() if WORKER_TAG in (r.tags or [])]
