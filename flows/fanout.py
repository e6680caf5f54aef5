"""An apply sweep's remediations as their own Prefect runs: one ``remediate-cluster`` run per
failing cluster through the deployment (``run_deployment``), so any number of workers share
them and each is its own run, rollback boundary, audit record and sign-off.

The sweep starts at most ``concurrency`` runs at a time and watches them until each is over
or waits for a person (PAUSED: its sign-off, listed by ``pullfix pending``); it never waits
for a sign-off itself. Without a deployment, or with no worker online in its pool, the
remediations run in the sweep's process, as subflows, and sign-offs are only recorded.

The per-sweep blast-radius cap holds with runs in parallel: each run is started with the
changes already made *plus* the most every run still going may make (the per-run cap), so
the sum can never pass the cap (a run may stop early; never too late)."""

from __future__ import annotations

import logging
import os
import time
from typing import Any
from uuid import UUID

from pydantic import BaseModel

from flows.runs import REPORT_KEY, WAITING_KEY, read_report
from tasks.diagnose import ClusterDiagnosis
from tasks.errors import describe
from tasks.remediate import ClusterOutcome, Outcome, RemediationReport

DEPLOYMENT_ENV = "PULLFIX_REMEDIATE_DEPLOYMENT"
DEFAULT_DEPLOYMENT = "remediate-cluster/remediate-cluster"
FINAL = frozenset({"COMPLETED", "FAILED", "CRASHED", "CANCELLED"})


class Engine(BaseModel):
    """Where a sweep's remediations run, and why (named in the sweep's report)."""

    kind: str  # deployment | in-process
    deployment: str
    work_pool: str = ""
    why: str

    @property
    def distributed(self) -> bool:
        return self.kind == "deployment"


def choose_engine(deployment: str | None = None) -> Engine:
    """The deployment when it exists and a worker is online in its pool, else in-process."""
    from prefect import get_client
    from prefect.client.schemas.objects import WorkPoolStatus
    from prefect.exceptions import ObjectNotFound

    name = deployment or os.environ.get(DEPLOYMENT_ENV) or DEFAULT_DEPLOYMENT
    try:
        with get_client(sync_client=True) as client:
            dep = client.read_deployment_by_name(name)
            pool = dep.work_pool_name or ""
            if pool and client.read_work_pool(pool).status != WorkPoolStatus.READY:
                return Engine(kind="in-process", deployment=name, work_pool=pool,
                              why=f"no worker is online in work pool '{pool}' (start one: "
                                  f"prefect worker start --pool {pool})")
    except ObjectNotFound:
        return Engine(kind="in-process", deployment=name,
                      why=f"no deployment '{name}' on this Prefect server (register them: "
                          "prefect deploy --all --prefect-file deployments/prefect.yaml)")
    except Exception as exc:  # noqa: BLE001 - Prefect unreachable: the sweep still runs
        return Engine(kind="in-process", deployment=name,
                      why=f"cannot read deployment '{name}': {describe(exc)}")
    return Engine(kind="deployment", deployment=name, work_pool=pool,
                  why=f"one '{name}' run per failing cluster on the workers of pool '{pool}'")


def _logger() -> logging.Logger:
    from prefect import get_run_logger

    return get_run_logger()  # type: ignore[return-value]


def _placeholder(d: ClusterDiagnosis, *, policy: str, outcome: ClusterOutcome, summary: str,
                 error: str | None = None) -> dict[str, Any]:
    return RemediationReport(cluster=d.cluster.name, id=d.cluster.id, policy=policy,
                             mode="apply", outcome=outcome, summary=summary,
                             failing_checks=d.failing_checks, error=error).as_json()


def _changes_in_audit(run_id: str) -> list[dict[str, Any]]:
    """What a run recorded as changed in the audit log: a run that ended without posting its
    report is still accounted for."""
    from tasks import audit

    try:
        recs = audit.store().records(run_id=run_id, kinds=(audit.Kind.CHANGE.value,))
    except Exception as exc:  # noqa: BLE001 - reported as unknown
        return [{"error": f"cannot read the audit log: {describe(exc)}"}]
    return [{"fix": r.payload.get("fix"), "applied": r.payload.get("applied"),
             "plan_hash": r.payload.get("plan_hash")} for r in recs]


def _settled(d: ClusterDiagnosis, run: Any, *, policy: str) -> dict[str, Any]:
    """The sweep's entry for a run that is over or waits for sign-off."""
    word = run.state.type.value if run.state else "UNKNOWN"
    rid = str(run.id)
    if word == "PAUSED":
        report = read_report(run.id, key=WAITING_KEY) or _placeholder(
            d, policy=policy, outcome=ClusterOutcome.BLOCKED,
            summary=f"waiting for sign-off in flow run {rid}")
        for rec in report.get("records", []):
            if rec.get("outcome") == Outcome.AWAITING_SIGN_OFF.value and "flow run" not in \
                    rec.get("reason", ""):
                rec["reason"] = (f"{rec.get('reason', '')}; waiting in flow run {rid}: "
                                 f"pullfix approve {rid}")
        report["waiting_run"] = rid
    else:
        report = read_report(run.id, key=REPORT_KEY) or _placeholder(
            d, policy=policy, outcome=ClusterOutcome.FAILED,
            summary=f"flow run {rid} ended {word} without a report",
            error=f"flow run {rid} ended {word}: {run.state.message if run.state else ''}")
        if report.get("error") and "without a report" in report.get("summary", ""):
            report["changes_recorded"] = _changes_in_audit(rid)
    report["flow_run_id"] = rid
    report["run_state"] = word.lower()
    return report


def fan_out(diagnoses: list[ClusterDiagnosis], *, engine: Engine, policy: str,
            verify_seconds: float | None, sweep_id: str, tags: list[str],
            concurrency: int, per_run_cap: int, watch_seconds: float,
            poll_seconds: float = 2.0) -> list[dict[str, Any]]:
    """Start one remediation run per cluster through the deployment (bounded) and watch them
    until each is over or paused for sign-off. Returns their reports, in cluster order."""
    from prefect import get_client
    from prefect.deployments import run_deployment

    logger = _logger()
    queue = list(diagnoses)
    active: dict[UUID, tuple[int, ClusterDiagnosis, float]] = {}
    out: dict[int, dict[str, Any]] = {}
    changes_done = 0
    order = {id(d): i for i, d in enumerate(diagnoses)}
    while queue or active:
        while queue and len(active) < max(1, concurrency):
            d = queue.pop(0)
            i = order[id(d)]
            params = {"cluster": d.cluster.id, "policy": policy, "sign_off": "after",
                      "verify_seconds": verify_seconds, "sweep_run_id": sweep_id,
                      # what is made + what the runs still going may make: never past the cap
                      "changes_before": changes_done + per_run_cap * len(active)}
            try:
                run: Any = run_deployment(engine.deployment, parameters=params, timeout=0,
                                     tags=tags, as_subflow=True,
                                     # a retried request finds the run it already made
                                     idempotency_key=f"{sweep_id}:{d.cluster.id.lower()}")
            except Exception as exc:  # noqa: BLE001 - this cluster is reported, not remediated
                out[i] = _placeholder(d, policy=policy, outcome=ClusterOutcome.FAILED,
                                      summary="its remediation run could not be started",
                                      error=f"cannot start a '{engine.deployment}' run: "
                                            f"{describe(exc)}")
                logger.warning("%s: %s", d.cluster.name, out[i]["error"])
                continue
            logger.info("%s: remediation started as flow run %s", d.cluster.name, run.id)
            active[run.id] = (i, d, time.monotonic())
        if not active:
            continue
        time.sleep(poll_seconds)
        try:
            with get_client(sync_client=True) as client:
                runs = {rid: client.read_flow_run(rid) for rid in list(active)}
        except Exception as exc:  # noqa: BLE001 - the runs go on; look again next time
            logger.warning("cannot read the remediation runs (will retry): %s", describe(exc))
            runs = {}
        for rid, run in runs.items():
            i, d, started = active[rid]
            word = run.state.type.value if run.state else ""
            if word in FINAL or word == "PAUSED":
                out[i] = _settled(d, run, policy=policy)
                changes_done += int(out[i].get("changes", 0) or 0)
                del active[rid]
                logger.info("%s: flow run %s %s", d.cluster.name, rid, out[i]["outcome"]
                            if word != "PAUSED" else "waits for sign-off")
            elif time.monotonic() - started > watch_seconds:
                out[i] = _placeholder(d, policy=policy, outcome=ClusterOutcome.BLOCKED,
                                      summary=f"flow run {rid} still {word.lower()} after "
                                              f"{int(watch_seconds)}s; its own report will "
                                              "follow in Prefect and the audit log")
                out[i].update(flow_run_id=str(rid), run_state=word.lower())
                # a run not yet started cannot count on the cap: reserve its share
                changes_done += per_run_cap
                del active[rid]
    return [out[i] for i in sorted(out)]
