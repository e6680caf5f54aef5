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
    if summary["unreachable_clusters"]:
        lines += ["", "## Could not be diagnosed", ""] + [
            f"- {c}" for c in summary["unreachable_clusters"]]
    return "\n".join(lines)


@flow(name="fleet-sweep", log_prints=False, persist_result=False,
      task_runner=ThreadPoolTaskRunner(max_workers=4))  # type: ignore[arg-type]
def fleet_sweep(mode: str = "plan", subscriptions: list[str] | None = None,
                arm_rate_per_second: float = 20.0, policy: str | None = None,
                verify_seconds: float | None = None) -> dict[str, Any]:
    """``plan``: diagnose only. ``apply``: then remediate each failing cluster under the
    policy (its own run, rollback boundary and record), leaving sign-offs pending."""
    if mode not in MODES:
        raise PermanentError(f"unknown mode '{mode}'; valid: {', '.join(MODES)}")
    if mode == "apply" and not policy:
        raise PermanentError("--mode apply needs --policy FILE (e.g. policies/default.yaml)")
    reads = Reads(Clients(arm_rate_per_second=arm_rate_per_second))
    wanted = resolve_subscriptions(reads, subscriptions)
    refs = [ClusterRef(subscription_id=c.subscription_id, resource_group=c.resource_group,
                       name=c.name, id=c.id)
            for c in clusters(reads.clients)
            if wanted is None or c.subscription_id.lower() in wanted]
    futures = [diagnose_cluster_task.submit(reads, ref) for ref in refs]
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
        from prefect.context import get_run_context

        from flows.remediate import remediate_cluster
        from tasks import audit
        from tasks.audit.steps import file_hash

        sweep_id = str(get_run_context().flow_run.id)  # type: ignore[union-attr]
        audit.record(audit.Kind.SWEEP_STARTED, {
            "policy": policy, "policy_hash": file_hash(policy or ""), "mode": mode,
            "clusters": [d.cluster.id for d in results if d.failing_checks]}, run_id=sweep_id)

        # a run killed between an intent and its outcome may have healed a cluster that now
        # needs no remediation: reconcile its open intents here, or they stay open forever
        from flows.remediate import _reconcile_intents

        open_on = {i.cluster.lower() for i in audit.open_intents()}
        for d in results:
            if d.cluster.id.lower() in open_on and not (d.pods or d.error or d.not_diagnosed):
                _reconcile_intents(d.cluster, d, reads, sweep_id)

        changes = 0
        remediations = []
        for d in results:
            if not d.failing_checks:
                continue
            state = remediate_cluster(cluster=d.cluster.id, policy=policy or "",
                                      sign_off="defer", verify_seconds=verify_seconds,
                                      changes_before=changes, sweep_run_id=sweep_id,
                                      return_state=True)
            try:
                r = state.result().as_json()
            except Exception as exc:  # noqa: BLE001 - one cluster's failed run must not end
                # the sweep: the clusters after it would be lost; this one is reported failed
                r = _failed_run(d, policy or "", mode, describe(exc))
            changes += r["changes"]
            remediations.append(r)
        summary["remediations"] = remediations
        summary["outcomes"] = {k: sum(r["counts"].get(k, 0) for r in remediations)
                               for k in (remediations[0]["counts"] if remediations else {})}
        summary["changes"] = changes
        audit.record(audit.Kind.RUN_ENDED, {"counts": summary["outcomes"], "changes": changes},
                     run_id=sweep_id)
    create_markdown_artifact(key="fleet-sweep", markdown=_markdown(summary),
                             description="pullfix fleet sweep")
    create_table_artifact(key="fleet-sweep-root-causes", table=[
        {"check": c["check"], "fixes": ", ".join(c["fixes"]), "clusters": len(c["clusters"]),
         "pods": c["pods"], "summary": c["summary"]} for c in summary["root_causes"]]
        or [{"check": "-", "fixes": "-", "clusters": 0, "pods": 0, "summary": "nothing failing"}])
    _publish_report(summary)
    return summary


def _failed_run(d: ClusterDiagnosis, policy: str, mode: str, why: str) -> dict[str, Any]:
    from tasks.remediate import ClusterOutcome, RemediationReport

    return RemediationReport(cluster=d.cluster.name, id=d.cluster.id, policy=policy, mode=mode,
                             outcome=ClusterOutcome.FAILED, failing_checks=d.failing_checks,
                             summary=f"the remediation run failed: {why}", error=why).as_json()


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
    create_markdown_artifact(key="fleet-report", markdown=fleet_markdown(
        summary, html_path=summary["report_html"] or ""), description="pullfix fleet report")
    notify(summary, report=summary["report_html"] or "", logger=logger)
