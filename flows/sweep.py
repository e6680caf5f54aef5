"""The fleet sweep: every visible subscription (or the ones asked for), every cluster,
diagnosed with bounded concurrency and a per-subscription ARM request rate limit, summarised
with root causes grouped across the fleet. ``mode="plan"`` changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from prefect import flow
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.task_runners import ThreadPoolTaskRunner

from tasks.clients import Clients
from tasks.contract import ClusterRef
from tasks.diagnose import ClusterDiagnosis
from tasks.errors import PermanentError, describe
from tasks.inventory import clusters
from tasks.reads import Reads
from tasks.report import sweep_json
from tasks.resolve import resolve_subscriptions
from tasks.runner import diagnose_cluster_task

# set by the CLI to draw a progress bar: called with (done, total, cluster name)
PROGRESS: Callable[[int, int, str], None] | None = None
MODES = ("plan", "apply")


def _markdown(summary: dict[str, Any]) -> str:
    lines = [f"# Fleet sweep ({summary['mode']})", "",
             f"{summary['clusters']} clusters, {summary['failing_clusters']} with failing pods, "
             f"{summary['failing_pods']} failing pods.", "", "## Root causes", ""]
    for c in summary["root_causes"]:
        lines.append(f"- **{c['check']}** — {c['summary']} — fix: "
                     f"{', '.join(c['fixes']) or 'report only'} — {len(c['clusters'])} "
                     f"cluster(s), {c['pods']} pod(s)")
    if summary.get("engine"):
        lines += ["", f"Remediations: {summary['engine']['note']}."]
    if summary["unreachable_clusters"]:
        lines += ["", "## Could not be diagnosed", ""] + [
            f"- {c}" for c in summary["unreachable_clusters"]]
    return "\n".join(lines)


# eight clusters at a time: a cluster's diagnosis mostly waits on the network (ARM, its API
# server), and ArmBudgetPolicy, not the thread count, keeps ARM's budget (bench/fleet_sweep.py)
@flow(name="fleet-sweep", log_prints=False, persist_result=False,
      task_runner=ThreadPoolTaskRunner(max_workers=8))  # type: ignore[arg-type]
def fleet_sweep(mode: str = "plan", subscriptions: list[str] | None = None,
                arm_rate_per_second: float = 25.0, policy: str | None = None,
                verify_seconds: float | None = None, remediate_deployment: str | None = None,
                concurrency: int = 4, watch_seconds: float = 3600.0) -> dict[str, Any]:
    """``plan``: diagnose only. ``apply``: then remediate each failing cluster under the
    policy, each its own ``remediate-cluster`` run, rollback boundary and record: through
    the deployment (``remediate_deployment``, default ``remediate-cluster/remediate-cluster``
    or ``$PULLFIX_REMEDIATE_DEPLOYMENT``) on the workers, at most ``concurrency`` at a time,
    their sign-offs waiting as paused runs; in this process only when no deployment (or no
    worker) is there. The sweep never waits for a sign-off; it watches each run up to
    ``watch_seconds``."""
    if mode not in MODES:
        raise PermanentError(f"unknown mode '{mode}'; valid: {', '.join(MODES)}")
    if mode == "apply" and not policy:
        raise PermanentError("--mode apply needs --policy FILE (e.g. policies/default.yaml)")
    reads = Reads(Clients(arm_rate_per_second=arm_rate_per_second))
    wanted = resolve_subscriptions(reads, subscriptions)
    listed: dict[str, Any] = {}
    refs = [ClusterRef(subscription_id=c.subscription_id, resource_group=c.resource_group,
                       name=c.name, id=c.id)
            for c in clusters(reads.clients, documents=listed)
            if wanted is None or c.subscription_id.lower() in wanted]
    # the list returned every cluster's document: no cluster is read again to be reached
    reads.seed_clusters(listed)
    del listed
    futures = [diagnose_cluster_task.submit(reads, ref, forget_healthy=True) for ref in refs]
    results: list[ClusterDiagnosis] = []
    for i, fut in enumerate(futures, 1):
        results.append(fut.result())
        if PROGRESS:
            PROGRESS(i, len(futures), results[-1].cluster.name)
    summary = sweep_json(results, mode=mode)
    if mode == "plan":
        # per failing cluster, the fixes it calls for and whether Azure would let pullfix
        # make them (a missing right or a policy assignment, named)
        from tasks.remediate import previews_json

        by_id = {d.cluster.id: d for d in results}
        for r in summary["results"]:
            d = by_id.get(r["id"])
            if d is not None and d.failing_checks:
                r.update(previews_json(reads, d))
    if mode == "apply":
        _apply(summary, results, reads, policy=policy or "", verify_seconds=verify_seconds,
               deployment=remediate_deployment, concurrency=concurrency,
               watch_seconds=watch_seconds)
    # what the sweep changed is done; Prefect failing to store a record of it must not lose
    # the report: each record that cannot be made is named in it (``not_recorded``)
    summary.setdefault("not_recorded", [])
    _safely(summary, "the fleet-sweep artifact", lambda: create_markdown_artifact(
        key="fleet-sweep", markdown=_markdown(summary), description="pullfix fleet sweep"))
    _safely(summary, "the fleet-sweep-root-causes artifact", lambda: create_table_artifact(
        key="fleet-sweep-root-causes", table=[
            {"check": c["check"], "fixes": ", ".join(c["fixes"]), "clusters": len(c["clusters"]),
             "pods": c["pods"], "summary": c["summary"]} for c in summary["root_causes"]]
        or [{"check": "-", "fixes": "-", "clusters": 0, "pods": 0,
             "summary": "nothing failing"}]))
    _publish_report(summary)
    return summary


def _apply(summary: dict[str, Any], results: list[ClusterDiagnosis], reads: Reads, *, policy: str,
           verify_seconds: float | None, deployment: str | None, concurrency: int,
           watch_seconds: float) -> None:
    """Remediate the failing clusters (see ``fleet_sweep``) and add what happened to
    ``summary``: ``engine``, ``remediations``, ``outcomes``, ``changes``, ``awaiting_sign_off``."""
    import os

    from prefect import get_run_logger
    from prefect.context import get_run_context

    from flows.fanout import choose_engine, fan_out
    from flows.remediate import remediate_cluster
    from policies.model import load_policy
    from tasks import audit
    from tasks.audit.steps import file_hash

    logger = get_run_logger()
    run = get_run_context().flow_run  # type: ignore[union-attr]
    sweep_id = str(run.id)  # type: ignore[union-attr]
    # the runs may start in another folder (a worker's): the policy by its absolute path
    policy = os.path.abspath(policy)
    failing = [d for d in results if d.failing_checks]
    engine = choose_engine(deployment)
    logger.info("remediations: %s (%s)", engine.kind, engine.why)
    audit.record(audit.Kind.SWEEP_STARTED, {
        "policy": policy, "policy_hash": file_hash(policy), "mode": "apply",
        "engine": engine.kind, "deployment": engine.deployment if engine.distributed else "",
        "clusters": [d.cluster.id for d in failing]}, run_id=sweep_id)
    # a run killed between an intent and its outcome may have healed a cluster that now
    # needs no remediation: reconcile its open intents here, or they stay open forever
    from flows.remediate import _reconcile_intents

    open_on = {i.cluster.lower() for i in audit.open_intents()}
    for d in results:
        if d.cluster.id.lower() in open_on and not (d.pods or d.error or d.not_diagnosed):
            _reconcile_intents(d.cluster, d, reads, sweep_id)
    if engine.distributed and failing:
        cap = load_policy(policy).limits.max_changes_per_run or 0
        remediations = fan_out(failing, engine=engine, policy=policy,
                               verify_seconds=verify_seconds, sweep_id=sweep_id,
                               tags=sorted(set(run.tags or []) | {"pullfix-sweep"}),  # type: ignore[union-attr]
                               concurrency=concurrency, per_run_cap=cap,
                               watch_seconds=watch_seconds)
    else:
        changes, remediations = 0, []
        for d in failing:
            state = remediate_cluster(cluster=d.cluster.id, policy=policy, sign_off="defer",
                                      verify_seconds=verify_seconds, changes_before=changes,
                                      sweep_run_id=sweep_id, return_state=True)
            try:
                r = state.result().as_json()
            except Exception as exc:  # noqa: BLE001 - one cluster's failed run must not end
                # the sweep: the clusters after it would be lost; this one is reported failed
                r = _failed_run(d, policy, "apply", describe(exc))
            changes += r["changes"]
            remediations.append(r)
    changes = sum(int(r.get("changes", 0) or 0) for r in remediations)
    summary["engine"] = engine.model_dump() | {"note": (
        f"remediations ran as their own flow runs through deployment '{engine.deployment}'"
        if engine.distributed else f"remediations ran in the sweep's process: {engine.why}")}
    summary["remediations"] = remediations
    keys = remediations[0]["counts"] if remediations else {}
    summary["outcomes"] = {k: sum(r["counts"].get(k, 0) for r in remediations) for k in keys}
    summary["changes"] = changes
    summary["awaiting_sign_off"] = [
        {"flow_run_id": r.get("waiting_run", ""), "cluster": r["cluster"], "fix": rec["fix"],
         "plan_hash": rec.get("decision", {}).get("plan_hash", "")}
        for r in remediations for rec in r.get("records", [])
        if rec["outcome"] == "awaiting_sign_off"]
    audit.record(audit.Kind.RUN_ENDED, {"counts": summary["outcomes"], "changes": changes,
                                        "engine": engine.kind}, run_id=sweep_id)


def _failed_run(d: ClusterDiagnosis, policy: str, mode: str, why: str) -> dict[str, Any]:
    from tasks.remediate import ClusterOutcome, RemediationReport

    return RemediationReport(cluster=d.cluster.name, id=d.cluster.id, policy=policy, mode=mode,
                             outcome=ClusterOutcome.FAILED, failing_checks=d.failing_checks,
                             summary=f"the remediation run failed: {why}", error=why).as_json()


def _safely(summary: dict[str, Any], what: str, record: Callable[[], Any]) -> None:
    """Make one Prefect record (the client has already retried 429/502/503); if Prefect
    still refuses, say so in the sweep's report and its log, and go on."""
    from prefect import get_run_logger

    from tasks.errors import describe

    try:
        record()
    except Exception as exc:  # noqa: BLE001 - named in the report, never silent
        summary.setdefault("not_recorded", []).append(f"{what}: {describe(exc)}")
        get_run_logger().warning("could not record %s in Prefect: %s", what, describe(exc))


def _publish_report(summary: dict[str, Any]) -> None:
    """The fleet report: an HTML file under ``$PULLFIX_HOME/reports`` (its path in the summary
    as ``report_html``), a markdown artifact summarising it, and one webhook message when a
    sign-off waits or a fix failed. None of it can fail the sweep: its work is done."""
    import datetime as dt

    from prefect import get_run_logger
    from prefect.context import get_run_context

    from tasks.fleet_report import fleet_markdown, write_fleet_report
    from tasks.notify import notify

    logger = get_run_logger()
    run_id = str(get_run_context().flow_run.id)  # type: ignore[union-attr]
    summary["report_html"] = None
    try:
        summary["report_html"] = str(write_fleet_report(
            summary, run_id=run_id, generated=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")))
    except OSError as exc:
        logger.warning("could not write the fleet report: %s", exc)
    _safely(summary, "the fleet-report artifact", lambda: create_markdown_artifact(
        key="fleet-report", markdown=fleet_markdown(summary, html_path=summary["report_html"] or ""),
        description="pullfix fleet report"))
    notify(summary, report=summary["report_html"] or "", logger=logger)
