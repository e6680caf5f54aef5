"""``pullfix diagnose`` and ``pullfix sweep``: the diagnosis flows from the command line."""

from __future__ import annotations

import json
import os
import sys
from typing import Annotated, Any, NoReturn

import typer


def _quiet_prefect() -> None:
    # Prefect's own INFO lines would interleave with the report; keep warnings and errors
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("PREFECT_LOGGING_TO_API_ENABLED", "false")
    # no usage telemetry from an operator's tool (its first write also races the ephemeral
    # server's SQLite migrations: "database is locked")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")


def _fail(message: str) -> NoReturn:
    typer.echo(f"pullfix: {message}", err=True)
    raise typer.Exit(2)


def _print_cluster_table(result: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=None if sys.stdout.isatty() else 200)
    console.print(f"[bold]{result['cluster']}[/bold]  {result['id']}")
    if result["error"]:
        console.print(f"[red]could not diagnose:[/red] {result['error']}")
        return
    console.print(f"{result['failing_pods']} failing pod(s); checks run: {result['checks_run']}")
    table = Table("root cause (check)", "group", "fix", "pods", "summary")
    for rc in result["root_causes"]:
        table.add_row(rc["check"], rc["group"], ", ".join(rc["suggests"]) or "report only",
                      str(len(rc["pods"])), rc["summary"])
    console.print(table)
    if result.get("plans"):
        plans = Table("planned fix", "risk", "changes", "can pullfix make it?")
        for p in result["plans"]:
            plans.add_row(p["fix"], p["risk"], str(p["changes"]),
                          f"[red]no:[/red] {p['blocked']}" if p["blocked"] else "yes")
        console.print(plans)
    if result.get("plans_error"):
        console.print(f"[yellow]{result['plans_error']}[/yellow]")


def _check_report_target(report: str) -> None:
    """Before the sweep runs: ``--report`` must name a folder or a file in an existing folder."""
    from pathlib import Path

    target = Path(report).expanduser()
    if not target.is_dir() and not target.parent.is_dir():
        _fail(f"--report {report}: the folder {target.parent} does not exist; create it or "
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
            _fail(f"could not copy the fleet report to {target}: {exc.strerror or exc}; it is "
                  f"at {src}")
        where = str(target)
    typer.echo(f"fleet report: {where}", err=err)


def register(app: typer.Typer) -> None:
    @app.command()
    def diagnose(
        cluster: Annotated[str, typer.Option("--cluster", help="cluster name or ARM id")],
        namespace: Annotated[str | None, typer.Option("--namespace", "-n")] = None,
        output: Annotated[str, typer.Option("-o", "--output", help="table | json")] = "table",
    ) -> None:
        """Diagnose one cluster: failing pods, why, evidence, and the fix each would get."""
        _quiet_prefect()
        from tasks.clients import Clients
        from tasks.cloud import CloudProfileError
        from tasks.errors import PermanentError
        from tasks.reads import Reads
        from tasks.resolve import resolve_cluster

        # resolve before starting Prefect: a typo gets its one-line answer at once
        try:
            ref = resolve_cluster(Reads(Clients()), cluster)
        except (PermanentError, CloudProfileError) as exc:
            _fail(str(exc))
        from flows.diagnose import diagnose_cluster_flow

        try:
            result = diagnose_cluster_flow(cluster=ref.id, namespace=namespace)
        except (PermanentError, CloudProfileError) as exc:
            _fail(str(exc))
        if output == "json":
            typer.echo(json.dumps(result, indent=2))
        else:
            _print_cluster_table(result)
        if result["error"]:
            typer.echo(f"pullfix: {result['cluster']}: {result['error']}", err=True)
            raise typer.Exit(1)

    @app.command()
    def sweep(
        mode: Annotated[str, typer.Option(
            "--mode", help="plan (changes nothing) | apply (what --policy allows)")] = "plan",
        policy: Annotated[str | None, typer.Option(
            "--policy", help="policy file for --mode apply")] = None,
        subscription: Annotated[list[str] | None, typer.Option(
            "--subscription", help="limit to these subscriptions (name or id; repeatable)")] = None,
        rate: Annotated[float, typer.Option(
            "--rate", help="ARM requests per second per subscription")] = 20.0,
        output: Annotated[str, typer.Option("-o", "--output", help="table | json")] = "table",
        report: Annotated[str | None, typer.Option(
            "--report", help="also copy the HTML fleet report to this file (or folder)")] = None,
    ) -> None:
        """Sweep every visible subscription's clusters and summarise root causes."""
        _quiet_prefect()
        if report is not None:
            _check_report_target(report)
        from rich.progress import Progress

        import flows.sweep as sweep_mod
        from tasks.cloud import CloudProfileError
        from tasks.errors import PermanentError

        progress = Progress(transient=True, disable=output == "json" or not sys.stderr.isatty())
        task_id = progress.add_task("diagnosing clusters", total=None)

        def tick(done: int, total: int, name: str) -> None:
            progress.update(task_id, completed=done, total=total,
                            description=f"diagnosed {name}")

        from tasks.clients import Clients
        from tasks.reads import Reads
        from tasks.resolve import resolve_subscriptions

        if mode not in sweep_mod.MODES:
            _fail(f"unknown mode '{mode}'; valid: {', '.join(sweep_mod.MODES)}")
        if mode == "apply":
            from policies.model import PolicyError, load_policy

            if not policy:
                _fail("--mode apply needs --policy FILE (e.g. policies/default.yaml)")
            try:
                load_policy(policy)
            except PolicyError as exc:
                _fail(str(exc))
        try:  # before starting Prefect: a wrong subscription gets its one-line answer at once
            resolve_subscriptions(Reads(Clients()), subscription)
        except (PermanentError, CloudProfileError) as exc:
            _fail(str(exc))
        sweep_mod.PROGRESS = tick
        try:
            with progress:
                summary = sweep_mod.fleet_sweep(mode=mode, subscriptions=subscription,
                                                arm_rate_per_second=rate, policy=policy)
        except (PermanentError, CloudProfileError) as exc:
            _fail(str(exc))
        finally:
            sweep_mod.PROGRESS = None
        if output == "json":
            typer.echo(json.dumps(summary, indent=2))
            _report_line(summary, report, err=True)  # stdout stays one JSON document
            return
        from rich.console import Console
        from rich.table import Table

        console = Console(width=None if sys.stdout.isatty() else 200)
        console.print(f"[bold]fleet sweep ({summary['mode']})[/bold]: {summary['clusters']} "
                      f"clusters, {summary['failing_clusters']} failing, "
                      f"{summary['failing_pods']} failing pods")
        table = Table("root cause (check)", "fix", "clusters", "pods", "summary")
        for c in summary["root_causes"]:
            table.add_row(c["check"], ", ".join(c["fixes"]) or "report only",
                          str(len(c["clusters"])), str(c["pods"]), c["summary"])
        console.print(table)
        for cid in summary["unreachable_clusters"]:
            console.print(f"[red]could not diagnose[/red] {cid}")
        if summary.get("remediations") is not None:
            console.print("outcomes: " + ", ".join(f"{k} {v}" for k, v in
                                                    summary["outcomes"].items() if v))
            fixes = Table("cluster", "fix", "outcome", "reason")
            for r in summary["remediations"]:
                for rec in r["records"]:
                    fixes.add_row(r["cluster"], rec["fix"], rec["outcome"], rec["reason"])
            console.print(fixes)
        _report_line(summary, report, err=False)
