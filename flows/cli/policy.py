"""``pullfix policy validate FILE…`` and ``pullfix policy schema``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from flows.cli.exit_codes import ExitCode
from flows.cli.output import DocOutput, DocOutputOpt, Output, OutputOpt, emit, render

if TYPE_CHECKING:
    from policies.model import Policy

policy_app = typer.Typer(no_args_is_help=True, help="Check policy files; print their JSON Schema.")


def _scope_text(policy: Policy) -> str:
    s = policy.scope
    if s.is_empty():
        return "all clusters"
    parts = [f"{k}={v}" for k, v in s.cluster_tags.items()]
    if s.subscriptions:
        parts.append("subscriptions " + ", ".join(s.subscriptions))
    if s.resource_groups:
        parts.append("resource groups " + ", ".join(s.resource_groups))
    return "; ".join(parts)


def _summary(policy: Policy) -> str:
    by_decision: dict[str, int] = {}
    for rule in policy.fixes.values():
        key = rule.decision or f"{policy.defaults.decision} (default)"
        by_decision[key] = by_decision.get(key, 0) + 1
    counts = ", ".join(f"{n} {d}" for d, n in sorted(by_decision.items()))
    return (f"{len(policy.fixes)} fixes ({counts or 'all from defaults'}), mode {policy.mode}, "
            f"scope {_scope_text(policy)}, {len(policy.maintenance_windows)} maintenance "
            f"window(s), {len(policy.overrides)} override(s)")


@policy_app.command()
def validate(
    files: Annotated[list[str], typer.Argument(help="policy YAML files (one or more)")],
    output: OutputOpt = Output.TABLE,
) -> None:
    """Validate policy files, each one.

    Exit 0 when all are usable, 2 when any is not (every problem named with its file, line
    and the valid choices)."""
    from policies import PolicyError, load_policy

    results: list[dict[str, Any]] = []
    for file in files:
        try:
            policy = load_policy(file)
        except PolicyError as exc:
            results.append({"file": file, "valid": False, "problems": str(exc)})
            if output == Output.TABLE:
                typer.echo(str(exc), err=True)
            continue
        results.append({"file": file, "valid": True, "summary": _summary(policy)})
        if output == Output.TABLE:
            typer.echo(f"ok: {file}: {_summary(policy)}" if len(files) > 1 else
                       f"ok: {_summary(policy)}")
    emit(results, output)
    bad = [r["file"] for r in results if not r["valid"]]
    if bad and len(files) > 1 and output == Output.TABLE:
        typer.echo(f"pullfix: {len(bad)} of {len(files)} policy files invalid: {', '.join(bad)}",
                   err=True)
    if bad:
        raise typer.Exit(int(ExitCode.USAGE))


@policy_app.command()
def schema(output: DocOutputOpt = DocOutput.JSON) -> None:
    """Print the policy JSON Schema (also committed as policies/schema.json)."""
    from policies.schema import generate_schema

    typer.echo(render(generate_schema(), output, sort_keys=True))


def register(app: typer.Typer) -> None:
    app.add_typer(policy_app, name="policy")
