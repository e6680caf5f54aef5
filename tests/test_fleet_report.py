"""The fleet report a manager reads, and the webhook message when a sweep needs a person.

The renderer is read from a summary shaped like ``fleet_sweep``'s (built by hand: every
outcome at once); one test runs a real apply sweep against the simulator and reads the file it
wrote, the Prefect artifact and the webhook message a local HTTP server received.
"""

from __future__ import annotations

import json
import logging
import re
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tasks.fleet_report import fleet_html, fleet_markdown
from tasks.notify import message, notify, webhook_urls
from tests.simharness import ROOT, Sim, env_with

SUB = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-{0}/providers/" \
      "Microsoft.ContainerService/managedClusters/{0}"
PLAN_HASH = "649bb6cd153cee60052b2bf926b851688e03f3e09ee95278458e330f0bf2e06c"
TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl"


def _result(name: str, pods: int, *, fixes: tuple[str, ...] = (), error: str | None = None
            ) -> dict[str, Any]:
    return {"cluster": name, "id": SUB.format(name), "subscription": "00000000-0000-0000-0000-000000000001",
            "resource_group": f"rg-{name}", "error": error, "access": "public endpoint",
            "not_diagnosed": None, "failing_pods": pods, "failing_checks": [],
            "suggested_fixes": list(fixes), "checks_run": 12, "root_causes": [], "pods": [],
            "findings": []}


def _record(fix: str, outcome: str, reason: str, *, decision: str = "auto",
            approvers: tuple[str, ...] = (), timeout: int = 0, approval: dict[str, Any] | None = None
            ) -> dict[str, Any]:
    return {"fix": fix, "outcome": outcome, "reason": reason, "pass_no": 1,
            "plan": {"fix": fix, "summary": f"{fix} on the cluster", "resolves": [], "risk": "low",
                     "reversible": True, "changes": [], "params": {}, "pods": []},
            "decision": {"outcome": decision, "fix": fix, "plan_hash": PLAN_HASH,
                         "approvers": list(approvers), "approval_timeout": timeout,
                         "reason": f"fixes.{fix}: {decision}"},
            "approval": approval or {}, "result": None, "verification": {}}


def _remediation(name: str, outcome: str, summary: str, records: list[dict[str, Any]],
                 *, changes: int = 0) -> dict[str, Any]:
    counts = {o: sum(1 for r in records if r["outcome"] == o) for o in (
        "applied", "propagating", "rolled_back", "awaiting_sign_off", "rejected", "denied",
        "not_permitted", "blocked", "skipped", "planned", "failed")}
    return {"cluster": name, "id": SUB.format(name), "policy": "policies/default.yaml",
            "mode": "apply", "outcome": outcome, "summary": summary, "failing_checks": [],
            "passes": [], "records": records, "remaining": [], "waiting": [], "changes": changes,
            "error": None, "counts": counts}


def _summary() -> dict[str, Any]:
    """An apply sweep of five clusters: healed, waiting for a sign-off, a fix rolled back,
    healthy, unreachable; a cause whose summary carries markup."""
    rems = [
        _remediation("aks-healed", "healed", "healed: every pod pulls (1 fix(es) kept, 2 pass(es))", [
            _record("grant-pull-role", "applied", "applied; its own checks pass",
                    approval={"approver": "auto", "token": TOKEN})], changes=1),
        _remediation("aks-waiting", "blocked", "blocked: rotate-pull-secret-sp: sign-off", [
            _record("rotate-pull-secret-sp", "awaiting_sign_off", "fixes.rotate-pull-secret-sp: sign-off",
                    decision="sign-off", approvers=("group:pullfix-approvers", "user:alice@contoso.com"),
                    timeout=14400),
            _record("enable-selected-networks", "denied", "fixes.enable-selected-networks: deny",
                    decision="deny")]),
        _remediation("aks-broken", "failed", "fixes were tried and did not hold", [
            _record("link-private-dns-zone", "rolled_back",
                    "its own checks still fail: private-dns-zone-linked: no link; rolled back")],
            changes=1),
    ]
    outcomes = {k: sum(r["counts"][k] for r in rems) for k in rems[0]["counts"]}
    return {
        "mode": "apply", "clusters": 5, "failing_clusters": 3, "failing_pods": 7,
        "unreachable_clusters": [SUB.format("aks-gone")], "stopped_clusters": [],
        "root_causes": [
            {"key": "a", "check": "kubelet-identity-has-pull-role", "group": "identity",
             "summary": "no AcrPull <script>alert(1)</script>", "fixes": ["grant-pull-role"],
             "clusters": [SUB.format("aks-healed"), SUB.format("aks-broken")], "pods": 4},
            {"key": "b", "check": "pull-secret-sp-valid", "group": "identity",
             "summary": "every secret of acr-puller has expired", "fixes": ["rotate-pull-secret-sp"],
             "clusters": [SUB.format("aks-waiting")], "pods": 2}],
        "results": [_result("aks-healed", 3, fixes=("grant-pull-role",)), _result("aks-waiting", 2),
                    _result("aks-broken", 2), _result("aks-healthy", 0),
                    _result("aks-gone", 0, error="cannot reach the API server: timed out")],
        "remediations": rems, "outcomes": outcomes, "changes": 2,
    }


class _Page(HTMLParser):
    """The page as a reader sees it: each table's rows of cell texts, the SVG bars, every
    attribute."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self.rects: list[dict[str, str]] = []
        self.attrs: list[tuple[str, str, str]] = []
        self.tags: list[str] = []
        self._cell: list[str] | None = None
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs += [(tag, k, v or "") for k, v in attrs]
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "br" and self._cell is not None:
            self._cell.append("\n")
        elif tag == "rect":
            self.rects.append({k: v or "" for k, v in attrs})

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)

    def table(self, *head: str) -> list[dict[str, str]]:
        """The rows of the table whose header starts with ``head``."""
        for t in self.tables:
            if t and tuple(t[0][:len(head)]) == head:
                return [dict(zip(t[0], row, strict=True)) for row in t[1:]]
        raise AssertionError(f"no table headed {head!r}")


# --- the renderer -------------------------------------------------------------------------------
def test_the_report_shows_each_clusters_outcome_kept_fixes_and_what_it_waits_for() -> None:
    page = _Page(fleet_html(_summary(), run_id="run-1"))

    rows = {r["cluster"].split("\n")[0]: r for r in page.table("cluster", "failing pods")}
    assert set(rows) == {"aks-healed", "aks-waiting", "aks-broken", "aks-healthy", "aks-gone"}
    assert rows["aks-healed"]["outcome"].startswith("healed\n")
    assert rows["aks-healed"]["kept fixes"] == "grant-pull-role"
    assert rows["aks-waiting"]["outcome"].startswith("blocked\n")
    assert rows["aks-waiting"]["waits for"] == (
        "rotate-pull-secret-sp: sign-off by group:pullfix-approvers, user:alice@contoso.com\n"
        "enable-selected-networks: the owners: the policy denies pullfix this fix")
    assert rows["aks-broken"]["outcome"] == "failed\nfixes were tried and did not hold"
    assert rows["aks-healthy"]["outcome"] == "healthy\nno pod fails to pull"
    assert rows["aks-gone"]["outcome"] == "could not diagnose\ncannot reach the API server: timed out"


def test_waiting_sign_offs_name_the_plan_the_approvers_and_the_command_to_run() -> None:
    page = _Page(fleet_html(_summary()))

    [so] = page.table("fix", "cluster", "plan")
    assert so["fix"] == "rotate-pull-secret-sp\nrotate-pull-secret-sp on the cluster"
    assert so["cluster"] == "aks-waiting"
    assert so["plan"] == PLAN_HASH[:12]
    assert so["approvers"] == "group:pullfix-approvers, user:alice@contoso.com"
    assert so["expires after"] == "14400s"
    assert so["what to run"] == (
        f"pullfix remediate --cluster {SUB.format('aks-waiting')} --policy policies/default.yaml"
        "  # then an approver: pullfix pending; pullfix approve <run id>")


def test_failures_list_rolled_back_fixes_and_clusters_that_could_not_be_read() -> None:
    page = _Page(fleet_html(_summary()))

    failures = [(f["cluster"], f["fix"], f["outcome"])
                for f in page.table("cluster", "fix", "outcome", "reason")]
    assert failures == [("aks-broken", "link-private-dns-zone", "rolled back"),
                        ("aks-gone", "(the cluster)", "could not diagnose")]


def test_the_chart_has_a_bar_per_cause_for_clusters_and_pods_scaled_to_the_largest() -> None:
    page = _Page(fleet_html(_summary()))

    bars = [int(r["width"]) for r in page.rects if r.get("height") == "12"]
    # kubelet-identity-has-pull-role: 2 clusters, 4 pods; pull-secret-sp-valid: 1 cluster, 2 pods
    assert bars == [260, 520, 130, 260]


def test_totals_count_clusters_pods_changes_and_outcomes() -> None:
    text = fleet_html(_summary())

    cards = dict((m.group(2), int(m.group(1))) for m in re.finditer(
        r'<div class="card"><b>(\d+)</b>([^<]+)</div>', text))
    assert cards == {"clusters": 5, "failing clusters": 3, "failing pods": 7,
                     "could not diagnose": 1, "changes": 2}
    assert ("<p><b>Clusters:</b> healed 1 · blocked 1 · failed 1 · healthy 1 · "
            "could not diagnose 1</p>") in text
    assert ("<p><b>Fixes:</b> applied 1 · rolled back 1 · awaiting sign off 1 · denied 1</p>"
            in text)


def test_every_string_is_escaped_and_a_token_is_never_rendered() -> None:
    text = fleet_html(_summary())

    assert "<script" not in text
    assert "no AcrPull &lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert TOKEN not in text and "token" not in text.lower()


def test_the_page_is_self_contained() -> None:
    text = fleet_html(_summary())
    page = _Page(text)

    assert not re.search(r"https?://", text)
    assert [a for a in page.attrs if a[1] in ("src", "href")] == []
    assert {"script", "link", "img", "iframe"}.isdisjoint(page.tags)
    assert "style" in page.tags and "svg" in page.tags


def test_a_plan_sweep_shows_what_each_failing_cluster_would_get() -> None:
    summary = _summary()
    for key in ("remediations", "outcomes", "changes"):
        summary.pop(key)
    summary["mode"] = "plan"

    page = _Page(fleet_html(summary))

    rows = {r["cluster"].split("\n")[0]: r for r in page.table("cluster", "failing pods")}
    assert rows["aks-healed"]["outcome"] == "planned\nwould get: grant-pull-role"
    assert rows["aks-healthy"]["outcome"] == "healthy\nno pod fails to pull"


def test_the_markdown_artifact_names_the_html_file_and_each_cluster() -> None:
    md = fleet_markdown(_summary(), html_path="/home/op/.pullfix/reports/sweep-1.html")

    assert md.splitlines()[2] == ("5 clusters, 3 failing clusters, 7 failing pods, 1 could not "
                                  "diagnose, 2 changes, 1 applied, 1 rolled back, 1 awaiting sign "
                                  "off, 1 denied")
    assert "Full report (self-contained HTML): `/home/op/.pullfix/reports/sweep-1.html`" in md
    assert "| aks-waiting | blocked | - | rotate-pull-secret-sp: sign-off by group:pullfix-approvers, " \
           "user:alice@contoso.com; enable-selected-networks: the owners: the policy denies " \
           "pullfix this fix |" in md
    assert "- aks-broken link-private-dns-zone: rolled_back — its own checks still fail" in md


# --- the webhook --------------------------------------------------------------------------------
class _Webhook:
    """A local incoming webhook (Slack/Teams shape): records what it is sent."""

    def __init__(self, status: int = 200) -> None:
        self.received: list[tuple[str, dict[str, Any]]] = []
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append((self.path, json.loads(body)))
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/services/T0/B0/s3cr3tpath"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webhook() -> Iterator[Callable[..., _Webhook]]:
    made: list[_Webhook] = []

    def make(status: int = 200) -> _Webhook:
        made.append(_Webhook(status))
        return made[-1]

    yield make
    for w in made:
        w.close()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_sweep_that_needs_a_person_posts_one_message_listing_what_waits_and_failed(
        webhook: Callable[..., _Webhook]) -> None:
    hook = webhook()

    delivered = notify(_summary(), report="/r/sweep-1.html", urls=[hook.url])

    assert delivered == [f"http://127.0.0.1:{hook.server.server_address[1]}"]
    [(path, payload)] = hook.received
    assert path == "/services/T0/B0/s3cr3tpath"
    assert payload == {"text": "\n".join([
        "pullfix fleet sweep (apply): 5 clusters, 1 sign-off(s) waiting, 2 failure(s)",
        "• sign-off waiting: rotate-pull-secret-sp on aks-waiting (plan 649bb6cd153c; approvers "
        "group:pullfix-approvers, user:alice@contoso.com)",
        "• rolled back: link-private-dns-zone on aks-broken — its own checks still fail: "
        "private-dns-zone-linked: no link; rolled back",
        "• could not diagnose: the cluster on aks-gone — cannot reach the API server: timed out",
        "report: /r/sweep-1.html"])}
    assert TOKEN not in json.dumps(payload)


def test_a_sweep_where_nothing_waits_and_no_fix_failed_sends_nothing(
        webhook: Callable[..., _Webhook]) -> None:
    hook = webhook()
    summary = _summary()
    summary["remediations"] = summary["remediations"][:1]  # the healed cluster
    summary["results"] = [summary["results"][0], summary["results"][-1]]  # and an unreachable one

    assert message(summary) is None
    assert notify(summary, urls=[hook.url]) == []
    assert hook.received == []


def test_an_unreachable_or_refusing_webhook_is_logged_and_breaks_nothing(
        webhook: Callable[..., _Webhook], caplog: pytest.LogCaptureFixture) -> None:
    refusing = webhook(status=500)
    good = webhook()
    port = _closed_port()
    dead = f"http://127.0.0.1:{port}/hooks/s3cr3tpath"

    with caplog.at_level(logging.WARNING, logger="tasks.notify"):
        delivered = notify(_summary(), urls=[dead, refusing.url, good.url])

    assert delivered == [f"http://127.0.0.1:{good.server.server_address[1]}"]
    assert len(good.received) == 1 and len(refusing.received) == 1
    warnings = [r.getMessage() for r in caplog.records]
    assert warnings[0].startswith(f"could not notify webhook http://127.0.0.1:{port}: ConnectError: ")
    assert warnings[1] == (f"webhook http://127.0.0.1:{refusing.server.server_address[1]} refused "
                           "the sweep notification: HTTP 500")
    assert "s3cr3tpath" not in caplog.text  # a webhook's path is its secret


def test_webhook_urls_come_from_the_environment_and_bad_entries_are_skipped(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("PULLFIX_WEBHOOK_URL", " https://hooks.slack.com/services/T/B/x , ,"
                       "hooks.example.com/nohttps,https://contoso.webhook.office.com/w/y")

    with caplog.at_level(logging.WARNING, logger="tasks.notify"):
        urls = webhook_urls()

    assert urls == ["https://hooks.slack.com/services/T/B/x", "https://contoso.webhook.office.com/w/y"]
    assert [r.getMessage() for r in caplog.records] == [
        "PULLFIX_WEBHOOK_URL: skipping an entry that is not an http(s) URL (entry 2); give the "
        "webhook's full https://… address"]


# --- a real sweep ---------------------------------------------------------------------------------
@pytest.mark.scenario("pull-secret-sp-expired")
def test_an_apply_sweep_writes_the_report_publishes_it_and_notifies(
        sim: Sim, sim_env: Callable[[Sim], None], prefect_harness: None, pullfix_home: str,
        webhook: Callable[..., _Webhook], monkeypatch: pytest.MonkeyPatch) -> None:
    from prefect import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    from flows.sweep import fleet_sweep

    sim_env(sim)
    hook = webhook()
    monkeypatch.setenv("PULLFIX_WEBHOOK_URL", hook.url)

    summary = fleet_sweep(mode="apply", policy=str(ROOT / "policies/default.yaml"),
                          verify_seconds=30)

    path = Path(summary["report_html"])
    assert path.parent == Path(pullfix_home).resolve() / "reports"
    assert re.fullmatch(r"sweep-[0-9a-f-]{36}\.html", path.name)
    page = _Page(path.read_text(encoding="utf-8"))
    assert [a for a in page.attrs if a[1] in ("src", "href") and re.match(r"https?:", a[2])] == []
    [row] = page.table("cluster", "failing pods")
    assert row["cluster"].split("\n")[0] == "aks-app"
    assert row["outcome"].startswith("blocked\n")
    [so] = page.table("fix", "cluster", "plan")
    assert so["cluster"] == "aks-app" and so["approvers"] == "group:pullfix-approvers"
    assert so["fix"].startswith("rotate-pull-secret-sp\n")
    # the Prefect artifact points at the file
    with get_client(sync_client=True) as client:
        arts = client.read_artifacts(artifact_filter=ArtifactFilter(
            key=ArtifactFilterKey(any_=["fleet-report"])))
    assert any(str(path) in str(a.data) for a in arts)
    # one message to the webhook, naming what waits and where the report is
    [(_, payload)] = hook.received
    assert "sign-off waiting: rotate-pull-secret-sp on aks-app" in payload["text"]
    assert payload["text"].endswith(f"report: {path}")


def test_sweep_report_rejects_a_folder_that_does_not_exist(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-m", "flows.cli", "sweep", "--report",
                          str(tmp_path / "nope" / "fleet.html")], cwd=ROOT, capture_output=True,
                         text=True, timeout=300)

    assert out.returncode == 2
    assert out.stderr.strip() == (f"pullfix: --report {tmp_path / 'nope' / 'fleet.html'}: the "
                                  f"folder {tmp_path / 'nope'} does not exist; create it or give "
                                  "another path")


@pytest.mark.scenario("pull-secret-sp-expired")
def test_the_sweep_command_prints_the_report_and_copies_it_where_asked(sim: Sim, tmp_path: Path
                                                                        ) -> None:
    env = env_with(sim, PULLFIX_HOME=str(tmp_path / "pullfix"), PULLFIX_WEBHOOK_URL=None)
    out = subprocess.run([sys.executable, "-m", "flows.cli", "sweep", "--mode", "plan",
                          "--report", str(tmp_path / "fleet.html")], env=env, cwd=ROOT,
                         capture_output=True, text=True, timeout=600)

    assert out.returncode == 1, out.stderr[-3000:]  # 1: it found failing pods
    assert out.stdout.splitlines()[-1] == f"fleet report: {tmp_path / 'fleet.html'}"
    [written] = (tmp_path / "pullfix" / "reports").glob("sweep-*.html")
    assert (tmp_path / "fleet.html").read_bytes() == written.read_bytes()
    assert "aks-app" in written.read_text(encoding="utf-8")
