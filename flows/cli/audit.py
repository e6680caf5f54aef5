"""``pullfix audit list|show|export|verify|anchor``: the audit log for auditors.

Exit codes (``flows.cli.exit_codes``): 0 done (``verify``: intact and complete); 1
``verify``/``anchor`` found the log tampered with or an applied change lacking its records; 2
bad input (an unknown run, a bad ``--since``, an unreadable anchor file, a store URL or path
that cannot be opened); 3 a store server that cannot be reached.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from flows.cli.errors import fail
from flows.cli.exit_codes import ExitCode
from flows.cli.output import Output, OutputOpt, emit

if TYPE_CHECKING:
    from tasks.audit import AuditStore, Record

audit_app = typer.Typer(no_args_is_help=True, help=(
    "The audit log: what pullfix did, with its evidence, decision and approver; "
    "tamper-evident (verify) and exportable (jsonl, csv, html)."))

Since = Annotated[str, typer.Option(
    "--since", help="records at or after: an ISO 8601 date/time (UTC if no zone) or an age: 30m, 24h, 7d")]
ClusterOpt = Annotated[str, typer.Option("--cluster", help="cluster name or ARM id")]
RunOpt = Annotated[str, typer.Option("--run", help="flow run id (or a unique prefix)")]


def _fail(message: str, code: ExitCode = ExitCode.USAGE) -> NoReturn:
    fail(message, code)


def _open() -> AuditStore:
    import sqlalchemy as sa

    from tasks.audit import default_url, safe_url, store

    url = ""
    try:
        url = default_url()
        return store(url)
    except (sa.exc.SQLAlchemyError, OSError) as exc:
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        # a database server that does not answer is "could not run"; a bad URL or path is input
        server_down = isinstance(exc, sa.exc.OperationalError) and not url.startswith("sqlite")
        _fail(f"cannot open the audit store {safe_url(url) if url else ''}: {reason} "
              "(check PULLFIX_AUDIT_URL / PULLFIX_HOME)",
              ExitCode.CANNOT_RUN if server_down else ExitCode.USAGE)


def parse_since(value: str) -> str:
    """``--since`` as an ISO 8601 UTC string comparable with the records' ``at``."""
    now = dt.datetime.now(dt.UTC)
    m = re.fullmatch(r"(\d+)([mhd])", value.strip())
    if m:
        unit = {"m": "minutes", "h": "hours", "d": "days"}[m.group(2)]
        return (now - dt.timedelta(**{unit: int(m.group(1))})).isoformat(timespec="microseconds")
    try:
        when = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        _fail(f"--since {value!r}: use an ISO 8601 date or time (2026-12-01, "
              "2026-12-01T08:00Z) or an age such as 30m, 24h, 7d")
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.astimezone(dt.UTC).isoformat(timespec="microseconds")


def _runs_starting(audit: AuditStore, prefix: str) -> list[str]:
    import sqlalchemy as sa

    from tasks.audit.db import LOG

    with audit.engine.connect() as conn:
        return [r[0] for r in conn.execute(sa.select(LOG.c.run_id).distinct().where(
            LOG.c.run_id.startswith(prefix, autoescape=True)))]


def _resolve_run(audit: AuditStore, run: str) -> str:
    ids = _runs_starting(audit, run)
    if run in ids:
        return run
    if len(ids) > 1:
        _fail(f"--run {run!r} matches {len(ids)} runs ({', '.join(sorted(ids)[:5])}"
              f"{', ...' if len(ids) > 5 else ''}): give more of the id")
    if not ids:
        _fail(f"no audit records for run {run!r}; see `pullfix audit list`")
    return ids[0]


def _cluster_matches(stored: str, wanted: str) -> bool:
    s, w = stored.lower().rstrip("/"), wanted.lower().rstrip("/")
    return s == w or s.rsplit("/", 1)[-1] == w


def _select(since: str, cluster: str, run: str, kinds: tuple[str, ...] = ()) -> list[Record]:
    audit = _open()
    recs = audit.records(since=parse_since(since) if since else None,
                         run_id=_resolve_run(audit, run) if run else None, kinds=kinds)
    return [r for r in recs if not cluster or _cluster_matches(r.cluster, cluster)]


def _console() -> Any:
    from rich.console import Console

    return Console(width=None if sys.stdout.isatty() else 200)


def _records_table(records: list[Record], *, title: str = "") -> Any:
    from rich.table import Table
    from rich.text import Text

    from tasks.audit.render import short_cluster, summarize

    table = Table("seq", "at (UTC)", "kind", "run", "cluster", "what", title=title or None,
                  title_justify="left")
    for r in records:
        # recorded text is data, not rich markup: "[plan ...]" must print as written
        table.add_row(str(r.seq), r.at[:19].replace("T", " "), r.kind, Text(r.run_id[:8]),
                      Text(short_cluster(r.cluster)), Text(summarize(r)))
    return table


@audit_app.command("list")
def list_(since: Since = "", cluster: ClusterOpt = "", run: RunOpt = "",
          kind: Annotated[list[str] | None, typer.Option(
              "--kind", help="only these kinds (repeatable): run-started, plan, change, ...")] = None,
          output: OutputOpt = Output.TABLE) -> None:
    """List audit records, oldest first (filters combine)."""
    from tasks.audit import Kind
    from tasks.audit.render import export_doc

    bad = [k for k in kind or [] if k not in {x.value for x in Kind}]
    if bad:
        _fail(f"unknown kind {bad[0]!r}; valid: {', '.join(k.value for k in Kind)}")
    recs = _select(since, cluster, run, tuple(kind or ()))
    if emit([export_doc(r) for r in recs], output):
        return
    if not recs:
        typer.echo("no audit records match")
        return
    _console().print(_records_table(recs))


@audit_app.command()
def show(which: Annotated[str, typer.Argument(
        help="a run id (or unique prefix), or a record's seq as #N (or N when no run id starts so)")],
         output: OutputOpt = Output.TABLE) -> None:
    """Show one run's story, or one record in full.

    A run: its records grouped as an auditor reads them — evidence, then per fix: plan →
    decision → approval → intent → change → verification."""
    from tasks.audit.render import export_doc, short_cluster, story

    audit = _open()
    seq = which.removeprefix("#")
    if which.startswith("#") or (seq.isdigit() and not _runs_starting(audit, which)):
        recs = audit.records(seq=int(seq)) if seq.isdigit() else []
        if not recs:
            _fail(f"no audit record {seq}; see `pullfix audit list`")
        if not emit(export_doc(recs[0]), output, sort_keys=True):
            typer.echo(json.dumps(export_doc(recs[0]), indent=2, sort_keys=True))
        return
    recs = audit.records(run_id=_resolve_run(audit, which))
    if emit([export_doc(r) for r in recs], output):
        return
    console = _console()
    clusters = ", ".join(sorted({short_cluster(r.cluster) for r in recs if r.cluster})) or "fleet"
    console.print(f"run {recs[0].run_id}  {clusters}  {recs[0].at} → {recs[-1].at}", markup=False)
    for title, steps in story(recs):
        console.print(_records_table(steps, title=title))


@audit_app.command()
def export(
    fmt: Annotated[str, typer.Option("--format", help="jsonl | csv | html")] = "jsonl",
    out: Annotated[str, typer.Option("--out", help="write to this file (default: stdout)")] = "",
    since: Since = "", cluster: ClusterOpt = "", run: RunOpt = "",
) -> None:
    """Export records as jsonl, csv or one self-contained html page.

    jsonl keeps every field (a full export re-verifies with `audit verify --file`); html tells
    each run's story. This is the archival path: pullfix never prunes the store."""
    from tasks.audit import completeness, safe_url, verify_chain
    from tasks.audit.render import to_csv, to_html, to_jsonl

    if fmt not in ("jsonl", "csv", "html"):
        _fail(f"unknown format {fmt!r}: jsonl | csv | html")
    recs = _select(since, cluster, run)
    if fmt == "jsonl":
        text = to_jsonl(recs)
    elif fmt == "csv":
        text = to_csv(recs)
    else:
        audit = _open()
        everything = audit.records()
        problems = verify_chain(everything, audit.head())
        gaps, _ = completeness(everything)
        shown = {r.seq for r in recs}
        scope = ", ".join(f"{k} {v}" for k, v in (("since", since), ("cluster", cluster),
                                                   ("run", run)) if v) or "all records"
        text = to_html(recs, problems=problems, gaps=[g for g in gaps if g.seq in shown],
                       scope=scope, store=safe_url(audit.url))
    if not out:
        sys.stdout.write(text)
        return
    try:
        Path(out).write_text(text, encoding="utf-8")
    except OSError as exc:
        _fail(f"cannot write {out}: {exc.strerror or exc}")
    typer.echo(f"wrote {len(recs)} record(s) to {out} ({fmt})", err=True)


def _archive(path: str) -> list[Record]:
    """Records from a full ``audit export --format jsonl``."""
    from tasks.audit import Record
    from tasks.audit.db import canonical

    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        _fail(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}")
    recs = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            d = json.loads(line)
            recs.append(Record(seq=int(d["seq"]), kind=d["kind"], at=d["at"], run_id=d["run_id"],
                               cluster=d["cluster"], data=canonical(d["data"]),
                               prev_hash=d["prev_hash"], hash=d["hash"]))
        except (ValueError, KeyError, TypeError):
            _fail(f"{path} line {n} is not an exported audit record (audit export --format jsonl)")
    return sorted(recs, key=lambda r: r.seq)


@audit_app.command()
def verify(
    anchor: Annotated[list[str] | None, typer.Option(
        "--anchor", help="an anchor file written by `pullfix audit anchor` (repeatable)")] = None,
    file: Annotated[str, typer.Option(
        "--file", help="verify a full jsonl export (an archive) instead of the store")] = "",
    output: OutputOpt = Output.TABLE,
) -> None:
    """Check the log is intact and complete: exit 0 yes, 1 no (naming the first bad record).

    Intact: no record edited, deleted, reordered or cut off (checked against the head row and
    any anchors). Complete: every applied change has its evidence, plan, decision, approval
    (where the policy needed one) and verification."""
    from tasks.audit import GENESIS, AuditError, completeness, read_anchors, safe_url, verify_chain

    try:
        anchors = [a for path in anchor or [] for a in read_anchors(path)]
    except AuditError as exc:
        _fail(str(exc))
    if file:
        recs = _archive(file)
        # an archive has no head row: its last record is its head (anchors catch a cut end)
        head: tuple[int, str] | None = (recs[-1].seq, recs[-1].hash) if recs else (0, GENESIS)
        where = file
    else:
        audit = _open()
        recs, head, where = audit.records(), audit.head(), safe_url(audit.url)
    problems = verify_chain(recs, head, anchors)
    gaps, open_runs = completeness(recs)
    applied = sum(1 for r in recs
                  if r.kind in ("change", "reconciled") and r.payload.get("applied") is True)
    if output != Output.TABLE:
        emit({
            "store": where, "records": len(recs), "head": list(head) if head else None,
            "intact": not problems, "complete": not gaps,
            "problems": [{"seq": p.seq, "message": p.message} for p in problems],
            "gaps": [{"seq": g.seq, "run_id": g.run_id, "fix": g.fix, "plan_hash": g.plan_hash,
                      "missing": list(g.missing), "message": g.message} for g in gaps],
            "open_runs": open_runs, "anchors": len(anchors)}, output)
    else:
        last = f"record {recs[-1].seq} {recs[-1].hash[:16]}…" if recs else "empty"
        typer.echo(f"{where}: {len(recs)} record(s), last {last}"
                   + (f", {len(anchors)} anchor(s) checked" if anchors else ""))
        for p in problems:
            typer.echo(f"TAMPERED  {p.message}")
        for g in gaps:
            typer.echo(f"INCOMPLETE  {g.message}")
        for run_id in open_runs:
            typer.echo(f"note: run {run_id} has not ended; its changes are checked once it has")
        if not problems:
            typer.echo("ok: the chain is intact" + ("" if anchors or file else
                                                    " (no anchor given: a cut-off end shows "
                                                    "only if the head row was left alone)"))
        if not gaps:
            typer.echo(f"ok: every applied change ({applied}) has its evidence, plan, decision, "
                       "approval where needed, and verification")
    if problems:
        _fail(f"the audit log was tampered with: first bad record {problems[0].seq}", ExitCode.FAILING)
    if gaps:
        _fail(f"{len(gaps)} applied change(s) lack audit records: first record {gaps[0].seq}",
              ExitCode.FAILING)


@audit_app.command("anchor")
def anchor_(file: Annotated[str, typer.Argument(help="the operator's anchor file (appended to)")]
            ) -> None:
    """Append the current head (seq, hash, at) to FILE, after verifying the chain.

    Keep FILE where the store's writers cannot change it (another host, WORM storage, a
    ticket) and pass it to `audit verify --anchor` to detect a cut-off end or a rewritten
    chain."""
    from tasks.audit import AuditError, read_anchors, safe_url, verify_chain

    audit = _open()
    recs = audit.records()
    anchors: list[Any] = []
    if Path(file).exists():
        try:
            anchors = read_anchors(file)
        except AuditError as exc:
            _fail(str(exc))
    problems = verify_chain(recs, audit.head(), anchors)
    if problems:
        _fail(f"not anchoring a log that fails verification: {problems[0].message}",
              ExitCode.FAILING)
    if not recs:
        _fail("the audit log is empty: nothing to anchor")
    last = recs[-1]
    line = json.dumps({"seq": last.seq, "hash": last.hash, "at": last.at,
                       "anchored_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                       "store": safe_url(audit.url)}, sort_keys=True)
    try:
        with open(file, "a", encoding="utf-8") as fh:
            fh.write(line + "\n")
    except OSError as exc:
        _fail(f"cannot append to {file}: {exc.strerror or exc}")
    typer.echo(f"anchored record {last.seq} ({last.hash}) in {file}")


def register(app: typer.Typer) -> None:
    app.add_typer(audit_app, name="audit")
