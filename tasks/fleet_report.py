"""The fleet report a manager reads: one self-contained HTML page from a sweep's summary.

Why one file with everything inline (CSS, an SVG chart, no JavaScript, no external URL): it is
mailed, attached to tickets and opened from a CI artifact, often where nothing outside can be
reached. It answers four questions: what breaks pulls across the fleet (causes by count), how
each cluster ended, what waits for whom (sign-offs and their approvers, owners, Azure), and
what failed. Every string from the summary is escaped; a ``token`` field is never rendered.

The summary is the ``fleet_sweep`` dict (``tasks.report.sweep_json`` plus, in apply mode,
``remediations`` — ``RemediationReport.as_json()`` — ``outcomes`` and ``changes``).
"""

from __future__ import annotations

import html
import os
from pathlib import Path
from typing import Any

from tasks.contract import Frozen

# a record outcome that leaves the cluster waiting, and on whom
WHO = {
    "awaiting_sign_off": "sign-off by {approvers}",
    "rejected": "a new sign-off (the last was rejected or expired)",
    "denied": "the owners: the policy denies pullfix this fix",
    "not_permitted": "an admin: pullfix's identity lacks a right this fix needs",
    "blocked": "the Azure Policy owner: an assignment would deny or revert it",
    "skipped": "the policy: out of scope, outside its window, or a cap reached",
    "planned": "a policy in apply mode (this one only plans)",
    "propagating": "Azure: the change is kept and still propagating",
}
KEPT = ("applied", "propagating")
FAILED = ("failed", "rolled_back")


class ClusterRow(Frozen):
    cluster: str
    id: str
    failing_pods: int
    outcome: str
    summary: str
    kept: list[str]
    waits: list[str]


class SignOff(Frozen):
    fix: str
    cluster: str
    cluster_id: str
    plan: str  # the plan hash prefix the approval binds to
    approvers: list[str]
    timeout: int
    summary: str
    policy: str


class Item(Frozen):
    """A fix (or a whole cluster, ``fix=""``) that waits on someone or failed."""

    cluster: str
    fix: str
    outcome: str
    reason: str
    who: str = ""


class FleetView(Frozen):
    """What the HTML and the markdown artifact both show, built once from the summary."""

    mode: str
    totals: dict[str, int]
    outcomes: dict[str, int]
    causes: list[dict[str, Any]]
    clusters: list[ClusterRow]
    sign_offs: list[SignOff]
    blockers: list[Item]
    failures: list[Item]


def _scrub(doc: Any) -> Any:
    """The summary without any ``token`` field, however deep (none is expected there)."""
    if isinstance(doc, dict):
        return {k: _scrub(v) for k, v in doc.items() if str(k).lower() != "token"}
    if isinstance(doc, list):
        return [_scrub(v) for v in doc]
    return doc


def _who(rec: dict[str, Any]) -> str:
    approvers = ", ".join(rec.get("decision", {}).get("approvers") or []) or "nobody named"
    return WHO.get(rec["outcome"], rec["outcome"]).format(approvers=approvers)


def fleet_view(summary: dict[str, Any]) -> FleetView:
    s = _scrub(summary)
    rems = {r["id"].lower(): r for r in s.get("remediations") or []}
    rows: list[ClusterRow] = []
    sign_offs: list[SignOff] = []
    blockers: list[Item] = []
    failures: list[Item] = []
    for res in s.get("results", []):
        r = rems.get(res["id"].lower())
        if r is not None:
            recs = r.get("records", [])
            rows.append(ClusterRow(
                cluster=res["cluster"], id=res["id"], failing_pods=res["failing_pods"],
                outcome=r["outcome"], summary=r["summary"],
                kept=[x["fix"] for x in recs if x["outcome"] in KEPT],
                waits=[f"{x['fix']}: {_who(x)}" for x in recs if x["outcome"] in WHO]))
            for x in recs:
                d = x.get("decision", {})
                if x["outcome"] == "awaiting_sign_off":
                    sign_offs.append(SignOff(
                        fix=x["fix"], cluster=r["cluster"], cluster_id=r["id"],
                        plan=str(d.get("plan_hash", ""))[:12], approvers=list(d.get("approvers") or []),
                        timeout=int(d.get("approval_timeout") or 0),
                        summary=x.get("plan", {}).get("summary", ""), policy=r.get("policy", "")))
                elif x["outcome"] in FAILED:
                    failures.append(Item(cluster=r["cluster"], fix=x["fix"], outcome=x["outcome"],
                                         reason=x["reason"]))
                elif x["outcome"] in WHO and x["outcome"] != "propagating":
                    blockers.append(Item(cluster=r["cluster"], fix=x["fix"], outcome=x["outcome"],
                                         reason=x["reason"], who=_who(x)))
            if r["outcome"] == "failed" and r.get("error"):
                failures.append(Item(cluster=r["cluster"], fix="", outcome="failed",
                                     reason=r["error"]))
            continue
        if res.get("error"):
            outcome, text = "could_not_diagnose", res["error"]
            failures.append(Item(cluster=res["cluster"], fix="", outcome=outcome, reason=text))
        elif res.get("not_diagnosed"):
            outcome, text = "not_diagnosed", res["not_diagnosed"]
        elif not res["failing_pods"]:
            outcome, text = "healthy", "no pod fails to pull"
        elif s["mode"] == "plan":
            outcome = "planned"
            text = "would get: " + (", ".join(res.get("suggested_fixes") or []) or "report only")
        else:
            outcome, text = "not_remediated", "pods fail; no automatic fix applies"
        rows.append(ClusterRow(cluster=res["cluster"], id=res["id"],
                               failing_pods=res["failing_pods"], outcome=outcome, summary=text,
                               kept=[], waits=[]))
    totals = {"clusters": s.get("clusters", 0), "failing clusters": s.get("failing_clusters", 0),
              "failing pods": s.get("failing_pods", 0),
              "could not diagnose": len(s.get("unreachable_clusters") or [])}
    if "changes" in s:
        totals["changes"] = s["changes"]
    return FleetView(mode=s.get("mode", ""), totals=totals,
                     outcomes={k: v for k, v in (s.get("outcomes") or {}).items() if v},
                     causes=s.get("root_causes", []), clusters=rows, sign_offs=sign_offs,
                     blockers=blockers, failures=failures)


def sign_off_hint(so: SignOff) -> str:
    """What to run: a sweep leaves sign-offs pending; a one-off remediation asks for them."""
    return (f"pullfix remediate --cluster {so.cluster_id} --policy {so.policy}  # then an "
            f"approver: pullfix pending; pullfix approve <run id>")


# --- HTML ---------------------------------------------------------------------------------------
def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


CSS = """
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:2rem auto;max-width:1100px;
color:#1f2328;padding:0 1rem}
h1{font-size:1.6rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #d0d7de}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.35rem .5rem;
border-bottom:1px solid #eaeef2;vertical-align:top}th{background:#f6f8fa}
code{font:12px ui-monospace,monospace;background:#f6f8fa;padding:1px 4px;border-radius:4px}
.cards{display:flex;flex-wrap:wrap;gap:.75rem}.card{border:1px solid #d0d7de;border-radius:8px;
padding:.5rem 1rem;min-width:7rem}.card b{display:block;font-size:1.5rem}
.o{padding:1px 8px;border-radius:10px;font-size:12px;white-space:nowrap;background:#eaeef2}
.o-healed,.o-healthy{background:#dafbe1}.o-partly_healed,.o-planned{background:#fff8c5}
.o-blocked,.o-awaiting_sign_off,.o-not_remediated{background:#ffebe9}
.o-failed,.o-could_not_diagnose{background:#cf222e;color:#fff}.muted{color:#656d76}
"""


def _count(values: Any) -> dict[str, int]:
    out: dict[str, int] = {}
    for value in values:
        out[value] = out.get(value, 0) + 1
    return out


def _table(head: list[str], rows: list[list[str]], empty: str) -> str:
    if not rows:
        return f'<p class="muted">{_e(empty)}</p>'
    th = "".join(f"<th>{_e(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def _badge(outcome: str) -> str:
    return f'<span class="o o-{_e(outcome)}">{_e(outcome.replace("_", " "))}</span>'


def causes_svg(causes: list[dict[str, Any]]) -> str:
    """Root causes as horizontal bars: clusters (dark) and pods (light) per cause."""
    if not causes:
        return '<p class="muted">No root cause: nothing fails to pull.</p>'
    label_w, bar_w, row_h, top = 260, 520, 34, 24
    peak = max(max(len(c["clusters"]), c["pods"]) for c in causes) or 1
    height = top + row_h * len(causes) + 8
    parts = [f'<svg width="{label_w + bar_w + 60}" '
             f'height="{height}" role="img" aria-label="root causes by clusters and pods">',
             '<rect x="0" y="2" width="12" height="10" fill="#0969da"/>'
             '<text x="16" y="11" font-size="11">clusters</text>'
             '<rect x="80" y="2" width="12" height="10" fill="#9ecbff"/>'
             '<text x="96" y="11" font-size="11">pods</text>']
    for i, c in enumerate(causes):
        y = top + i * row_h
        name = c["check"] if len(c["check"]) <= 38 else c["check"][:37] + "…"
        parts.append(f'<g><title>{_e(c["check"])}: {_e(c["summary"])}</title>'
                     f'<text x="{label_w - 8}" y="{y + 16}" font-size="12" '
                     f'text-anchor="end">{_e(name)}</text>')
        for j, (value, colour) in enumerate(((len(c["clusters"]), "#0969da"),
                                             (c["pods"], "#9ecbff"))):
            w = max(1, round(bar_w * value / peak)) if value else 0
            by = y + 3 + j * 13
            parts.append(f'<rect x="{label_w}" y="{by}" width="{w}" height="12" fill="{colour}"/>'
                         f'<text x="{label_w + w + 4}" y="{by + 10}" font-size="11">{value}</text>')
        parts.append("</g>")
    parts.append("</svg>")
    return "".join(parts)


def fleet_html(summary: dict[str, Any], *, run_id: str = "", generated: str = "") -> str:
    """The whole report as one HTML page (pure: no clock, no I/O)."""
    v = fleet_view(summary)
    title = f"pullfix fleet sweep ({v.mode})"
    cards = "".join(f'<div class="card"><b>{_e(n)}</b>{_e(k)}</div>' for k, n in v.totals.items())
    by_outcome = [("Clusters", _count(r.outcome for r in v.clusters)), ("Fixes", v.outcomes)]
    counts = "".join(f"<p><b>{_e(what)}:</b> " + " · ".join(
        f"{_e(k.replace('_', ' '))} {_e(n)}" for k, n in c.items()) + "</p>"
        for what, c in by_outcome if c)
    causes = _table(["root cause (check)", "clusters", "pods", "fix", "summary"], [
        [f"<code>{_e(c['check'])}</code>", _e(len(c["clusters"])), _e(c["pods"]),
         _e(", ".join(c["fixes"]) or "report only"), _e(c["summary"])] for c in v.causes],
        "No root cause found.")
    clusters = _table(["cluster", "failing pods", "outcome", "kept fixes", "waits for"], [
        [f'{_e(r.cluster)}<br><span class="muted">{_e(r.id)}</span>', _e(r.failing_pods),
         f"{_badge(r.outcome)}<br>{_e(r.summary)}", _e(", ".join(r.kept) or "-"),
         "<br>".join(_e(w) for w in r.waits) or "-"] for r in v.clusters], "No cluster seen.")
    sign_offs = _table(["fix", "cluster", "plan", "approvers", "expires after", "what to run"], [
        [f"<b>{_e(s.fix)}</b><br>{_e(s.summary)}", _e(s.cluster), f"<code>{_e(s.plan)}</code>",
         _e(", ".join(s.approvers) or "nobody named"), _e(f"{s.timeout}s" if s.timeout else "-"),
         f"<code>{_e(sign_off_hint(s))}</code>"] for s in v.sign_offs],
        "No sign-off is waiting.")
    blockers = _table(["fix", "cluster", "outcome", "waits for", "reason"], [
        [_e(b.fix), _e(b.cluster), _badge(b.outcome), _e(b.who), _e(b.reason)]
        for b in v.blockers], "Nothing else waits on a person.")
    failures = _table(["cluster", "fix", "outcome", "reason"], [
        [_e(f.cluster), _e(f.fix or "(the cluster)"), _badge(f.outcome), _e(f.reason)]
        for f in v.failures], "Nothing failed.")
    meta = " · ".join(_e(x) for x in (f"run {run_id}" if run_id else "", generated) if x)
    return "\n".join([
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title><style>{CSS}</style></head><body>",
        f"<h1>{_e(title)}</h1>", f'<p class="muted">{meta}</p>' if meta else "",
        f'<div class="cards">{cards}</div>', counts,
        "<h2>Root causes across the fleet</h2>", causes_svg(v.causes), causes,
        "<h2>Outcome per cluster</h2>", clusters,
        "<h2>Waiting for sign-off</h2>",
        '<p class="muted">A sweep never waits: it leaves sign-offs pending. Run the command '
        "shown to ask for one; the approvers named by the policy then approve it.</p>",
        sign_offs, "<h2>Waiting for someone else</h2>", blockers,
        "<h2>Failures</h2>", failures, "</body></html>"])


# --- markdown (the Prefect artifact: Prefect cannot hold HTML) ------------------------------------
def _md(value: Any) -> str:
    return str(value).replace("|", "/").replace("\n", " ")


def fleet_markdown(summary: dict[str, Any], *, html_path: str = "") -> str:
    v = fleet_view(summary)
    lines = [f"# Fleet report ({v.mode})", "",
             ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in {**v.totals, **v.outcomes}.items()),
             ""]
    if html_path:
        lines += [f"Full report (self-contained HTML): `{html_path}`", ""]
    lines += ["| cluster | outcome | kept fixes | waits for |", "|---|---|---|---|"]
    lines += [f"| {_md(r.cluster)} | {_md(r.outcome)} | {_md(', '.join(r.kept) or '-')} | "
              f"{_md('; '.join(r.waits) or '-')} |" for r in v.clusters]
    if v.sign_offs:
        lines += ["", "## Waiting for sign-off", ""] + [
            f"- **{_md(s.fix)}** on {_md(s.cluster)} (plan `{s.plan}`), approvers: "
            f"{_md(', '.join(s.approvers) or 'nobody named')} — `{sign_off_hint(s)}`"
            for s in v.sign_offs]
    if v.failures:
        lines += ["", "## Failures", ""] + [
            f"- {_md(f.cluster)} {_md(f.fix or '(the cluster)')}: {_md(f.outcome)} — {_md(f.reason)}"
            for f in v.failures]
    return "\n".join(lines)


# --- the file ------------------------------------------------------------------------------------
def reports_dir() -> Path:
    """``$PULLFIX_HOME/reports`` (default ``~/.pullfix/reports``), created when missing."""
    home = Path(os.environ.get("PULLFIX_HOME") or Path.home() / ".pullfix").expanduser()
    path = home / "reports"
    path.mkdir(parents=True, exist_ok=True)
    return path.resolve()


def write_fleet_report(summary: dict[str, Any], *, run_id: str, generated: str = "") -> Path:
    path = reports_dir() / f"sweep-{run_id}.html"
    path.write_text(fleet_html(summary, run_id=run_id, generated=generated), encoding="utf-8")
    return path
