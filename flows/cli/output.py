"""``-o/--output table|json|yaml``: one validated option for every command that prints data.

A wrong value is a usage error (exit 2) naming the allowed values, because the option is an
``Enum`` click checks before the command runs. ``json`` and ``yaml`` print the same document
(yaml with PyYAML's safe dumper); ``table`` is for people."""

from __future__ import annotations

import json
import os
import sys
from enum import StrEnum
from typing import Annotated, Any

import typer


class Output(StrEnum):
    TABLE = "table"
    JSON = "json"
    YAML = "yaml"


class DocOutput(StrEnum):
    """For commands whose data is a document with no table form (``policy schema``)."""

    JSON = "json"
    YAML = "yaml"


OutputOpt = Annotated[Output, typer.Option("-o", "--output", case_sensitive=False,
                                           help="table | json | yaml")]
DocOutputOpt = Annotated[DocOutput, typer.Option("-o", "--output", case_sensitive=False,
                                                 help="json | yaml")]


def plain(data: Any) -> Any:
    """``data`` as JSON types only (what both renderings show)."""
    return json.loads(json.dumps(data, default=str))


def render(data: Any, output: Output | DocOutput, *, sort_keys: bool = False) -> str:
    if output.value == "yaml":
        import yaml

        return yaml.safe_dump(plain(data), sort_keys=sort_keys, allow_unicode=True,
                              default_flow_style=False, width=100).rstrip("\n")
    return json.dumps(data, indent=2, default=str, sort_keys=sort_keys)


def emit(data: Any, output: Output | DocOutput, *, err: bool = False, sort_keys: bool = False
         ) -> bool:
    """Print ``data`` as json or yaml and return True; False for ``table`` (the caller draws
    its table)."""
    if output.value == "table":
        return False
    typer.echo(render(data, output, sort_keys=sort_keys), err=err)
    return True


def console(*, err: bool = False) -> Any:
    """A rich console; piped output (logs, CI) gets a wide table instead of 80 columns of
    ellipses."""
    from rich.console import Console

    stream = sys.stderr if err else sys.stdout
    return Console(stderr=err, width=None if stream.isatty() else 200)


def quiet_prefect() -> None:
    """Prefect's own INFO lines would interleave with the report: keep its warnings and
    errors. No usage telemetry from an operator's tool (its first write also races the
    ephemeral server's SQLite migrations: "database is locked")."""
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("PREFECT_LOGGING_TO_API_ENABLED", "false")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
