"""``pullfix cloud``, ``clusters``, ``checks``, ``fixes`` and ``version``: what pullfix talks
to and what it knows."""

from __future__ import annotations

from typing import Any

import typer

from flows.cli.output import Output, OutputOpt, console, emit


def _catalogue(rows: list[dict[str, Any]], markdown: str, output: Output) -> None:
    if not emit(rows, output):
        typer.echo(markdown)


def register(app: typer.Typer) -> None:
    @app.command()
    def cloud(output: OutputOpt = Output.TABLE) -> None:
        """Show the cloud pullfix talks to (from PULLFIX_ARM_ENDPOINT / PULLFIX_CLOUD)."""
        from tasks.cloud import from_environment

        data = from_environment().model_dump()
        if emit(data, output):
            return
        width = max(len(k) for k in data)
        for k, v in data.items():
            typer.echo(f"{k.ljust(width)}  {v}")

    @app.command()
    def clusters(output: OutputOpt = Output.TABLE) -> None:
        """List every AKS cluster in every subscription this identity can see."""
        from dataclasses import asdict

        from rich.table import Table

        from tasks.clients import Clients
        from tasks.inventory import clusters as list_clusters

        found = list_clusters(Clients())
        if emit([asdict(c) | {"tags": dict(c.tags)} for c in found], output):
            return
        table = Table("subscription", "resource group", "cluster", "location", "identity", "tags")
        for c in sorted(found, key=lambda c: (c.subscription_name, c.resource_group, c.name)):
            table.add_row(c.subscription_name, c.resource_group, c.name, c.location, c.identity,
                          ", ".join(f"{k}={v}" for k, v in c.tags))
        console().print(table)

    @app.command()
    def checks(output: OutputOpt = Output.TABLE) -> None:
        """Print the check catalogue (table: the README's markdown table)."""
        from tasks.docs import checks_markdown
        from tasks.registry import load_checks

        rows = [{"check": name, "group": spec.group.value,
                 "categories": sorted(c.value for c in spec.categories),
                 "cluster_wide": spec.cluster_wide, "suggests": list(spec.suggests),
                 "permissions": list(spec.permissions)}
                for name, spec in sorted(load_checks().items())]
        _catalogue(rows, checks_markdown(), output)

    @app.command()
    def fixes(output: OutputOpt = Output.TABLE) -> None:
        """Print the fix catalogue (table: the README's markdown table)."""
        from tasks.docs import fixes_markdown
        from tasks.fix import load_fixes

        rows = [{"fix": name, "risk": cls.risk.value, "resolves": list(cls.resolves),
                 "permissions": [{"action": n.action, "on": n.on.describe, "roles": str(n.roles)}
                                 for n in cls.permissions],
                 "other_rights": cls.other_rights or "", "reversible": cls.reversible,
                 "propagates": cls.propagates or ""}
                for name, cls in sorted(load_fixes().items())]
        _catalogue(rows, fixes_markdown(), output)

    @app.command()
    def version() -> None:
        """Print pullfix's version."""
        from importlib.metadata import version as v

        typer.echo(v("pullfix"))
