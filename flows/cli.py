"""The ``pullfix`` command line."""

from __future__ import annotations

import json
import sys
from typing import Annotated, NoReturn

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


def _read_lines(files: list[str]) -> list[tuple[str, int, str]]:
    """(source, line number, text) of every non-blank input line; exits 2 on unreadable or
    binary input, naming the culprit."""
    sources: list[tuple[str, bytes]] = []
    if files:
        for name in files:
            try:
                with open(name, "rb") as fh:
                    sources.append((name, fh.read()))
            except OSError as exc:
                _fail(f"cannot read {name}: {exc.strerror or exc}")
    elif not sys.stdin.isatty():
        sources.append(("<stdin>", sys.stdin.buffer.read()))
    lines: list[tuple[str, int, str]] = []
    for name, data in sources:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = "\0"
        if "\0" in text:
            _fail(f"{name} is not UTF-8 text (binary input?): pipe kubelet messages, one per line")
        lines += [(name, n, line) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
    if not lines:
        _fail("no input: pipe kubelet messages or pass files")
    return lines


def _fail(message: str) -> NoReturn:
    typer.echo(f"pullfix: {message}", err=True)
    raise typer.Exit(2)


def _parse(source: str, n: int, line: str) -> tuple[str, str | None]:
    """A line is plain text, or a JSON object with ``message`` (and optionally
    ``event_reason``/``reason``, as ``kubectl get events -o json`` items have)."""
    if not line.lstrip().startswith("{"):
        return line.strip(), None
    try:
        obj = json.loads(line)
    except ValueError as exc:
        _fail(f"{source} line {n}: not valid JSON ({exc.msg})")
    if not isinstance(obj, dict) or not isinstance(obj.get("message"), str):
        _fail(f'{source} line {n}: JSON line has no "message" string field')
    reason = obj.get("event_reason", obj.get("reason"))
    return obj["message"], reason if isinstance(reason, str) else None


@app.command()
def classify(
    files: Annotated[list[str] | None, typer.Argument(
        help="files of kubelet messages (plain lines or JSON lines); stdin when none")] = None,
    output: Annotated[str, typer.Option("-o", "--output", help="json | table")] = "json",
) -> None:
    """Classify image-pull error messages: one JSON object per input line."""
    from tasks.classify import classify as classify_message

    if output not in ("json", "table"):
        _fail(f"unknown output {output!r}: json | table")
    parsed = [_parse(*entry) for entry in _read_lines(files or [])]  # all input checked first
    results = [classify_message(m, r) for m, r in parsed]
    if output == "json":
        for result in results:
            typer.echo(json.dumps(result.model_dump(mode="json")))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("#", "category", "subcause", "conf", "ambiguous", "registry", "status", "message")
    for i, ((message, _), r) in enumerate(zip(parsed, results, strict=True), 1):
        table.add_row(str(i), r.category.value, r.subcause or "", f"{r.confidence:.2f}",
                      "yes" if r.ambiguous else "", r.registry_host or "",
                      str(r.http_status or ""), message if len(message) <= 90 else message[:89] + "…")
    Console(width=None if sys.stdout.isatty() else 200).print(table)


@app.command()
def checks() -> None:
    """Print the check catalogue (the README's table) as markdown."""
    from tasks.docs import checks_markdown

    typer.echo(checks_markdown())


@app.command()
def version() -> None:
    """Print pullfix's version."""
    from importlib.metadata import version as v

    typer.echo(v("pullfix"))


from flows.cli_audit import register as register_audit  # noqa: E402
from flows.cli_diagnose import register  # noqa: E402 - the commands attach to ``app`` above
from flows.cli_policy import register as register_policy  # noqa: E402
from flows.cli_remediate import register as register_remediate  # noqa: E402

register(app)
register_remediate(app)
register_policy(app)
register_audit(app)

if __name__ == "__main__":
    app()
