"""Two worker processes appending to one store at the same time extend one valid chain:
every append locks the head row, so no two records claim the same seq or predecessor."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tasks.audit import store, verify_chain
from tests.auditlib import ROOT

WRITER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from tasks import audit
    from tasks.audit import Kind
    me, go, n = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
    audit.store()  # open the store before the start line, so both start appending together
    print("ready", flush=True)
    while not go.exists():
        time.sleep(0.005)
    for i in range(n):
        audit.record(Kind.EVIDENCE, {"writer": me, "i": i}, run_id=f"run-{me}")
""")


@pytest.fixture(autouse=True)
def own_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PULLFIX_AUDIT_URL", f"sqlite:///{tmp_path / 'audit.db'}")


def test_two_processes_appending_at_once_keep_one_chain(tmp_path: Path) -> None:
    # given two writer processes, each ready to append 60 records when told
    store()  # the schema exists before either starts
    go = tmp_path / "go"
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, name, str(go), "60"], cwd=ROOT,
                                env=os.environ.copy(), stdout=subprocess.PIPE, text=True)
               for name in ("a", "b")]
    for w in writers:
        assert w.stdout is not None and w.stdout.readline().strip() == "ready"
    # when both are told to start at once
    go.touch()
    for w in writers:
        assert w.wait(timeout=300) == 0
    # then all 120 records form one chain, 1..120, with each writer's records in its order
    recs = store().records()
    assert [r.seq for r in recs] == list(range(1, 121))
    assert verify_chain(recs, store().head()) == []
    for name in ("a", "b"):
        assert [r.payload["i"] for r in recs if r.payload["writer"] == name] == list(range(60))


def test_threads_of_one_process_appending_at_once_keep_one_chain() -> None:
    # given six threads (as Prefect's thread pool runs tasks), 30 appends each
    from concurrent.futures import ThreadPoolExecutor

    from tasks import audit
    from tasks.audit import Kind

    def write(n: int) -> None:
        for i in range(30):
            audit.record(Kind.EVIDENCE, {"writer": n, "i": i}, run_id=f"run-{n}")

    with ThreadPoolExecutor(6) as pool:
        list(pool.map(write, range(6)))
    # then one chain of 180
    recs = store().records()
    assert [r.seq for r in recs] == list(range(1, 181))
    assert verify_chain(recs, store().head()) == []
