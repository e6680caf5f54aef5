"""``pullfix diagnose`` and ``pullfix sweep``: the diagnosis flows from the command line."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from flows.cli.errors import fail
from flows.cli.exit_codes import HEALTHY, ExitCode
from flows.cli.output import Output, OutputOpt, console, emit, quiet_prefect


def _print_cluster_table(result: dict[str, Any]) -> None:
    from rich.table import Table

    out = console()
    out.print(f"[bold]{result['cluster']}[/bold]  {result['id']}")
    if result["error"]:
        out.print(f"[red]could not diagnose:[/red] {result['error']}")
        return
    out.print(f"{result['failing_pods']} failing pod(s); checks run: {result['checks_run']}")
    table = Table("root cause (check)", "group", "fix", "pods", "summary")
    for rc in result["root_causes"]:
        table.add_row(rc["check"], rc["group"], ", ".join(rc["suggests"]) or "report only",
                      str(len(rc["pods"])), rc["summary"])
    out.print(table)
    if result.get("plans"):
        plans = Table("planned fix", "risk", "changes", "can pullfix make it?")
        for p in result["plans"]:
            plans.add_row(p["fix"], p["risk"], str(p["changes"]),
                          f"[red]no:[/red] {p['blocked']}" if p["blocked"] else "yes")
        out.print(plans)
    if result.get("plans_error"):
        out.print(f"[yellow]{result['plans_error']}[/yellow]")


def _check_report_target(report: str) -> None:
    """Before the sweep runs: ``--report`` must name a folder or a file in an existing folder."""
    from pathlib import Path

    target = Path(report).expanduser()
    if not target.is_dir() and not target.parent.is_dir():
        fail(f"--report {report}: the folder {target.parent} does not exist; create it or "
              "give another path")


def _report_line(summary: dict[str, Any], report: str | None, *, err: bool) -> None:
    """One plain line naming the HTML fleet report (piped output too), after copying it where
    ``--report`` asks."""
    import shutil
    from pathlib import Path

    src = summary.get("report_html")
    if not src:
        typer.echo("fleet report: not written (see the sweep's log)", err=True)
        return
    where = src
    if report is not None:
        target = Path(report).expanduser()
        if target.is_dir():
            target = target / Path(src).name
        try:
            shutil.copyfile(src, target)
        except OSError as exc:
            fail(f"could not copy the fleet report to {target}: {exc.strerror or exc}; it is "
                  f"at {src}")
        where = str(target)
    typer.echo(f"fleet report: {where}", err=err)


def sweep_exit_code(summary: dict[str, Any]) -> ExitCode:
    """1 when the sweep found (plan) or left (apply) problems: a cluster that could not be
    diagnosed, failing pods (plan), a remediation that did not heal its cluster (apply)."""
    if summary.get("unreachable_clusters"):
        return ExitCode.FAILING
    remediations = summary.get("remediations")
    if remediations is None:
        return ExitCode.FAILING if summary.get("failing_clusters") else ExitCode.OK
    return ExitCode.FAILING if any(r.get("outcome") not in HEALTHY for r in remediations) \
        else ExitCode.OK


def register(app: typer.Typer) -> None:
    @app.command()
    def diagnose(
        cluster: Annotated[str, typer.Option("--cluster", help="cluster name or ARM id")],
        namespace: Annotated[str | None, typer.Option("--namespace", "-n")] = None,
        output: OutputOpt = Output.TABLE,
    ) -> None:
        """Diagnose one cluster: failing pods, why, evidence, and the fix each would get.

        Exit 1 when pods fail to pull (or the cluster could not be diagnosed)."""
        from flows.heap import starting

        with starting():
            quiet_prefect()
            from tasks.clients import Clients
            from tasks.reads import Reads
            from tasks.resolve import resolve_cluster

            # resolve before starting Prefect: a typo gets its one-line answer at once
            ref = resolve_cluster(Reads(Clients()), cluster)
            from flows.cli.progress import Progress
            from flows.diagnose import diagnose_cluster_flow

        with Progress(f"diagnosing {ref.name}"):
            result = diagnose_cluster_flow(cluster=ref.id, namespace=namespace)
        if not emit(result, output):
            _print_cluster_table(result)
        if result["error"]:
            typer.echo(f"pullfix: {result['cluster']}: {result['error']}", err=True)
            raise typer.Exit(int(ExitCode.FAILING))
        if result["failing_pods"]:
            raise typer.Exit(int(ExitCode.FAILING))

    @app.command()
    def sweep(
        mode: Annotated[str, typer.Option(
            "--mode", help="plan (changes nothing) | apply (what --policy allows)")] = "plan",
        policy: Annotated[str | None, typer.Option(
            "--policy", help="policy file for --mode apply")] = None,
        subscription: Annotated[list[str] | None, typer.Option(
            "--subscription", help="limit to these subscriptions (name or id; repeatable)")] = None,
        rate: Annotated[float, typer.Option(
            "--rate", help="ARM reads per second per subscription (ARM: 25, after a burst of 250)")] = 25.0,
        output: OutputOpt = Output.TABLE,
        report: Annotated[str | None, typer.Option(
            "--report", help="also copy the HTML fleet report to this file (or folder)")] = None,
    ) -> None:
        """Sweep every visible subscription's clusters and summarise root causes.

        Exit 1 when pods fail (plan) or a cluster is left unhealed (apply)."""
        quiet_prefect()
        if report is not None:
            _check_report_target(report)
        from flows.heap import starting

        with starting():
            import flows.sweep as sweep_mod
            from flows.cli.progress import Progress, describe_record, follow_audit
            from tasks.clients import Clients
            from tasks.reads import Reads
            from tasks.resolve import resolve_subscriptions

            if mode not in sweep_mod.MODES:
                fail(f"unknown mode '{mode}'; valid: {', '.join(sweep_mod.MODES)}")
            if mode == "apply":
                from policies.model import load_policy

                if not policy:
                    fail("--mode apply needs --policy FILE (e.g. policies/default.yaml)")
                load_policy(policy)
            # before starting Prefect: a missing credential or a wrong subscription gets its
            # one-line answer at once, not a flow run's traceback
            clients = Clients()
            clients.credential.get_token(clients.profile.arm_scope)
            resolve_subscriptions(Reads(clients), subscription)
        with Progress(f"fleet sweep ({mode})") as progress:
            sweep_mod.PROGRESS = lambda done, total, name: progress.count(
                done, total, f"diagnosed {name}")
            try:
                if mode == "apply":
                    # each remediation's steps, as its flow records them (here or on a worker)
                    def on_record(rec: Any) -> None:
                        text = describe_record(rec)
                        if text:
                            progress.line(text)

                    with follow_audit(on_record):
                        summary = sweep_mod.fleet_sweep(mode=mode, subscriptions=subscription,
                                                        arm_rate_per_second=rate, policy=policy)
                else:
                    summary = sweep_mod.fleet_sweep(mode=mode, subscriptions=subscription,
                                                    arm_rate_per_second=rate, policy=policy)
            finally:
                sweep_mod.PROGRESS = None
        code = sweep_exit_code(summary)
        if emit(summary, output):
            _report_line(summary, report, err=True)  # stdout stays one document
            raise typer.Exit(int(code))
        _print_sweep(summary)
        _report_line(summary, report, err=False)
        raise typer.Exit(int(code))


def _print_sweep(summary: dict[str, Any]) -> None:
    from rich.table import Table

    out = console()
    out.print(f"[bold]fleet sweep ({summary['mode']})[/bold]: {summary['clusters']} "
              f"clusters, {summary['failing_clusters']} failing, "
              f"{summary['failing_pods']} failing pods")
    table = Table("root cause (check)", "fix", "clusters", "pods", "summary")
    for c in summary["root_causes"]:
        table.add_row(c["check"], ", ".join(c["fixes"]) or "report only",
                      str(len(c["clusters"])), str(c["pods"]), c["summary"])
    out.print(table)
    for cid in summary["unreachable_clusters"]:
        out.print(f"[red]could not diagnose[/red] {cid}")
    if summary.get("remediations") is not None:
        out.print("outcomes: " + ", ".join(f"{k} {v}" for k, v in
                                           summary["outcomes"].items() if v))
        fixes = Table("cluster", "fix", "outcome", "reason")
        for r in summary["remediations"]:
            for rec in r["records"]:
                fixes.add_row(r["cluster"], rec["fix"], rec["outcome"], rec["reason"])
        out.print(fixes)
        if summary.get("engine"):
            out.print(f"engine: {summary['engine'].get('note', summary['engine'].get('kind'))}")
        for w in summary.get("awaiting_sign_off") or []:
            if w.get("flow_run_id"):
                out.print(f"waiting for sign-off: {w['fix']} on {w['cluster']}; an approver "
                          f"runs: pullfix approve {w['flow_run_id']}")
    for what in summary.get("not_recorded") or []:
        out.print(f"[yellow]not recorded in Prefect[/yellow]: {what}")
