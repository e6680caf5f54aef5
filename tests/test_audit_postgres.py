"""The audit store on PostgreSQL (``PULLFIX_AUDIT_URL``), as a fleet of workers uses it: a
real server (Debian's ``postgresql`` package) started by this module in a temporary directory,
reached over its Unix socket with psycopg. The chain, the append-only triggers, concurrent
writers in two processes, tamper detection by ``pullfix audit verify`` and the approval-token
ledger all behave as on SQLite."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tasks import audit
from tasks.audit import Kind, completeness, store, verify_chain
from tests.auditlib import PLAN, ROOT, pullfix, write_run
from tests.test_audit_concurrency import WRITER


def _bindir() -> Path:
    found = shutil.which("pg_config")
    if found:
        out = subprocess.run([found, "--bindir"], capture_output=True, text=True, check=False)
        if out.returncode == 0 and (Path(out.stdout.strip()) / "initdb").exists():
            return Path(out.stdout.strip())
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda d: int(d.split("/")[-2]))
    if not dirs:
        raise RuntimeError("PostgreSQL server binaries (initdb, pg_ctl) are needed: apt-get install "
                           "postgresql")
    return Path(dirs[-1])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def postgres() -> Iterator[str]:
    """A throwaway PostgreSQL server; yields its SQLAlchemy URL. The server refuses to run as
    root, so under root it runs as the ``postgres`` (or ``nobody``) user."""
    bindir = _bindir()
    base = Path(tempfile.mkdtemp(prefix="pullfix-pg-"))
    prefix: list[str] = []
    if os.geteuid() == 0:
        user = "postgres"
        try:
            pwd.getpwnam(user)
        except KeyError:
            user = "nobody"
        shutil.chown(base, user=user)
        prefix = ["runuser", "-u", user, "--"]
    data, port = base / "data", _free_port()

    def run(*cmd: str) -> None:
        proc = subprocess.run([*prefix, *cmd], capture_output=True, text=True, timeout=180,
                              check=False)
        assert proc.returncode == 0, f"{cmd[0]} failed: {proc.stdout}{proc.stderr}"

    run(str(bindir / "initdb"), "-D", str(data), "-U", "pullfix", "-A", "trust", "--no-sync")
    run(str(bindir / "pg_ctl"), "-D", str(data), "-l", str(base / "server.log"), "-w", "-t", "120",
        "-o", f"-k {base} -p {port} -c listen_addresses='' -c fsync=off", "start")
    try:
        yield f"postgresql+psycopg://pullfix@/postgres?host={base}&port={port}"
    finally:
        run(str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def pg_store(postgres: str, monkeypatch: pytest.MonkeyPatch,
             request: pytest.FixtureRequest) -> str:
    """An empty audit store for each test: a database of its own in the server."""
    name = "audit_" + request.node.name.removeprefix("test_")[:40]
    admin = postgres.replace("postgresql+psycopg", "postgresql")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    monkeypatch.setenv("PULLFIX_AUDIT_URL", postgres.replace("/postgres?", f"/{name}?"))
    return admin.replace("/postgres?", f"/{name}?")


def test_a_run_is_chained_and_complete_on_postgresql(pg_store: str) -> None:
    # given a sign-off run written to PostgreSQL
    write_run("run-pg", decision="sign-off")
    # then it is one intact, complete chain
    recs = store().records()
    assert [r.kind for r in recs] == ["run-started", "evidence", "plan", "decision", "approval",
                                      "intent", "change", "verification", "run-ended"]
    assert verify_chain(recs, store().head()) == []
    assert completeness(recs) == ([], [])
    # and an intent without an outcome is found
    seq = audit.intent(run_id="run-pg", cluster="c", fix="grant-pull-role", plan_hash=PLAN,
                       changes=[])
    assert [i.seq for i in audit.open_intents()] == [seq]


def test_postgresql_refuses_update_and_delete_of_the_log(pg_store: str) -> None:
    write_run("run-pg")
    with psycopg.connect(pg_store, autocommit=True) as conn:
        for sql in ("UPDATE audit_log SET data = '{}' WHERE seq = 1", "DELETE FROM audit_log"):
            with pytest.raises(psycopg.errors.RaiseException, match="audit_log is append-only"):
                conn.execute(sql)


def test_two_processes_append_to_postgresql_at_once(pg_store: str, tmp_path: Path) -> None:
    # given two writer processes ready to append 40 records each
    store()
    go = tmp_path / "go"
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, name, str(go), "40"], cwd=ROOT,
                                env=os.environ.copy(), stdout=subprocess.PIPE, text=True)
               for name in ("a", "b")]
    for w in writers:
        assert w.stdout is not None and w.stdout.readline().strip() == "ready"
    # when both start at once
    go.touch()
    for w in writers:
        assert w.wait(timeout=300) == 0
    # then one chain of 80
    recs = store().records()
    assert [r.seq for r in recs] == list(range(1, 81))
    assert verify_chain(recs, store().head()) == []


def test_verify_names_an_edit_made_in_postgresql(pg_store: str) -> None:
    # given a run, and record 3 edited by someone who dropped the trigger
    write_run("run-pg")
    assert pullfix("audit", "verify").returncode == 0
    with psycopg.connect(pg_store, autocommit=True) as conn:
        conn.execute("DROP TRIGGER audit_log_append_only ON audit_log")
        conn.execute("UPDATE audit_log SET data = replace(data, 'low', 'high') WHERE seq = 3")
    # when verified
    got = pullfix("audit", "verify")
    # then record 3 is named
    assert got.returncode == 1
    assert "TAMPERED  record 3: its content does not match its hash (edited)" in got.stdout
    assert got.stdout.startswith("postgresql+psycopg://pullfix@/audit_verify_names_an_edit_made_in_p")


def test_approval_tokens_are_claimed_once_on_postgresql(pg_store: str) -> None:
    s = store()
    assert s.claim_token("uti-pg", run_id="r", plan_hash=PLAN, approver="oid") is True
    assert s.claim_token("uti-pg", run_id="r2", plan_hash=PLAN, approver="oid") is False
    audit.record(Kind.RUN_STARTED, {}, run_id="r")
    assert (s.token_use("uti-pg") or {})["run_id"] == "r"
