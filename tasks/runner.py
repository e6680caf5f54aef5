"""The only place in tasks/ that imports Prefect: checks (and, later, fixes) as tasks.

Retries are for transient errors only (throttling, 5xx, dropped connections); a permanent
error is recorded at once as the check's ERROR. Checks' inputs and outputs are never
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


@task(name="check", task_run_name="{spec.name}", retries=2, retry_delay_seconds=[1, 4],
      retry_condition_fn=_transient_only, cache_policy=NO_CACHE, persist_result=False,
      log_prints=False)
def _check_task(spec: CheckSpec, target: Target, reads: Reads) -> Finding:
    return spec.fn(target, reads)


def run_check(spec: CheckSpec, target: Target, reads: Reads) -> Finding:
    """A check as a Prefect task; an exception left after retries is an ERROR finding."""
    try:
        return _check_task(spec, target, reads)
    except Exception as exc:  # noqa: BLE001 - "could not determine" is a result, not a crash
        return Finding(check=spec.name, status=Status.ERROR, group=spec.group,
                       summary=f"could not determine: {describe(exc)}", reason=describe(exc))


@task(name="diagnose-cluster", task_run_name="diagnose-{ref.name}", cache_policy=NO_CACHE,
      persist_result=False)
def diagnose_cluster_task(reads: Reads, ref: ClusterRef, namespace: str | None = None
                          ) -> ClusterDiagnosis:
    return diagnose_cluster(reads, ref, namespace=namespace, run=run_check)
