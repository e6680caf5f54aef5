"""``pullfix audit list|show|export`` as an auditor uses them: filtered listings, one run's
story, and exports (jsonl, csv, one self-contained html page) — and clear refusals of bad
input with exit code 2."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest

from tasks import audit
from tasks.audit import Kind
from tests.auditlib import CLUSTER, pullfix, write_run

OTHER = CLUSTER.replace("aks-prod", "aks-dev")


@pytest.fixture(autouse=True)
def own_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PULLFIX_AUDIT_URL", f"sqlite:///{tmp_path / 'audit.db'}")


@pytest.fixture
def two_runs() -> None:
    """run 7f3a... on aks-prod with a sign-off (records 1..9), run 7f3b... on aks-dev (10..12)."""
    write_run("7f3a0000-1111-4222-8333-444455556666", decision="sign-off")
    audit.record(Kind.RUN_STARTED, {"policy": "policies/nonprod.yaml"},
                 run_id="7f3b0000-1111-4222-8333-444455556666", cluster=OTHER)
    audit.record(Kind.EVIDENCE, {"findings": [], "note": "<script>alert(1)</script>"},
                 run_id="7f3b0000-1111-4222-8333-444455556666", cluster=OTHER)
    audit.record(Kind.RUN_ENDED, {}, run_id="7f3b0000-1111-4222-8333-444455556666", cluster=OTHER)


@pytest.mark.usefixtures("two_runs")
def test_list_filters_by_cluster_run_and_kind() -> None:
    # when listing aks-dev's records by cluster name
    got = pullfix("audit", "list", "--cluster", "aks-dev", "-o", "json")
    assert got.returncode == 0, got.stderr
    assert [r["seq"] for r in json.loads(got.stdout)] == [10, 11, 12]
    # and one run's approvals by a unique prefix of its id
    got = pullfix("audit", "list", "--run", "7f3a", "--kind", "approval", "-o", "json")
    [approval] = json.loads(got.stdout)
    assert (approval["seq"], approval["data"]["approver"]["name"]) == (5, "Alice Approver")
    # and the table names what each record is
    got = pullfix("audit", "list", "--cluster", CLUSTER, "--kind", "approval")
    assert "approved by Alice Approver (5b1f0c1e-0000-4000-8000-00000000a11c)" in got.stdout
    assert "[plan" in got.stdout  # recorded text, not rich markup


@pytest.mark.usefixtures("two_runs")
def test_list_since_a_time_after_everything_is_empty() -> None:
    got = pullfix("audit", "list", "--since", "2999-01-01")
    assert (got.returncode, got.stdout.strip()) == (0, "no audit records match")
    assert len(json.loads(pullfix("audit", "list", "--since", "1h", "-o", "json").stdout)) == 12


@pytest.mark.usefixtures("two_runs")
def test_show_tells_a_runs_story_per_fix() -> None:
    # when showing the sign-off run
    got = pullfix("audit", "show", "7f3a")
    # then the run-level records come first, then the fix's stages in order
    assert got.returncode == 0, got.stderr
    out = got.stdout
    assert out.startswith("run 7f3a0000-1111-4222-8333-444455556666  aks-prod")
    order = [out.index(k) for k in ("run-started", "evidence", "run-ended",
                                    f"grant-pull-role — plan {'a1' * 8}", "plan", "decision",
                                    "approval", "intent", "change", "verification")]
    assert order[:4] == sorted(order[:4]) and order[3:] == sorted(order[3:])
    # and one record in full by its seq
    got = pullfix("audit", "show", "#7")
    assert json.loads(got.stdout)["data"]["change"] == {"x-ms-correlation-request-id": "corr-1",
                                                        "x-ms-request-id": "req-1"}


@pytest.mark.usefixtures("two_runs")
@pytest.mark.parametrize(("args", "message"), [
    (("show", "zz00"), "no audit records for run 'zz00'; see `pullfix audit list`"),
    (("show", "7"), "--run '7' matches 2 runs (7f3a0000-1111-4222-8333-444455556666, "
                    "7f3b0000-1111-4222-8333-444455556666): give more of the id"),
    (("show", "7f3"), "--run '7f3' matches 2 runs (7f3a0000-1111-4222-8333-444455556666, "
                      "7f3b0000-1111-4222-8333-444455556666): give more of the id"),
    (("show", "#99"), "no audit record 99; see `pullfix audit list`"),
    (("show", "99"), "no audit record 99; see `pullfix audit list`"),
    (("list", "--since", "last tuesday"), "--since 'last tuesday': use an ISO 8601 date or time "
     "(2026-12-01, 2026-12-01T08:00Z) or an age such as 30m, 24h, 7d"),
    (("list", "--kind", "deploy"), "unknown kind 'deploy'; valid: sweep-started, run-started, "
     "evidence, plan, decision, approval, rejection, intent, change, verification, rollback, "
     "run-ended, reconciled, crashed"),
    (("export", "--format", "pdf"), "unknown format 'pdf': jsonl | csv | html"),
])
def test_bad_input_is_refused_with_exit_2(args: tuple[str, ...], message: str) -> None:
    got = pullfix("audit", *args)
    assert (got.returncode, got.stderr.strip()) == (2, f"pullfix: {message}")
    assert "Traceback" not in got.stderr


@pytest.mark.usefixtures("two_runs")
def test_csv_export_has_one_row_per_record_with_its_hash() -> None:
    got = pullfix("audit", "export", "--format", "csv", "--cluster", "aks-prod")
    rows = list(csv.DictReader(io.StringIO(got.stdout)))
    assert [int(r["seq"]) for r in rows] == list(range(1, 10))
    assert rows[4]["kind"] == "approval" and rows[4]["plan_hash"] == "a1" * 32
    assert json.loads(rows[4]["data"])["comment"] == "ok for prod"
    assert all(re.fullmatch(r"[0-9a-f]{64}", r["hash"]) for r in rows)


@pytest.mark.usefixtures("two_runs")
def test_html_export_is_one_self_contained_page_in_story_order(tmp_path: Path) -> None:
    # when exported as html to a file
    page = tmp_path / "audit.html"
    got = pullfix("audit", "export", "--format", "html", "--out", str(page))
    assert got.returncode == 0, got.stderr
    assert got.stderr.strip() == f"wrote 12 record(s) to {page} (html)"
    text = page.read_text()
    # then it loads nothing from elsewhere, escapes recorded text, and says the chain is intact
    assert not re.search(r"<(script|link|img)\b|src=|href=", text)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "Chain intact" in text
    # and each run reads evidence → plan → decision → approval → change → verification
    run = text[text.index("Run 7f3a"):text.index("Run 7f3b")]
    stages = ["evidence", "grant-pull-role: grant AcrPull", "grant-pull-role: sign-off",
              "approved by Alice Approver", "grant-pull-role applied", "grant-pull-role: verified"]
    positions = [run.index(s) for s in stages]
    assert positions == sorted(positions)


@pytest.mark.usefixtures("two_runs")
def test_html_export_of_a_tampered_log_says_so_first(tmp_path: Path) -> None:
    # given the approval's approver edited in the file
    from tests.auditlib import tamper

    tamper("UPDATE audit_log SET data = replace(data, 'Alice', 'Mallory') WHERE seq = 5")
    # when exported as html
    text = pullfix("audit", "export", "--format", "html").stdout
    # then the page opens with the broken chain, naming the record
    assert "<p class=bad>The chain is NOT intact:</p><ul><li class=bad>record 5: its content does " \
           "not match its hash (edited)</li></ul>" in text
    assert text.index("NOT intact") < text.index("Run 7f3a")


@pytest.mark.parametrize(("url", "message"), [
    ("sqlite:////nonexistent/dir/audit.db", "cannot open the audit store "
     "sqlite:////nonexistent/dir/audit.db: unable to open database file (check PULLFIX_AUDIT_URL / "
     "PULLFIX_HOME)"),
    ("postgres:s3cr3t@db", "cannot open the audit store (a URL SQLAlchemy cannot parse): Could not "
     "parse SQLAlchemy URL from given URL string (check PULLFIX_AUDIT_URL / PULLFIX_HOME)"),
])
def test_a_store_that_cannot_be_opened_is_named_without_its_password(
        url: str, message: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PULLFIX_AUDIT_URL", url)
    got = pullfix("audit", "verify")
    assert (got.returncode, got.stderr.strip()) == (2, f"pullfix: {message}")
