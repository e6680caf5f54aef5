"""``pullfix remediate``, ``pending``, ``approve`` and ``reject``."""

from __future__ import annotations

import json
import re
import sys
from typing import Annotated, Any

import typer

from flows.cli_diagnose import _fail, _quiet_prefect


def _print_records(summary: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=None if sys.stdout.isatty() else 200)
    console.print(f"[bold]{summary['cluster']}[/bold] under {summary['policy']} "
                  f"(mode {summary['mode']}): [bold]{summary['outcome']}[/bold] — "
                  f"{summary['summary']}")
    table = Table("pass", "fix", "outcome", "reason", "changes")
    for r in summary["records"]:
        table.add_row(str(r["pass_no"]), r["fix"], r["outcome"], r["reason"],
                      str(len(r["plan"]["changes"])))
    console.print(table)
    for pod in summary["remaining"]:
        console.print(f"still failing: {pod}")


def _paused_runs() -> list[Any]:
    from prefect import get_client
    from prefect.client.schemas.filters import (
        FlowFilter,
        FlowFilterName,
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType

    with get_client(sync_client=True) as client:
        return list(client.read_flow_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=["remediate-cluster"])),
            flow_run_filter=FlowRunFilter(state=FlowRunFilterState(
                type=FlowRunFilterStateType(any_=[StateType.PAUSED])))))


def _description(run: Any) -> str:
    from prefect import get_client

    keyset = run.state.state_details.run_input_keyset or {}
    with get_client(sync_client=True) as client:
        try:
            return str(client.read_flow_run_input(flow_run_id=run.id,
                                                  key=keyset["description"]))
        except Exception:  # noqa: BLE001 - a run without a description still lists
            return ""


def _answer(run_id: str, approve: bool, comment: str) -> None:
    from uuid import UUID

    from prefect.flow_runs import resume_flow_run

    from tasks.clients import build_credential
    from tasks.cloud import from_environment

    runs = {str(r.id): r for r in _paused_runs()}
    run = runs.get(run_id) or next((r for i, r in runs.items() if i.startswith(run_id)), None)
    if run is None:
        _fail(f"no remediation is waiting for sign-off under id '{run_id}'; see `pullfix "
              "pending`")
    desc = _description(run)
    m = re.search(r"\[plan ([0-9a-f]{64})\]", desc)
    if not m:
        _fail(f"flow run {run.id} is paused but not for a pullfix sign-off")
    run_input: dict[str, Any] = {"plan_hash": m.group(1), "run_id": str(run.id),
                                 "approve": approve, "comment": comment}
    if approve:
        # sign in as the person approving: the flow verifies this token, the CLI does not
        profile = from_environment()
        run_input["token"] = build_credential(profile).get_token(profile.arm_scope).token
    resume_flow_run(UUID(str(run.id)), run_input=run_input)
    typer.echo(f"{'approved' if approve else 'rejected'}: {desc.split('[plan')[0].strip()} "
               f"(flow run {run.id}); the flow verifies the approval and reports the outcome")


def register(app: typer.Typer) -> None:
    @app.command()
    def remediate(
        cluster: Annotated[str, typer.Option("--cluster", help="cluster name or ARM id")],
        policy: Annotated[str, typer.Option("--policy")] = "policies/default.yaml",
        defer: Annotated[bool, typer.Option(
            "--defer-sign-off", help="leave sign-off fixes pending instead of waiting")] = False,
        verify_seconds: Annotated[float | None, typer.Option(
            help="how long a fix's own checks may take (default: the policy's)")] = None,
        output: Annotated[str, typer.Option("-o", "--output")] = "table",
    ) -> None:
        """Diagnose one cluster and apply what the policy allows (waiting for sign-offs)."""
        _quiet_prefect()
        from policies.model import PolicyError, load_policy
        from tasks.clients import Clients
        from tasks.cloud import CloudProfileError
        from tasks.errors import PermanentError
        from tasks.reads import Reads
        from tasks.resolve import resolve_cluster

        try:
            load_policy(policy)
            ref = resolve_cluster(Reads(Clients()), cluster)
        except (PermanentError, CloudProfileError, PolicyError) as exc:
            _fail(str(exc))
        from flows.remediate import remediate_cluster

        summary = remediate_cluster(cluster=ref.id, policy=policy,
                                    sign_off="defer" if defer else "wait",
                                    verify_seconds=verify_seconds).as_json()
        if output == "json":
            typer.echo(json.dumps(summary, indent=2))
        else:
            _print_records(summary)

    @app.command()
    def pending(output: Annotated[str, typer.Option("-o", "--output")] = "table") -> None:
        """List the fixes waiting for sign-off (needs a Prefect server: PREFECT_API_URL)."""
        _quiet_prefect()
        rows = []
        for run in _paused_runs():
            desc = _description(run)
            m = re.search(r"\[plan ([0-9a-f]{64})\]", desc)
            rows.append({"id": str(run.id), "waiting": desc.split("[plan")[0].strip(),
                         "plan": m.group(1) if m else "", "since": str(run.state.timestamp)})
        if output == "json":
            typer.echo(json.dumps(rows, indent=2))
            return
        if not rows:
            typer.echo("nothing is waiting for sign-off")
        for row in rows:
            typer.echo(f"{row['id']}  {row['waiting']}  (plan {row['plan'][:12]}, since "
                       f"{row['since']})")

    @app.command()
    def approve(run_id: Annotated[str, typer.Argument(help="the id `pullfix pending` shows")],
                comment: Annotated[str, typer.Option("--comment")] = "") -> None:
        """Approve a waiting fix as yourself (your Entra identity is verified by the flow)."""
        _quiet_prefect()
        _answer(run_id, True, comment)

    @app.command()
    def reject(run_id: Annotated[str, typer.Argument()],
               comment: Annotated[str, typer.Option("--comment")] = "") -> None:
        """Reject a waiting fix: nothing is applied."""
        _quiet_prefect()
        _answer(run_id, False, comment)
