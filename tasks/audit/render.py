"""The log as an auditor reads it: a one-line summary per record, and exports — JSON lines
(every field, for archives and tools: a full export re-verifies), CSV (for spreadsheets) and
one self-contained HTML page that tells each run's story in order: evidence → plan →
decision → approval → change → verification."""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import json
from collections.abc import Sequence
from typing import Any

from tasks.audit.db import Record
from tasks.audit.kinds import Kind
from tasks.audit.verify import Gap, Problem


def short_cluster(cluster: str) -> str:
    return cluster.rstrip("/").rsplit("/", 1)[-1]


def _who(value: Any) -> str:
    if isinstance(value, dict):
        name = value.get("name") or value.get("display_name") or ""
        oid = value.get("object_id") or value.get("id") or ""
        return f"{name} ({oid})" if name and oid else str(name or oid)
    return str(value or "")


def summarize(rec: Record) -> str:
    """One line saying what the record is about."""
    d = rec.payload
    plan = f"plan {str(d.get('plan_hash', ''))[:12]}" if d.get("plan_hash") else ""
    fix = str(d.get("fix", ""))
    match rec.kind:
        case Kind.PLAN:
            return f"{fix}: {d.get('summary', '')} ({plan}, risk {d.get('risk', '?')})"
        case Kind.DECISION:
            rule = f", rule {d['rule']}" if d.get("rule") else ""
            return f"{fix or plan}: {d.get('outcome')} — {d.get('reason', '')}{rule}"
        case Kind.APPROVAL:
            comment = f": {d['comment']!r}" if d.get("comment") else ""
            return f"approved by {_who(d.get('approver'))} ({d.get('verified', 'how unknown')})" \
                   f"{comment} [{plan}]"
        case Kind.REJECTION:
            by = f" by {_who(d['by'])}" if d.get("by") else ""
            return f"rejected{by}: {d.get('reason', '')} [{plan}]"
        case Kind.INTENT:
            return f"about to apply {fix}: {len(d.get('changes') or [])} change(s) [{plan}]"
        case Kind.CHANGE | Kind.RECONCILED:
            state = "applied" if d.get("applied") else "not applied"
            how = f" (found by run {d['reconciled_by']})" if d.get("reconciled_by") else ""
            why = f": {d['reason']}" if d.get("reason") else ""
            return f"{fix} {state}{how}{why} [intent {d.get('intent')}]"
        case Kind.VERIFICATION:
            return f"{fix or plan}: {'verified' if d.get('ok') else 'verification failed'}"
        case Kind.ROLLBACK:
            return f"{fix or plan}: rolled back{': ' + str(d['reason']) if d.get('reason') else ''}"
        case Kind.CRASHED:
            return f"run crashed: {d.get('reason', '')}"
        case Kind.EVIDENCE:
            n = d.get("findings")
            count = f"{len(n)} finding(s)" if isinstance(n, list) else "findings"
            causes = d.get("root_causes")
            return f"{count}; root causes: " + (", ".join(
                str(c.get("check", c)) if isinstance(c, dict) else str(c) for c in causes)
                if isinstance(causes, list) and causes else "none")
    keys = ", ".join(f"{k}={v}" for k, v in d.items() if isinstance(v, str | int | float))
    return keys[:160]


def export_doc(rec: Record) -> dict[str, Any]:
    """A record as exported: every stored field, ``data`` as an object."""
    return {"seq": rec.seq, "kind": rec.kind, "at": rec.at, "run_id": rec.run_id,
            "cluster": rec.cluster, "data": rec.payload, "prev_hash": rec.prev_hash,
            "hash": rec.hash}


def to_jsonl(records: Sequence[Record]) -> str:
    return "".join(json.dumps(export_doc(r), sort_keys=True) + "\n" for r in records)


def to_csv(records: Sequence[Record]) -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["seq", "at", "kind", "run_id", "cluster", "plan_hash", "summary", "data",
                "prev_hash", "hash"])
    for r in records:
        w.writerow([r.seq, r.at, r.kind, r.run_id, r.cluster, r.payload.get("plan_hash", ""),
                    summarize(r), r.data, r.prev_hash, r.hash])
    return out.getvalue()


_STAGES = (Kind.PLAN, Kind.DECISION, Kind.APPROVAL, Kind.REJECTION, Kind.INTENT, Kind.CHANGE,
           Kind.RECONCILED, Kind.VERIFICATION, Kind.ROLLBACK)
_CSS = """body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:72em;color:#222}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ccc}
h3{font-size:1em;margin:1.2em 0 .4em}table{border-collapse:collapse;width:100%}
td,th{border:1px solid #ddd;padding:.3em .5em;vertical-align:top;text-align:left}
th{background:#f4f4f4}.ok{color:#1a7f37}.bad{color:#b42318;font-weight:600}
code,pre{font:12px ui-monospace,monospace}pre{margin:0;white-space:pre-wrap;word-break:break-all}
details summary{cursor:pointer;color:#555}.meta{color:#555}"""


def story(records: Sequence[Record]) -> list[tuple[str, list[Record]]]:
    """One run's records as (title, records) sections: the run-level ones (started,
    evidence, ended) first, then each plan's stages in chain order under "fix — plan ..."."""
    plans: dict[str, list[Record]] = {}
    for r in records:
        ph = r.payload.get("plan_hash")
        if isinstance(ph, str) and r.kind in _STAGES:
            plans.setdefault(ph, []).append(r)
    staged = {r.seq for steps in plans.values() for r in steps}
    sections = [("", [r for r in records if r.seq not in staged])]
    for ph, steps in plans.items():
        fix = next((str(s.payload["fix"]) for s in steps if s.payload.get("fix")), "fix")
        sections.append((f"{fix} — plan {ph[:16]}", steps))
    return [(t, rs) for t, rs in sections if rs]


def _row(rec: Record) -> str:
    e = html.escape
    detail = json.dumps(rec.payload, indent=2, sort_keys=True)
    return (f"<tr><td>{rec.seq}</td><td>{e(rec.kind)}</td><td>{e(rec.at)}</td>"
            f"<td>{e(summarize(rec))}<details><summary>record</summary><pre>{e(detail)}</pre>"
            f"<p class=meta>hash <code>{rec.hash}</code><br>prev <code>{rec.prev_hash}</code>"
            f"</p></details></td></tr>")


def _table(records: Sequence[Record]) -> str:
    return ("<table><tr><th>seq</th><th>kind</th><th>at (UTC)</th><th>what</th></tr>"
            + "".join(_row(r) for r in records) + "</table>")


def to_html(records: Sequence[Record], *, problems: Sequence[Problem], gaps: Sequence[Gap],
            scope: str, store: str) -> str:
    """One page, no external resources: the chain's state, then each run in order, its
    run-level records and then each plan's stages."""
    e = html.escape
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    head = records[-1] if records else None
    parts = [f"<!doctype html><html lang=en><head><meta charset=utf-8><title>pullfix audit log"
             f"</title><style>{_CSS}</style></head><body><h1>pullfix audit log</h1>",
             f"<p class=meta>store {e(store)} · {e(scope)} · {len(records)} record(s) · "
             f"exported {now}" + (f" · last record {head.seq} <code>{head.hash}</code>"
                                  if head else "") + "</p>"]
    if problems:
        parts.append("<p class=bad>The chain is NOT intact:</p><ul>" + "".join(
            f"<li class=bad>{e(p.message)}</li>" for p in problems) + "</ul>")
    else:
        parts.append("<p class=ok>Chain intact: every record's hash matches its content and "
                     "links to the one before it, up to the head.</p>")
    if gaps:
        parts.append("<p class=bad>Applied changes lacking records:</p><ul>" + "".join(
            f"<li class=bad>{e(g.message)}</li>" for g in gaps) + "</ul>")
    else:
        parts.append("<p class=ok>Complete: every applied change shown has its evidence, plan, "
                     "decision, approval where the policy required one, and verification.</p>")
    runs: dict[str, list[Record]] = {}
    for r in records:
        runs.setdefault(r.run_id, []).append(r)
    for run_id, recs in runs.items():
        clusters = sorted({short_cluster(r.cluster) for r in recs if r.cluster})
        parts.append(f"<h2>Run {e(run_id)}</h2><p class=meta>{e(', '.join(clusters) or 'fleet')}"
                     f" · {e(recs[0].at)} → {e(recs[-1].at)}</p>")
        for title, steps in story(recs):
            if title:
                parts.append(f"<h3>{e(title)}</h3>")
            parts.append(_table(steps))
    parts.append("</body></html>\n")
    return "".join(parts)
