"""The ``pullfix`` command line: one module per command group, attached to one root group.

Every command shares the same ``-o/--output table|json|yaml`` (``output``), exit codes
(``exit_codes``), failure handling — one line naming the thing and what to do, never a
traceback for a missing credential or an unreachable server (``errors``) — and progress
lines on stderr when piped (``progress``)."""

from __future__ import annotations

import logging
import sys

import typer

from flows.cli import audit, classify, diagnose, inventory, policy, remediate, signoff
from flows.cli.errors import PullfixGroup

app = typer.Typer(cls=PullfixGroup, add_completion=False, no_args_is_help=True,
                  pretty_exceptions_show_locals=False,  # locals may hold secrets
                  # boxes for people; one plain "Error: ..." line for logs and CI
                  rich_markup_mode="rich" if sys.stdout.isatty() and sys.stderr.isatty() else None,
                  help="pullfix: find, explain and fix AKS pods that cannot pull from ACR.")


@app.callback()
def _setup() -> None:
    # azure-identity logs DefaultAzureCredential's many-line report as a warning; pullfix
    # says it in one line (flows.cli.errors)
    logging.getLogger("azure.identity").setLevel(logging.ERROR)


for group in (inventory, classify, diagnose, remediate, signoff, policy, audit):
    group.register(app)

__all__ = ["app"]
