"""``pullfix audit verify`` against a store someone tampered with using the sqlite3 module:
an edited field, a deleted middle row, two rows' seqs swapped, the end cut off with or without
the head row, and the whole chain rewritten with fresh hashes. Each is caught (exit 1) and the
first bad record is named; an intact log exits 0."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tasks.audit import record_hash
from tests.auditlib import db_path, pullfix, tamper, write_run


@pytest.fixture(autouse=True)
def own_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PULLFIX_AUDIT_URL", f"sqlite:///{tmp_path / 'audit.db'}")


def three_runs() -> None:
    """Three complete runs: records 1..26 (run-a 1..9 with its approval at 5, run-b 10..17,
    run-c 18..26)."""
    write_run("run-a", decision="sign-off")
    write_run("run-b")
    write_run("run-c", decision="sign-off")


def test_an_intact_log_verifies() -> None:
    # given three complete runs, one with a sign-off
    three_runs()
    # when verified
    got = pullfix("audit", "verify")
    # then exit 0, the chain intact and every applied change complete
    assert got.returncode == 0, got.stdout + got.stderr
    assert "ok: the chain is intact" in got.stdout
    assert "ok: every applied change (3) has its evidence, plan, decision" in got.stdout


def test_an_edited_data_field_is_named() -> None:
    # given someone changed who approved run-a (record 5)
    three_runs()
    tamper("UPDATE audit_log SET data = replace(data, 'Alice Approver', 'Mallory') WHERE seq = 5")
    # when verified
    got = pullfix("audit", "verify")
    # then exit 1 naming record 5 as edited
    assert got.returncode == 1
    assert "TAMPERED  record 5: its content does not match its hash (edited)" in got.stdout
    assert got.stderr.strip() == "pullfix: the audit log was tampered with: first bad record 5"


def test_an_edit_with_a_recomputed_hash_breaks_the_next_link() -> None:
    # given record 5 edited and its own hash recomputed (so it is self-consistent)
    three_runs()
    con_rows = _rows()
    seq, kind, at, run_id, cluster, data, prev, _ = con_rows[4]
    data = data.replace("Alice Approver", "Mallory")
    tamper(f"UPDATE audit_log SET data = '{data}', hash = "
           f"'{record_hash(seq, kind, at, run_id, cluster, data, prev)}' WHERE seq = 5")
    # when verified
    got = pullfix("audit", "verify")
    # then record 5 is named: its hash no longer matches record 6's prev_hash
    assert got.returncode == 1
    assert "TAMPERED  record 5: rewritten (its hash no longer matches record 6's prev_hash)" \
        in got.stdout


def test_a_deleted_middle_row_is_named() -> None:
    # given record 10 deleted
    three_runs()
    tamper("DELETE FROM audit_log WHERE seq = 10")
    # when verified
    got = pullfix("audit", "verify")
    # then exit 1 naming the missing record
    assert got.returncode == 1
    assert "TAMPERED  record 10 missing (deleted): after 9 comes 11" in got.stdout
    assert "first bad record 10" in got.stderr


def test_two_rows_with_swapped_seqs_are_named() -> None:
    # given records 6 and 7 swapped (seq exchanged through a free value)
    three_runs()
    tamper("UPDATE audit_log SET seq = -1 WHERE seq = 6",
           "UPDATE audit_log SET seq = 6 WHERE seq = 7",
           "UPDATE audit_log SET seq = 7 WHERE seq = -1")
    # when verified
    got = pullfix("audit", "verify")
    # then both positions are named as holding the other's record, 6 first
    assert got.returncode == 1
    assert "TAMPERED  record 6: holds record 7's content (records were reordered)" in got.stdout
    assert "TAMPERED  record 7: holds record 6's content (records were reordered)" in got.stdout
    assert "first bad record 6" in got.stderr


def test_a_cut_off_end_is_caught_by_the_head_row() -> None:
    # given the last six records deleted (the head row still says 26)
    three_runs()
    tamper("DELETE FROM audit_log WHERE seq > 20")
    # when verified
    got = pullfix("audit", "verify")
    # then the missing range is named
    assert got.returncode == 1
    assert "TAMPERED  record 21..26 missing (truncated): the head row says the log ends at 26" \
        in got.stdout


def test_a_cut_off_end_and_a_deleted_head_row_are_caught() -> None:
    # given the last six records and the head row deleted
    three_runs()
    tamper("DELETE FROM audit_log WHERE seq > 20", "DELETE FROM audit_head")
    # when verified without an anchor
    got = pullfix("audit", "verify")
    # then the missing head row is reported, after record 20
    assert got.returncode == 1
    assert ("TAMPERED  the head row is missing: records after 20 may have been cut off (truncated)"
            in got.stdout)
    assert "first bad record 21" in got.stderr


def test_an_anchor_catches_a_cut_off_end_with_a_forged_head(tmp_path: Path) -> None:
    # given the head anchored at record 26 in an operator-kept file
    three_runs()
    anchors = tmp_path / "anchors.jsonl"
    got = pullfix("audit", "anchor", str(anchors))
    assert got.returncode == 0, got.stderr
    assert json.loads(anchors.read_text())["seq"] == 26
    # and the end cut off with the head row forged to match the new last record
    last_hash = _rows()[19][7]
    tamper("DELETE FROM audit_log WHERE seq > 20",
           f"UPDATE audit_head SET seq = 20, hash = '{last_hash}'")
    # when verified without the anchor, the shorter chain looks intact
    assert pullfix("audit", "verify").returncode == 0
    # then with the anchor the truncation is named
    got = pullfix("audit", "verify", "--anchor", str(anchors))
    assert got.returncode == 1
    assert (f"TAMPERED  record 21..26 missing (truncated): the anchor {anchors}:1 says the log "
            "reached 26") in got.stdout


def test_an_anchor_catches_a_chain_rewritten_with_fresh_hashes(tmp_path: Path) -> None:
    # given an anchor at record 26, then record 3 edited and every hash from 3 on recomputed
    three_runs()
    anchors = tmp_path / "anchors.jsonl"
    assert pullfix("audit", "anchor", str(anchors)).returncode == 0
    rows = _rows()
    statements, prev = [], rows[1][7]
    for seq, kind, at, run_id, cluster, data, _, _ in rows[2:]:
        if seq == 3:
            data = data.replace("grant AcrPull", "grant nothing")
        new = record_hash(seq, kind, at, run_id, cluster, data, prev)
        statements.append(f"UPDATE audit_log SET data = '{data}', prev_hash = '{prev}', "
                          f"hash = '{new}' WHERE seq = {seq}")
        prev = new
    statements.append(f"UPDATE audit_head SET hash = '{prev}'")
    tamper(*statements)
    # when verified with the anchor
    got = pullfix("audit", "verify", "--anchor", str(anchors))
    # then the rewrite shows at the anchored record
    assert got.returncode == 1
    assert f"TAMPERED  record 26: differs from the anchor {anchors}:1" in got.stdout


def test_anchor_refuses_to_anchor_a_tampered_log(tmp_path: Path) -> None:
    # given an edited record
    three_runs()
    tamper("UPDATE audit_log SET kind = 'plan' WHERE seq = 2")
    # when anchoring
    got = pullfix("audit", "anchor", str(tmp_path / "a.jsonl"))
    # then nothing is anchored and the reason is given
    assert got.returncode == 1
    assert got.stderr.strip() == ("pullfix: not anchoring a log that fails verification: record 2: "
                                  "its content does not match its hash (edited)")
    assert not (tmp_path / "a.jsonl").exists()


def test_a_malformed_anchor_file_is_a_usage_error(tmp_path: Path) -> None:
    three_runs()
    bad = tmp_path / "anchors.jsonl"
    bad.write_text('{"seq": 3}\n')
    got = pullfix("audit", "verify", "--anchor", str(bad))
    assert got.returncode == 2
    assert got.stderr.strip() == (f"pullfix: {bad} line 1 is not an anchor (a JSON object with seq "
                                  "and hash, as `pullfix audit anchor` writes)")


def test_a_full_jsonl_export_verifies_as_an_archive_and_shows_edits(tmp_path: Path) -> None:
    # given a full export of three runs
    three_runs()
    archive = tmp_path / "audit-2026-12.jsonl"
    assert pullfix("audit", "export", "--format", "jsonl", "--out", str(archive)).returncode == 0
    # then the archive verifies on its own
    got = pullfix("audit", "verify", "--file", str(archive))
    assert got.returncode == 0, got.stdout + got.stderr
    # and an edit in the archive is named
    lines = archive.read_text().splitlines()
    doc = json.loads(lines[7])
    doc["data"]["ok"] = False
    lines[7] = json.dumps(doc)
    archive.write_text("\n".join(lines) + "\n")
    got = pullfix("audit", "verify", "--file", str(archive))
    assert got.returncode == 1
    assert "TAMPERED  record 8: its content does not match its hash (edited)" in got.stdout


def test_applied_changes_lacking_records_are_named() -> None:
    # given a sign-off change without its approval, and an auto change never verified
    write_run("run-a", decision="sign-off", approve=False)
    write_run("run-b", verify=False, plan_hash="b2" * 32)
    # when verified
    got = pullfix("audit", "verify")
    # then the chain is intact but each gap is named, and the exit is 1
    assert got.returncode == 1
    assert "ok: the chain is intact" in got.stdout
    assert ("INCOMPLETE  record 6: grant-pull-role applied in run run-a (plan a1a1a1a1a1a1) has no "
            "approval") in got.stdout
    assert ("INCOMPLETE  record 14: grant-pull-role applied in run run-b (plan b2b2b2b2b2b2) has no "
            "verification") in got.stdout
    assert got.stderr.strip() == ("pullfix: 2 applied change(s) lack audit records: first "
                                  "record 6")


def test_a_run_still_going_is_not_a_gap_yet() -> None:
    # given a run that applied a change and has not verified or ended yet
    write_run("run-a", verify=False, end=False)
    # when verified
    got = pullfix("audit", "verify", "-o", "json")
    # then it is listed as open, not as a gap
    assert got.returncode == 0, got.stdout + got.stderr
    report = json.loads(got.stdout)
    assert (report["intact"], report["complete"], report["open_runs"]) == (True, True, ["run-a"])


def test_a_change_of_a_killed_run_is_judged_by_the_run_that_met_its_plan_again() -> None:
    # given a run killed after its change and before its verification (a later run found it
    # crashed), and the next run on the cluster meeting the same plan and verifying it
    from tasks import audit
    from tasks.audit import Kind
    from tests.auditlib import CLUSTER

    write_run("run-killed", verify=False, end=False)
    audit.record(Kind.CRASHED, {"reason": "the process was killed"}, run_id="run-killed",
                 cluster=CLUSTER)
    write_run("run-next")
    # when verified, then the killed run's change is complete: its plan was verified after it
    got = pullfix("audit", "verify", "-o", "json")
    assert got.returncode == 0, got.stdout + got.stderr
    assert json.loads(got.stdout)["complete"] is True


def test_a_change_rolled_back_is_judged_and_one_never_judged_is_named() -> None:
    # given a change whose verification could not be read and which was rolled back, and
    # another plan's change nobody verified or rolled back
    from tasks import audit
    from tasks.audit import Kind
    from tests.auditlib import CLUSTER

    write_run("run-a", verify=False, end=False)
    audit.record(Kind.ROLLBACK, {"plan_hash": "a1" * 32, "fix": "grant-pull-role",
                                 "reason": "verification could not be read"},
                 run_id="run-a", cluster=CLUSTER)
    audit.record(Kind.RUN_ENDED, {"counts": {"rolled_back": 1}}, run_id="run-a", cluster=CLUSTER)
    write_run("run-b", verify=False, plan_hash="b2" * 32)
    # when verified, then only the never-judged change is a gap
    got = pullfix("audit", "verify", "-o", "json")
    assert got.returncode == 1
    assert [(g["run_id"], g["missing"]) for g in json.loads(got.stdout)["gaps"]] == [
        ("run-b", ["verification"])]


def _rows() -> list[tuple[int, str, str, str, str, str, str, str]]:
    import sqlite3

    con = sqlite3.connect(db_path())
    rows = con.execute("SELECT seq, kind, at, run_id, cluster, data, prev_hash, hash FROM audit_log "
                       "ORDER BY seq").fetchall()
    con.close()
    return rows
