"""The ``pullfix`` command line."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from tasks.cloud import CloudProfileError, from_environment

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="pullfix: find, explain and fix AKS pods that cannot pull from ACR.")


@app.command()
def cloud(
    output: Annotated[str, typer.Option("-o", "--output", help="table | json")] = "table",
) -> None:
    """Show the cloud pullfix talks to (from PULLFIX_ARM_ENDPOINT / PULLFIX_CLOUD)."""
    try:
        profile = from_environment()
    except CloudProfileError as exc:
        typer.echo(f"pullfix: {exc}", err=True)
        raise typer.Exit(2) from None
    data = profile.model_dump()
    if output == "json":
        typer.echo(json.dumps(data, indent=2))
        return
    width = max(len(k) for k in data)
    for k, v in data.items():
        typer.echo(f"{k.ljust(width)}  {v}")


@app.command()
def clusters(
    output: Annotated[str, typer.Option("-o", "--output", help="table | json")] = "table",
) -> None:
    """List every AKS cluster in every subscription this identity can see."""
    from dataclasses import asdict

    from rich.console import Console
    from rich.table import Table

    from tasks.clients import Clients
    from tasks.inventory import clusters as list_clusters

    try:
        found = list_clusters(Clients())
    except CloudProfileError as exc:
        typer.echo(f"pullfix: {exc}", err=True)
        raise typer.Exit(2) from None
    if output == "json":
        typer.echo(json.dumps([asdict(c) | {"tags": dict(c.tags)} for c in found], indent=2))
        return
    table = Table("subscription", "resource group", "cluster", "location", "identity", "tags")
    for c in sorted(found, key=lambda c: (c.subscription_name, c.resource_group, c.name)):
        table.add_row(c.subscription_name, c.resource_group, c.name, c.location, c.identity,
                      ", ".join(f"{k}={v}" for k, v in c.tags))
    # piped output (logs, CI) gets a wide table instead of 80 columns of ellipses
    Console(width=None if sys.stdout.isatty() else 200).print(table)


@app.command()
def version() -> None:
    """Print pullfix's version."""
    from importlib.metadata import version as v

    typer.echo(v("pullfix"))


if __name__ == "__main__":
    app()
