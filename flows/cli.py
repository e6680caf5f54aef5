"""The ``pullfix`` command line."""

from __future__ import annotations

import json
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
def version() -> None:
    """Print pullfix's version."""
    from importlib.metadata import version as v

    typer.echo(v("pullfix"))


if __name__ == "__main__":
    app()
