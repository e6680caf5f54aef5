"""``pullfix policy validate FILE`` and ``pullfix policy schema``."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer

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


@policy_app.command()
def validate(
    file: Annotated[str, typer.Argument(help="the policy YAML file")],
) -> None:
    """Validate a policy file: exit 0 when usable, 2 with every problem (file, line, valid choices)."""
    from policies import PolicyError, load_policy

    try:
        policy = load_policy(file)
    except PolicyError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    by_decision: dict[str, int] = {}
    for rule in policy.fixes.values():
        key = rule.decision or f"{policy.defaults.decision} (default)"
        by_decision[key] = by_decision.get(key, 0) + 1
    counts = ", ".join(f"{n} {d}" for d, n in sorted(by_decision.items()))
    typer.echo(f"ok: {len(policy.fixes)} fixes ({counts or 'all from defaults'}), mode {policy.mode}, "
               f"scope {_scope_text(policy)}, {len(policy.maintenance_windows)} maintenance window(s), "
               f"{len(policy.overrides)} override(s)")


@policy_app.command()
def schema() -> None:
    """Print the policy JSON Schema (also committed as policies/schema.json)."""
    from policies.schema import generate_schema

    typer.echo(json.dumps(generate_schema(), indent=2, sort_keys=True))


def register(app: typer.Typer) -> None:
    app.add_typer(policy_app, name="policy")
