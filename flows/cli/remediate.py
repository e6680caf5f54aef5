"""``pullfix remediate``: one cluster, diagnosed and healed under a policy, with its progress
(each step, and each sign-off it waits for with the command that answers it) on stderr."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from flows.cli.exit_codes import for_outcome
from flows.cli.output import Output, OutputOpt, console, emit, quiet_prefect


def _print_records(summary: dict[str, Any]) -> None:
    from rich.table import Table

    out = console()
    out.print(f"[bold]{summary['cluster']}[/bold] under {summary['policy']} "
              f"(mode {summary['mode']}): [bold]{summary['outcome']}[/bold] — "
              f"{summary['summary']}")
    table = Table("pass", "fix", "outcome", "reason", "changes")
    for r in summary["records"]:
        table.add_row(str(r["pass_no"]), r["fix"], r["outcome"], r["reason"],
                      str(len(r["plan"]["changes"])))
    out.print(table)
    for pod in summary["remaining"]:
        out.print(f"still failing: {pod}")


class _Watch:
    """Progress of one remediation: its audit records as lines, and — from the Prefect run's
    state — each sign-off it waits for, with the exact commands that answer it. The run's
    state is read only once a decision has asked for a sign-off (the flow pauses only then):
    a remediation the policy lets through costs the Prefect server no read per second."""

    def __init__(self, progress: Any, cluster_id: str) -> None:
        self.progress = progress
        self.cluster_id = cluster_id.lower()
        self.run_id = ""
        self.announced: set[str] = set()
        self.sign_off_asked = False

    def record(self, rec: Any) -> None:
        from flows.cli.progress import describe_record

        if rec.cluster.lower() != self.cluster_id:
            return
        if rec.kind == "run-started":
            self.run_id = rec.run_id
        if self.run_id and rec.run_id != self.run_id:
            return
        if rec.kind == "decision" and rec.payload.get("outcome") == "sign-off":
            self.sign_off_asked = True
        text = describe_record(rec)
        if text:
            self.progress.line(text)

    def tick(self) -> None:
        from uuid import UUID

        from prefect.client.schemas.objects import StateType

        from flows.cli.signoff import _state, pause_description, waiting_line

        if not self.run_id or not self.sign_off_asked:
            return
        state = _state(UUID(self.run_id))
        if state is None or state.type != StateType.PAUSED or str(state.id) in self.announced:
            return
        self.announced.add(str(state.id))
        self.progress.line(waiting_line(self.run_id, pause_description(UUID(self.run_id), state)))


def register(app: typer.Typer) -> None:
    @app.command()
    def remediate(
        cluster: Annotated[str, typer.Option("--cluster", help="cluster name or ARM id")],
        policy: Annotated[str, typer.Option("--policy")] = "policies/default.yaml",
        defer: Annotated[bool, typer.Option(
            "--defer-sign-off", help="leave sign-off fixes pending instead of waiting")] = False,
        verify_seconds: Annotated[float | None, typer.Option(
            help="how long a fix's own checks may take (default: the policy's)")] = None,
        output: OutputOpt = Output.TABLE,
    ) -> None:
        """Diagnose one cluster and apply what the policy allows (waiting for sign-offs).

        Exit 0 when its pods pull, 1 when it is left unhealed."""
        from flows.heap import starting

        with starting():
            quiet_prefect()
            from flows.cli.progress import Progress, follow_audit
            from policies.model import load_policy
            from tasks.clients import Clients
            from tasks.reads import Reads
            from tasks.resolve import resolve_cluster

            load_policy(policy)
            ref = resolve_cluster(Reads(Clients()), cluster)
            from flows.remediate import remediate_cluster


        with Progress(f"remediating {ref.name} under {policy}") as progress:
            watch = _Watch(progress, ref.id)
            with follow_audit(watch.record, on_tick=watch.tick):
                summary = remediate_cluster(cluster=ref.id, policy=policy,
                                            sign_off="defer" if defer else "wait",
                                            verify_seconds=verify_seconds).as_json()
        if not emit(summary, output):
            _print_records(summary)
        raise typer.Exit(int(for_outcome(summary["outcome"])))
