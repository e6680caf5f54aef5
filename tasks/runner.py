"""The only place in tasks/ that imports Prefect: checks (and, later, fixes) as tasks.

Checks run inside their cluster's task; retries are for transient errors only (throttling,
5xx, dropped connections) and run as a ``check`` task; a permanent error is recorded at once
as the check's ERROR. Checks' inputs and outputs are never
cached or persisted (NO_CACHE): a target can carry a kubelet message, and nothing a check
reads should land in result storage.
"""

from __future__ import annotations

from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from tasks.contract import ClusterRef, Finding, Status, Target
from tasks.diagnose import ClusterDiagnosis, diagnose_cluster
from tasks.errors import describe, is_transient
from tasks.reads import Reads
from tasks.registry import CheckSpec


def _transient_only(task_: Any, task_run: Any, state: Any) -> bool:
    try:
        state.result()
    except Exception as exc:  # noqa: BLE001 - deciding whether to retry needs the exception
        return is_transient(exc)
    return False


@task(name="check", task_run_name="{spec.name}", retries=1, retry_delay_seconds=4,
      retry_condition_fn=_transient_only, cache_policy=NO_CACHE, persist_result=False,
      log_prints=False)
def _check_task(spec: CheckSpec, target: Target, reads: Reads) -> Finding:
    return spec.fn(target, reads)


def run_check(spec: CheckSpec, target: Target, reads: Reads) -> Finding:
    """A check, run in its cluster's task; one that meets a transient error (throttling, 5xx,
    a dropped connection: azure-core has retried it already) is run again as a Prefect task
    that retries once more, so the retries show in the run's UI where they happened. An
    exception left after that is an ERROR finding.

    Why not a task per check: a Prefect task costs ~7 ms of CPU (state, events, parameter
    visits), more than most checks' own work, and a failing cluster runs a dozen or more —
    measured in ``bench/fleet_sweep.py``. Auditors read findings in the sweep's report and the
    audit log, which record every check either way."""
    try:
        return spec.fn(target, reads)
    except Exception as exc:  # noqa: BLE001 - "could not determine" is a result, not a crash
        if not is_transient(exc):
            return _error(spec, exc)
    try:
        return _check_task(spec, target, reads)
    except Exception as exc:  # noqa: BLE001
        return _error(spec, exc)


def _error(spec: CheckSpec, exc: BaseException) -> Finding:
    return Finding(check=spec.name, status=Status.ERROR, group=spec.group,
                   summary=f"could not determine: {describe(exc)}", reason=describe(exc))


@task(name="diagnose-cluster", task_run_name="diagnose-{ref.name}", cache_policy=NO_CACHE,
      persist_result=False)
def diagnose_cluster_task(reads: Reads, ref: ClusterRef, namespace: str | None = None, *,
                          forget_healthy: bool = False) -> ClusterDiagnosis:
    """``forget_healthy`` (a fleet sweep): a cluster with nothing failing is done with, so
    its documents and Kubernetes client are let go at once; a failing one's stay for the plan
    and the fixes that follow."""
    diagnosis = diagnose_cluster(reads, ref, namespace=namespace, run=run_check)
    if forget_healthy and not diagnosis.pods:
        reads.forget_cluster(ref)
    return diagnosis
