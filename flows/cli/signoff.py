"""``pullfix pending``, ``approve`` and ``reject``: sign-offs from the command line.

``approve`` signs in as the approver (their Entra token goes with the approval; the *flow*
verifies it, the CLI does not), then follows the flow run until it has decided — until it
finishes or pauses for another sign-off — and prints what the flow decided: applied and
verified, or refused and why (an approver the policy does not allow, a replayed token, a plan
that changed). The verdict is read from the audit log the flow writes (``approval`` /
``rejection``, then ``change``, ``verification``, ``rollback``, ``run-ended``), with the
Prefect run's state telling when to look. Exit 0 when the fix was applied (and the run, if it
ended, healed its cluster), 1 when the approval was refused or the fixes failed or left the
cluster unhealed, 2 for an unknown run, 3 when the flow gave no verdict in time.
"""

from __future__ import annotations

import json
import re
import time
from typing import TYPE_CHECKING, Annotated, Any

import typer

from flows.cli.errors import fail
from flows.cli.exit_codes import HEALTHY, ExitCode
from flows.cli.output import Output, OutputOpt, emit, quiet_prefect

if TYPE_CHECKING:
    from tasks.audit import Record

PLAN = re.compile(r"\[plan ([0-9a-f]{64})\]")


def _paused_runs() -> list[Any]:
    """The sign-offs waiting: one query, shared with the flows that look for them."""
    from flows.runs import paused_runs

    return paused_runs()


def _description(run: Any) -> str:
    return pause_description(run.id, run.state)


def pause_description(run_id: Any, state: Any) -> str:
    """What a paused run says it waits for (its run input's description): the sign-off, with
    ``[plan <hash>]``."""
    from prefect import get_client

    keyset = state.state_details.run_input_keyset or {} if state is not None else {}
    with get_client(sync_client=True) as client:
        try:
            stored = str(client.read_flow_run_input(flow_run_id=run_id, key=keyset["description"]))
        except Exception:  # noqa: BLE001 - a run without a description still lists
            return ""
    try:  # Prefect stores the description as a JSON string
        text = json.loads(stored)
    except ValueError:
        return stored
    return text if isinstance(text, str) else stored


def _what(description: str) -> str:
    """The sign-off a description asks for, without its plan hash."""
    return description.split("[plan")[0].strip().removeprefix("Approve ").strip()


def waiting_line(run_id: str, description: str) -> str:
    """What a paused run waits for, and the exact commands that answer it."""
    what = _what(description) or "a sign-off"
    return (f"waiting for sign-off: {what} (flow run {run_id}); an approver runs: "
            f"pullfix approve {run_id}   (or: pullfix reject {run_id})")


def _find(run_id: str) -> tuple[Any, str, str]:
    runs = {str(r.id): r for r in _paused_runs()}
    found = [r for i, r in runs.items() if i.startswith(run_id.lower())] if run_id else []
    run = runs.get(run_id) or (found[0] if len(found) == 1 else None)
    if run is None and len(found) > 1:
        fail(f"'{run_id}' matches {len(found)} waiting runs: give more of the id")
    if run is None:
        fail(f"no remediation is waiting for sign-off under id '{run_id}'; see `pullfix pending`")
    desc = _description(run)
    m = PLAN.search(desc)
    if not m:
        fail(f"flow run {run.id} is paused but not for a pullfix sign-off")
    return run, desc, m.group(1)


def _state(run_id: Any) -> Any:
    from prefect import get_client

    with get_client(sync_client=True) as client:
        return client.read_flow_run(run_id).state


def _follow(run: Any, *, plan_hash: str, timeout: float, until_verdict: bool, after: int
            ) -> dict[str, Any]:
    """Follow the run after its answer was sent: its audit records (printed as progress) until
    it finishes, pauses again, refuses this plan, or (``until_verdict``) has recorded any
    verdict on it."""
    from prefect.client.schemas.objects import StateType

    from flows.cli.progress import Progress, describe_record, follow_audit

    run_id = str(run.id)
    first_pause = run.state.id
    mine: list[Record] = []
    outcome: dict[str, Any] = {"state": None, "paused_again": None, "timed_out": False}
    with Progress(f"following flow run {run_id}") as progress:

        def on_record(rec: Record) -> None:
            if rec.run_id != run_id:
                return
            mine.append(rec)
            text = describe_record(rec)
            if text:
                progress.line(text)

        with follow_audit(on_record, interval=0.5, after=after):
            deadline = time.monotonic() + timeout
            while True:
                state = _state(run.id)
                if state is not None and state.is_final():
                    outcome["state"] = state.name
                    break
                if state is not None and state.type == StateType.PAUSED and state.id != first_pause:
                    fresh = _paused_runs()
                    again = next((r for r in fresh if r.id == run.id), None)
                    outcome["state"] = state.name
                    outcome["paused_again"] = _description(again) if again else ""
                    break
                verdict = _verdict(mine, plan_hash)
                # a refusal is final for this plan (the run may go on with other fixes)
                if verdict is not None and (until_verdict or verdict.kind == "rejection"):
                    outcome["state"] = state.name if state else None
                    break
                if time.monotonic() > deadline:
                    outcome["timed_out"] = True
                    outcome["state"] = state.name if state else None
                    break
                time.sleep(1.0)
    outcome["records"] = mine
    return outcome


def _verdict(recs: list[Record], plan_hash: str) -> Record | None:
    return next((r for r in recs if r.kind in ("approval", "rejection")
                 and r.payload.get("plan_hash") == plan_hash), None)


def _report(run: Any, desc: str, plan_hash: str, followed: dict[str, Any]) -> dict[str, Any]:
    """What the flow decided about this plan, and where the run stands."""
    from tasks.audit.render import summarize

    recs: list[Record] = followed["records"]
    verdict = _verdict(recs, plan_hash)
    about = [r for r in recs if r.payload.get("plan_hash") == plan_hash]
    change = next((r for r in about if r.kind == "change"), None)
    check = next((r for r in about if r.kind == "verification"), None)
    undone = next((r for r in about if r.kind == "rollback"), None)
    ended = next((r for r in recs if r.kind == "run-ended"), None)
    doc: dict[str, Any] = {
        "run_id": str(run.id), "plan_hash": plan_hash,
        "sign_off": _what(desc),
        "verdict": None if verdict is None else ("approved" if verdict.kind == "approval"
                                                 else "refused"),
        "reason": summarize(verdict) if verdict is not None else "",
        "applied": None if change is None else bool(change.payload.get("applied")),
        "verified": None if check is None else bool(check.payload.get("ok")),
        "rolled_back": undone is not None,
        "run_state": followed["state"],
        "run_outcome": ended.payload.get("outcome") if ended else None,
        "run_summary": ended.payload.get("summary", "") if ended else "",
        "waiting_again": followed["paused_again"],
        "timed_out": followed["timed_out"],
    }
    if verdict is not None and verdict.kind == "rejection":
        doc["reason"] = str(verdict.payload.get("reason", ""))
    if change is not None and not change.payload.get("applied"):
        doc["apply_error"] = str(change.payload.get("reason", ""))
    if undone is not None:
        doc["rollback_reason"] = str(undone.payload.get("reason", ""))
    return doc


def _exit_code(doc: dict[str, Any], *, approving: bool) -> ExitCode:
    if doc["verdict"] is None:
        # the run ended without a verdict on this plan, or nothing came in time
        return ExitCode.CANNOT_RUN if doc["timed_out"] or doc["run_outcome"] is None \
            else ExitCode.FAILING
    if not approving:
        return ExitCode.OK
    if doc["verdict"] != "approved" or doc["applied"] is False or doc["verified"] is False \
            or doc["rolled_back"]:
        return ExitCode.FAILING
    if doc["run_outcome"] is not None and doc["run_outcome"] not in HEALTHY:
        return ExitCode.FAILING
    return ExitCode.OK


def _print(doc: dict[str, Any], *, approving: bool) -> None:
    run_id = doc["run_id"]
    if doc["verdict"] is None:
        if doc["timed_out"]:
            typer.echo(f"no verdict from flow run {run_id} yet (state {doc['run_state']}); see "
                       f"`pullfix audit show {run_id}`")
        else:
            typer.echo(f"flow run {run_id} ended ({doc['run_state']}) without a verdict on "
                       f"this sign-off; see `pullfix audit show {run_id}`")
        return
    if doc["verdict"] == "refused":
        word = "rejected" if not approving else "refused"
        typer.echo(f"{word}: {doc['sign_off']}: {doc['reason']}")
    else:
        typer.echo(f"{doc['reason']}: {doc['sign_off']}")
        if doc.get("apply_error"):
            typer.echo(f"not applied: {doc['apply_error']}")
        elif doc["rolled_back"]:
            typer.echo(f"applied, then rolled back: {doc.get('rollback_reason', '')}")
        elif doc["verified"]:
            typer.echo("applied and verified: its own checks pass")
        elif doc["verified"] is False:
            typer.echo("applied; its own checks still fail")
        elif doc["applied"]:
            typer.echo("applied; verification pending")
    if doc["run_outcome"]:
        typer.echo(f"flow run {run_id}: {doc['run_outcome']} — {doc['run_summary']}")
    elif doc["waiting_again"] is not None:
        typer.echo(waiting_line(run_id, doc["waiting_again"]))
    elif doc["timed_out"]:
        typer.echo(f"flow run {run_id} is still running (state {doc['run_state']}); see "
                   f"`pullfix audit show {run_id}`")


def _answer(run_id: str, *, approve: bool, comment: str, timeout: float, output: Output) -> None:
    from prefect.flow_runs import resume_flow_run

    from tasks.clients import build_credential
    from tasks.cloud import from_environment

    run, desc, plan_hash = _find(run_id)
    run_input: dict[str, Any] = {"plan_hash": plan_hash, "run_id": str(run.id),
                                 "approve": approve, "comment": comment}
    if approve:
        # sign in as the person approving: the flow verifies this token, the CLI does not
        profile = from_environment()
        run_input["token"] = build_credential(profile).get_token(profile.arm_scope).token
    from flows.cli.progress import audit_head

    after = audit_head()  # the flow may answer before we start following it
    resume_flow_run(run.id, run_input=run_input)
    typer.echo(f"sent: {'approval' if approve else 'rejection'} of {_what(desc)} "
               f"(flow run {run.id}); waiting for the flow's verdict", err=True)
    followed = _follow(run, plan_hash=plan_hash, timeout=timeout, until_verdict=not approve,
                       after=after)
    doc = _report(run, desc, plan_hash, followed)
    if not emit(doc, output):
        _print(doc, approving=approve)
    raise typer.Exit(int(_exit_code(doc, approving=approve)))


Timeout = Annotated[float, typer.Option(
    "--timeout", help="seconds to follow the flow run for its verdict and outcome")]


def register(app: typer.Typer) -> None:
    @app.command()
    def pending(output: OutputOpt = Output.TABLE) -> None:
        """List the fixes waiting for sign-off (needs a Prefect server: PREFECT_API_URL)."""
        quiet_prefect()
        rows = []
        for run in _paused_runs():
            desc = _description(run)
            m = PLAN.search(desc)
            rows.append({"id": str(run.id), "waiting": desc.split("[plan")[0].strip(),
                         "plan": m.group(1) if m else "", "since": str(run.state.timestamp),
                         "approve": f"pullfix approve {run.id}"})
        if emit(rows, output):
            return
        if not rows:
            typer.echo("nothing is waiting for sign-off")
        for row in rows:
            typer.echo(f"{row['id']}  {row['waiting']}  (plan {row['plan'][:12]}, since "
                       f"{row['since']})")

    @app.command()
    def approve(run_id: Annotated[str, typer.Argument(help="the id `pullfix pending` shows")],
                comment: Annotated[str, typer.Option("--comment")] = "",
                timeout: Timeout = 3600.0,
                output: OutputOpt = Output.TABLE) -> None:
        """Approve a waiting fix as yourself, then print what the flow decided.

        Your Entra identity is verified by the flow. Exit 1 when it refused the approval or
        the fix failed."""
        quiet_prefect()
        _answer(run_id, approve=True, comment=comment, timeout=timeout, output=output)

    @app.command()
    def reject(run_id: Annotated[str, typer.Argument(help="the id `pullfix pending` shows")],
               comment: Annotated[str, typer.Option("--comment")] = "",
               timeout: Timeout = 600.0,
               output: OutputOpt = Output.TABLE) -> None:
        """Reject a waiting fix: nothing is applied (printed once the flow has recorded it)."""
        quiet_prefect()
        _answer(run_id, approve=False, comment=comment, timeout=timeout, output=output)
