"""``pullfix classify``: pull-error text in, category and the reason out. Input is read line
by line within bounds, and every refused line is named before anything is classified."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from typing import Annotated, BinaryIO

import typer

from flows.cli.errors import fail
from flows.cli.output import Output, OutputOpt, console, emit
from tasks.safe_input import bounded_lines, json_depth

# ``pullfix classify`` input bounds. A kubelet message is a few hundred bytes and a
# ``kubectl get events -o json`` item nests 6 levels; a line past these is a mistake or an
# attack, and is refused without being held in memory or handed to a parser.
MAX_LINE_BYTES = 64 * 1024
MAX_JSON_DEPTH = 32
MAX_LINES = 100_000
MAX_INPUT_BYTES = 16 * 1024 * 1024  # all lines together: they are held until every one is checked
MAX_REPORTED = 20  # refused lines named one by one; the rest are counted


def _sources(files: list[str]) -> Iterator[tuple[str, BinaryIO]]:
    if files:
        for name in files:
            try:
                fh = open(name, "rb")  # noqa: SIM115 - closed below, after it is read
            except OSError as exc:
                fail(f"cannot read {name}: {exc.strerror or exc}")
            with fh:
                yield name, fh
    elif not sys.stdin.isatty():
        yield "<stdin>", sys.stdin.buffer


def _read_lines(files: list[str]) -> list[tuple[str, int, str, str | None]]:
    """(source, line number, message, event reason) of every non-blank input line, read line by
    line within the bounds above. Each line that cannot be used is named on stderr with its
    number and the limit it passed; then the command exits 2 before any output. Unreadable or
    binary input exits 2 at once, naming the culprit."""
    lines: list[tuple[str, int, str, str | None]] = []
    problems: list[str] = []
    count = size = 0
    for name, stream in _sources(files):
        try:
            for line in bounded_lines(stream, max_bytes=MAX_LINE_BYTES):
                if line.data is None:
                    problems.append(f"{name} line {line.number}: longer than the limit of "
                                    f"{MAX_LINE_BYTES} bytes; pass one kubelet message per line")
                    continue
                try:
                    text = line.data.decode("utf-8")
                except UnicodeDecodeError:
                    text = "\0"
                if "\0" in text:
                    fail(f"{name} is not UTF-8 text (binary input?): pipe kubelet messages, one per line")
                if not text.strip():
                    continue
                count, size = count + 1, size + len(line.data)
                if count > MAX_LINES or size > MAX_INPUT_BYTES:
                    fail(f"more than the limit of {MAX_LINES} lines or {MAX_INPUT_BYTES} bytes: split "
                          f"the input (stopped at {name} line {line.number})")
                message, reason, problem = _parse(text)
                if problem:
                    problems.append(f"{name} line {line.number}: {problem}")
                else:
                    lines.append((name, line.number, message, reason))
        except OSError as exc:
            fail(f"cannot read {name}: {exc.strerror or exc}")
    if problems:
        shown = problems[:MAX_REPORTED]
        if len(problems) > MAX_REPORTED:
            shown.append(f"... and {len(problems) - MAX_REPORTED} more refused lines")
        fail("\n".join([*shown, f"{len(problems)} input line(s) refused: nothing classified"]))
    if not lines:
        fail("no input: pipe kubelet messages or pass files")
    return lines


def _parse(line: str) -> tuple[str, str | None, str | None]:
    """(message, event reason, problem). A line is plain text, or a JSON object with
    ``message`` (and optionally ``event_reason``/``reason``, as ``kubectl get events -o json``
    items have)."""
    if not line.lstrip().startswith("{"):
        return line.strip(), None, None
    depth = json_depth(line)
    if depth > MAX_JSON_DEPTH:
        return "", None, f"JSON nested deeper than the limit of {MAX_JSON_DEPTH} levels ({depth})"
    try:
        obj = json.loads(line)
    except ValueError as exc:
        return "", None, f"not valid JSON ({getattr(exc, 'msg', exc)})"
    if not isinstance(obj, dict) or not isinstance(obj.get("message"), str):
        return "", None, 'JSON line has no "message" string field'
    reason = obj.get("event_reason", obj.get("reason"))
    return obj["message"], reason if isinstance(reason, str) else None, None


def classify(
    files: Annotated[list[str] | None, typer.Argument(
        help="files of kubelet messages (plain lines or JSON lines); stdin when none")] = None,
    output: OutputOpt = Output.JSON,
) -> None:
    """Classify image-pull error messages (kubelet, containerd, dockerd, CRI-O, podman).

    One JSON object per input line (with the rule that decided, the words it read and the
    failing step); ``-o table`` shows the same for people, ``-o yaml`` as one YAML list."""
    from tasks.classify import classify as classify_message

    parsed = [(m, r) for _, _, m, r in _read_lines(files or [])]  # all input checked first
    results = [classify_message(m, r) for m, r in parsed]
    docs = [result.model_dump(mode="json") | result.explanation() for result in results]
    if output == Output.JSON:  # JSON lines: one object per input line, as they stream
        for doc in docs:
            typer.echo(json.dumps(doc))
        return
    if emit(docs, output):
        return
    from rich.table import Table

    table = Table("#", "category", "subcause", "conf", "ambiguous", "rule", "step", "registry", "status",
                  "why (the part of the message the rule read)")
    for i, r in enumerate(results, 1):
        table.add_row(str(i), r.category.value, r.subcause or "", f"{r.confidence:.2f}",
                      "yes" if r.ambiguous else "", r.rule, r.step or "", r.registry_host or "",
                      str(r.http_status or ""), r.evidence)
    console().print(table)


def register(app: typer.Typer) -> None:
    app.command()(classify)
