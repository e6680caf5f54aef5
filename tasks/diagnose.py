"""Diagnosis of one cluster: detect → classify → choose checks → run → group by root cause.

Pure orchestration over the check registry; no Prefect here (``tasks/runner.py`` supplies a
``run`` callable that wraps each check as a Prefect task). Checks run once per distinct
*signature* of failing pods (same image, namespace, pull secrets, node platform, workload),
not once per pod, and cluster-wide checks once per cluster.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from pydantic import Field

from tasks.contract import (
    Category,
    Classification,
    ClusterRef,
    FailingPod,
    Finding,
    Frozen,
    Group,
    Status,
    Target,
)
from tasks.detect import failing_pods
from tasks.errors import describe
from tasks.kube_access import AccessPath
from tasks.reads import Reads
from tasks.registry import CheckSpec, load_checks
from tasks.targets import target_for

RunCheck = Callable[[CheckSpec, Target, Reads], Finding]
STOPPED_NOTE = ("stopped, not diagnosed: the cluster's powerState is Stopped, so it has no API "
                "server to read; nothing is planned or changed on it (start it with az aks start "
                "to diagnose it)")


class PodReport(Frozen):
    pod: FailingPod
    classification: Classification
    checks: tuple[str, ...]  # the checks whose findings apply to this pod


class RootCause(Frozen):
    """One cause, however many pods share it."""

    key: str
    check: str
    group: Group
    summary: str
    suggests: tuple[str, ...]
    pods: tuple[str, ...]  # namespace/name


class ClusterDiagnosis(Frozen):
    cluster: ClusterRef
    pods: tuple[PodReport, ...] = ()
    findings: tuple[Finding, ...] = ()
    targets: tuple[Target, ...] = ()  # the target each finding was made for (same order)
    root_causes: tuple[RootCause, ...] = ()
    error: str | None = None  # the cluster itself could not be diagnosed (unreachable, 403)
    checks_run: int = Field(0, ge=0)
    # how the Kubernetes API was reached: local-account | entra | run-command | stopped
    access: str | None = None
    not_diagnosed: str | None = None  # why a cluster was deliberately left alone (stopped)

    @property
    def failing_checks(self) -> list[str]:
        return sorted({f.check for f in self.findings if f.status == Status.FAIL})

    @property
    def suggested_fixes(self) -> list[str]:
        return sorted({s for f in self.findings if f.status == Status.FAIL for s in f.suggests})


def run_plain(spec: CheckSpec, target: Target, reads: Reads) -> Finding:
    """Run one check; an exception is an ERROR finding with the reason, never a crash."""
    try:
        return spec.fn(target, reads)
    except Exception as exc:  # noqa: BLE001 - any failure to determine is recorded, not raised
        return Finding(check=spec.name, status=Status.ERROR, group=spec.group,
                       summary=f"could not determine: {describe(exc)}", reason=describe(exc))


def relevant(checks: Iterable[CheckSpec], c: Classification) -> list[CheckSpec]:
    """The checks relevant to a pull error's class; every per-pod check when ambiguous."""
    return [s for s in checks if not s.cluster_wide
            and (c.ambiguous or c.category in s.categories)]


def _signature(pod: FailingPod) -> tuple[Any, ...]:
    return (pod.image, pod.namespace, pod.image_pull_secrets, pod.node_os, pod.node_arch,
            pod.node_pool, tuple(sorted(pod.node_selector.items())), pod.workload,
            pod.init_container, pod.message)


def diagnose_cluster(reads: Reads, ref: ClusterRef, *, namespace: str | None = None,
                     run: RunCheck = run_plain) -> ClusterDiagnosis:
    from tasks.classify import classify

    specs = load_checks()
    try:
        access = reads.kube_access(ref)
    except Exception as exc:  # noqa: BLE001 - an unreadable cluster is a result, not a crash
        hint = ""
        if getattr(exc, "status_code", None) == 403:
            hint = (" — give pullfix's identity the 'Azure Kubernetes Service Cluster User Role' "
                    f"(Reader to read the cluster) on {ref.id}")
        return ClusterDiagnosis(cluster=ref, error=f"cannot reach the cluster: {describe(exc)}"
                                                   f"{hint}")
    if access.path is AccessPath.STOPPED:
        # no API server to read; and nothing must be planned, reconciled or patched on it
        return ClusterDiagnosis(cluster=ref, access=access.path.value,
                                not_diagnosed=STOPPED_NOTE)
    try:
        pods = [p for p in failing_pods(reads, ref)
                if namespace is None or p.namespace == namespace]
    except Exception as exc:  # noqa: BLE001 - an unreachable cluster is a result, not a crash
        return ClusterDiagnosis(cluster=ref, access=access.path.value,
                                error=f"cannot read the cluster's pods: {describe(exc)}"
                                      f"{access_hint(access.path, ref, exc)}")
    by_signature: dict[tuple[Any, ...], list[FailingPod]] = {}
    for pod in pods:
        by_signature.setdefault(_signature(pod), []).append(pod)

    findings: dict[tuple[str, str], Finding] = {}
    targets: dict[tuple[str, str], Target] = {}
    reports: list[PodReport] = []
    affected: dict[tuple[str, str], set[str]] = {}
    runs = 0
    for group_pods in by_signature.values():
        first = group_pods[0]
        c = classify(first.message, first.reason)
        try:
            target = target_for(reads, ref, first, c)
        except Exception as exc:  # noqa: BLE001 - one failed read must not sink the sweep
            # the image's registry could not be looked up (ARM failed after its retries): the
            # cluster is reported with its failing pods and why it was not diagnosed
            return ClusterDiagnosis(
                cluster=ref, access=access.path.value,
                pods=tuple(PodReport(pod=p, classification=classify(p.message, p.reason),
                                     checks=()) for p in pods),
                error=f"cannot look up the registry of {first.image}: {describe(exc)}")
        chosen = relevant(specs.values(), c)
        names = []
        for spec in chosen:
            f = run(spec, target, reads)
            runs += 1
            k = (f.check, f.root_cause or f"{ref.id}|{f.check}|{_signature(first)}")
            findings.setdefault(k, f)
            targets.setdefault(k, target)
            names.append(spec.name)
            affected.setdefault(k, set()).update(f"{p.namespace}/{p.name}" for p in group_pods)
        reports += [PodReport(pod=p, classification=c, checks=tuple(names)) for p in group_pods]

    if pods:  # cluster-wide checks only matter when something fails
        cluster_target = Target(cluster=ref)
        # once per registry the failing pods pull from, so a check about the cluster's
        # relation to a registry (pullfix's rights on it) sees the registry
        per_registry: dict[str, Target] = {}
        for t in targets.values():
            if t.registry_id and t.registry_id.lower() not in per_registry:
                per_registry[t.registry_id.lower()] = Target(
                    cluster=ref, registry_host=t.registry_host, registry_id=t.registry_id)
        for spec in specs.values():
            if not spec.cluster_wide:
                continue
            for wide in list(per_registry.values()) or [cluster_target]:
                f = run(spec, wide, reads)
                runs += 1
                findings.setdefault((f.check, f.root_cause or ref.id), f)
                # a cluster-wide finding is acted on with the first failing pod's target
                first_target = next(iter(targets.values()), cluster_target)
                targets.setdefault((f.check, f.root_cause or ref.id), first_target)
                # a cluster-wide cause (the kubelet identity, the cluster's SP) affects every
                # failing pod of the cluster
                affected.setdefault((f.check, f.root_cause or ref.id), set()).update(
                    f"{p.namespace}/{p.name}" for p in pods)

    causes = [
        RootCause(key=k[1], check=f.check, group=f.group, summary=f.summary,
                  suggests=f.suggests, pods=tuple(sorted(affected.get(k, set()))))
        for k, f in findings.items() if f.status == Status.FAIL
    ]
    return ClusterDiagnosis(cluster=ref, pods=tuple(reports), findings=tuple(findings.values()),
                            targets=tuple(targets[k] for k in findings),
                            root_causes=tuple(causes), checks_run=runs,
                            access=access.path.value)


def access_hint(path: AccessPath, ref: ClusterRef, exc: BaseException) -> str:
    """What to grant when the cluster refused pullfix, per access path."""
    status = getattr(exc, "status", None) or getattr(exc, "status_code", None)
    if status not in (401, 403):
        return ""
    if path is AccessPath.ENTRA or path is AccessPath.RUN_COMMAND and status == 403 and \
            "in Azure" in str(getattr(exc, "body", "")):
        return (f" — assign pullfix's identity the 'Azure Kubernetes Service RBAC Reader' role on "
                f"the cluster {ref.id} (Azure RBAC for Kubernetes), or bind it to a Kubernetes "
                "role that may list pods, events, replica sets and jobs")
    if path is AccessPath.RUN_COMMAND:
        return (f" — assign pullfix's identity the 'Azure Kubernetes Service Cluster Admin Role' "
                f"(managedClusters/runCommand/action) on the cluster {ref.id}")
    return (" — the cluster rejected the kubeconfig from listClusterUserCredential: with "
            "local accounts disabled or Entra ID integration, give pullfix's identity "
            "'Azure Kubernetes Service RBAC Reader' on the cluster")


__all__ = ["Category", "ClusterDiagnosis", "PodReport", "RootCause", "diagnose_cluster",
           "relevant", "run_plain"]
