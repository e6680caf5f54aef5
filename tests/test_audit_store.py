"""The audit API the flows call: kinds are a closed contract, every record carries what links
it, nothing that looks like a secret is written, intents and their outcomes survive a process
killed in between, and the store refuses what would fork or rewrite the chain."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tasks import audit
from tasks.audit import AuditError, Kind, SecretInAuditRecord, completeness, store, verify_chain
from tasks.fix import Change
from tests.auditlib import CLUSTER, PLAN, ROOT, db_path, tamper, write_run

JWT = ("eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL21hbmFnZW1lbnQuYXp1cmUuY29tIn0"
       ".c2lnbmF0dXJlLW5vdC1yZWFs")


@pytest.fixture(autouse=True)
def own_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PULLFIX_AUDIT_URL", f"sqlite:///{tmp_path / 'audit.db'}")


def test_a_record_is_chained_with_its_run_cluster_and_json_data() -> None:
    # given a plan record whose data holds pydantic models
    change = Change(resource="/subscriptions/x/roleAssignments/ra1", operation="create",
                    api="ARM PUT roleAssignments", after={"role": "AcrPull"})
    first = audit.record(Kind.RUN_STARTED, {}, run_id="run-1", cluster=CLUSTER)
    second = audit.record("plan", {"plan_hash": PLAN, "fix": "grant-pull-role",
                                   "changes": [change]}, run_id="run-1", cluster=CLUSTER)
    # then it is stored after the first, linked to it, with the model as JSON
    recs = store().records()
    assert (first, second) == (1, 2)
    assert [(r.seq, r.kind, r.run_id, r.cluster) for r in recs] == [
        (1, "run-started", "run-1", CLUSTER), (2, "plan", "run-1", CLUSTER)]
    assert recs[1].prev_hash == recs[0].hash
    assert recs[1].payload["changes"][0] == change.model_dump(mode="json")
    assert verify_chain(recs, store().head()) == []


def test_the_kinds_are_the_contract() -> None:
    assert [k.value for k in Kind] == [
        "sweep-started", "run-started", "evidence", "plan", "decision", "approval", "rejection",
        "intent", "change", "verification", "rollback", "run-ended", "reconciled", "crashed"]


@pytest.mark.parametrize(("kind", "data", "run_id", "message"), [
    ("deployed", {}, "r", "unknown audit record kind 'deployed'; valid: sweep-started, run-started, "
     "evidence, plan, decision, approval, rejection, intent, change, verification, rollback, "
     "run-ended, reconciled, crashed"),
    (Kind.PLAN, {"fix": "grant-pull-role"}, "r",
     "plan records need plan_hash in their data (what links them to their run and plan)"),
    (Kind.DECISION, {}, "r",
     "decision records need plan_hash, outcome in their data (what links them to their run and "
     "plan)"),
    (Kind.EVIDENCE, {}, "", "evidence records need the run_id of the flow run that writes them"),
])
def test_a_record_without_its_links_is_refused(kind: str, data: dict[str, object], run_id: str,
                                                message: str) -> None:
    with pytest.raises(AuditError) as err:
        audit.record(kind, data, run_id=run_id)
    assert str(err.value) == message
    assert store().records() == []


@pytest.mark.parametrize(("data", "where"), [
    ({"approval": {"token": JWT}}, "data.approval.token holds a value under a secret's name"),
    ({"note": f"Bearer {JWT}"}, "data.note contains a JWT (eyJ...)"),
    ({"changes": [{"after": {"clientSecret": "Zx8Q~not-a-real-secret"}}]},
     "data.changes[0].after.clientSecret holds a value under a secret's name"),
    ({"before": {"password": "stale admin password"}},
     "data.before.password holds a value under a secret's name"),
    ({"admin_password": "p@ss"}, "data.admin_password holds a value under a secret's name"),
    ({"secret": "hunter2"}, "data.secret holds a value under a secret's name"),
    ({"secret": "Zx8Q~abc/Def+ghi="}, "data.secret holds a value under a secret's name"),
    ({"password": "apps/acr-pull"}, "data.password holds a value under a secret's name"),
    ({"sas_token": "sv=2024&sig=abc"}, "data.sas_token holds a value under a secret's name"),
    ({"key": "-----BEGIN RSA PRIVATE KEY-----\nMIIE..."}, "data.key contains a private key"),
])
def test_data_that_looks_like_a_secret_is_refused_and_not_echoed(data: dict[str, object],
                                                                  where: str) -> None:
    # when a record holding a secret is written
    with pytest.raises(SecretInAuditRecord) as err:
        audit.record(Kind.EVIDENCE, data, run_id="run-1")
    # then it is refused, naming where (never what), and nothing is stored
    assert str(err.value).startswith(f"audit record refused: {where}")
    for secret in (JWT, "Zx8Q~", "stale admin", "p@ss", "hunter2", "MIIE", "sig=abc", "acr-pull"):
        assert secret not in str(err.value)
    assert store().records() == []


def test_ids_hints_references_and_empty_secret_fields_are_not_secrets() -> None:
    # given what flows legitimately record about secrets
    seq = audit.record(Kind.APPROVAL, {
        "plan_hash": PLAN, "approver": {"object_id": "oid", "name": "Alice"},
        "token_id": "uti-AbC123", "password_hint": "Zx8", "valid_password_credentials": 0,
        "password_credential": {"key_id": "kid-1", "end": "2027-01-01"}, "secret": "",
        "token": None, "pull_secret": "apps/acr-pull",
        "evidence": {"secret": "apps/acr-pull", "server": "acrprod.azurecr.io"}}, run_id="run-1")
    # then they are stored
    assert store().records(seq=seq)[0].payload["token_id"] == "uti-AbC123"


def test_an_intent_stays_open_until_its_outcome_and_has_one_outcome() -> None:
    # given an intent
    seq = audit.intent(run_id="run-1", cluster=CLUSTER, fix="grant-pull-role", plan_hash=PLAN,
                       changes=[Change(resource="ra1", operation="create", api="ARM PUT")])
    assert [(i.seq, i.fix, i.plan_hash, i.changes[0]["resource"]) for i in audit.open_intents()] \
        == [(seq, "grant-pull-role", PLAN, "ra1")]
    # when its outcome is recorded
    done = audit.outcome(seq, applied=True, change={"x-ms-request-id": "req-1"})
    # then it is closed, as a change of the same run and plan
    rec = store().records(seq=done)[0]
    assert (rec.kind, rec.run_id, rec.cluster) == ("change", "run-1", CLUSTER)
    assert rec.payload == {"intent": seq, "plan_hash": PLAN, "fix": "grant-pull-role",
                           "applied": True, "change": {"x-ms-request-id": "req-1"}, "reason": ""}
    assert audit.open_intents() == []
    # and a second outcome is refused
    with pytest.raises(AuditError, match=f"^intent {seq} already has an outcome$"):
        audit.outcome(seq, applied=False)
    with pytest.raises(AuditError, match="^audit record 2 is not an intent$"):
        audit.outcome(done, applied=True)


def test_a_process_killed_between_intent_and_outcome_leaves_an_intent_the_next_run_reconciles(
        ) -> None:
    # given a run that records its evidence, plan, decision and intent, then is killed (SIGKILL)
    # before it can record the outcome
    script = textwrap.dedent(f"""
        import os, signal
        from tasks import audit
        from tasks.audit import Kind
        c = {CLUSTER!r}
        audit.record(Kind.RUN_STARTED, {{}}, run_id="run-dead", cluster=c)
        audit.record(Kind.EVIDENCE, {{"findings": []}}, run_id="run-dead", cluster=c)
        audit.record(Kind.PLAN, {{"plan_hash": {PLAN!r}, "fix": "grant-pull-role"}},
                     run_id="run-dead", cluster=c)
        audit.record(Kind.DECISION, {{"plan_hash": {PLAN!r}, "outcome": "auto"}},
                     run_id="run-dead", cluster=c)
        audit.intent(run_id="run-dead", cluster=c, fix="grant-pull-role", plan_hash={PLAN!r},
                     changes=[{{"resource": "ra1", "operation": "create"}}])
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    proc = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=os.environ.copy(),
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == -9, proc.stderr
    # when the next run starts, it finds the open intent and the run that never ended
    [left] = audit.open_intents()
    assert (left.seq, left.run_id, left.fix) == (5, "run-dead", "grant-pull-role")
    assert [r.run_id for r in audit.open_runs()] == ["run-dead"]
    # and records what it found in the cloud (the role assignment exists), verifies it, and
    # marks the dead run crashed
    audit.record(Kind.RUN_STARTED, {}, run_id="run-next", cluster=CLUSTER)
    seq = audit.outcome(left.seq, applied=True, reason="role assignment ra1 exists",
                        reconciled_by="run-next")
    audit.record(Kind.VERIFICATION, {"plan_hash": PLAN, "ok": True}, run_id="run-next",
                 cluster=CLUSTER)
    audit.record(Kind.CRASHED, {"reason": "process died after intent 5"}, run_id="run-dead",
                 cluster=CLUSTER)
    audit.record(Kind.RUN_ENDED, {}, run_id="run-next", cluster=CLUSTER)
    # then no intent is open, the change is on record with the dead run, and the log is whole
    rec = store().records(seq=seq)[0]
    assert (rec.kind, rec.run_id, rec.payload["reconciled_by"]) == ("reconciled", "run-dead",
                                                                    "run-next")
    assert audit.open_intents() == [] and audit.open_runs() == []
    recs = store().records()
    assert verify_chain(recs, store().head()) == []
    assert completeness(recs) == ([], [])


def test_the_log_refuses_update_and_delete() -> None:
    # given a record
    write_run("run-1")
    con = sqlite3.connect(db_path())
    # then SQL that changes or removes it is refused by the store itself
    for sql in ("UPDATE audit_log SET data = '{}' WHERE seq = 1", "DELETE FROM audit_log"):
        with pytest.raises(sqlite3.IntegrityError, match="audit_log is append-only"):
            con.execute(sql)
    con.close()


def test_nothing_is_appended_to_a_log_whose_head_row_is_gone() -> None:
    # given a log whose head row was deleted
    write_run("run-1")
    tamper("DELETE FROM audit_head")
    # then an append is refused (it would fork the chain) with what to do
    with pytest.raises(AuditError) as err:
        audit.record(Kind.RUN_STARTED, {}, run_id="run-2")
    assert str(err.value) == (f"the audit log in sqlite:///{db_path()} has no head row (was it "
                              "truncated?): nothing can be appended until it is examined; run "
                              "`pullfix audit verify`")


def test_completeness_needs_each_record_before_the_change_and_verification_after() -> None:
    # given a sign-off run whose approval was recorded only after the change
    write_run("run-1", decision="sign-off", approve=False, verify=False, end=False)
    audit.record(Kind.APPROVAL, {"plan_hash": PLAN, "approver": "late"}, run_id="run-1")
    audit.record(Kind.RUN_ENDED, {}, run_id="run-1")
    # then the change lacks an approval (the late one does not count) and a verification
    gaps, open_runs = completeness(store().records())
    assert [(g.seq, g.missing) for g in gaps] == [(6, ("approval", "verification"))]
    assert open_runs == []


def test_approval_tokens_are_still_claimed_once() -> None:
    s = store()
    assert s.claim_token("uti-1", run_id="r", plan_hash=PLAN, approver="oid") is True
    assert s.claim_token("uti-1", run_id="r2", plan_hash=PLAN, approver="oid") is False
    assert (s.token_use("uti-1") or {})["run_id"] == "r"


def test_a_store_url_is_shown_without_its_password() -> None:
    from tasks.audit import safe_url

    assert safe_url("postgresql+psycopg://pullfix:s3cr3t@db.internal:5432/audit") == \
        "postgresql+psycopg://pullfix:***@db.internal:5432/audit"
