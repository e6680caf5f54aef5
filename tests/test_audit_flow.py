"""The remediation flow writes an audit log an auditor can trust, and repairs what a killed
process left behind: an intent without an outcome (the write may or may not have happened)
is looked up in the cloud by the next run and recorded, and a run whose process is gone is
recorded crashed (and marked Crashed in Prefect)."""

from __future__ import annotations

import socket
import subprocess
import uuid
from collections.abc import Callable

import pytest
from prefect import get_client
from prefect.states import Running

from flows.remediate import remediate_cluster
from tasks import audit
from tasks.audit import steps
from tasks.clients import Clients
from tasks.diagnose import diagnose_cluster
from tasks.reads import Reads
from tasks.remediate import apply_fix, planned_fixes
from tasks.resolve import resolve_cluster
from tests.simharness import ROOT, Sim

DEFAULT = str(ROOT / "policies" / "default.yaml")


def _run_records(run_id: str) -> list[audit.Record]:
    return [r for r in audit.store().records() if r.run_id == run_id]


@pytest.mark.scenario("missing-pull-role")
def test_a_remediation_leaves_a_complete_verifiable_story(
        sim: Sim, sim_env: Callable[[Sim], None], prefect_harness: None) -> None:
    sim_env(sim)
    report = remediate_cluster(cluster="aks-app", policy=DEFAULT, sign_off="defer",
                               verify_seconds=30, propagation_seconds=60)
    assert report.outcome.value == "healed", report.summary
    run_ids = {r.run_id for r in audit.store().records()
               if r.kind == "run-started" and r.cluster == report.id}
    kinds = [r.kind for rid in run_ids for r in _run_records(rid)]
    for kind in ("run-started", "evidence", "plan", "decision", "intent", "change",
                 "verification", "run-ended"):
        assert kind in kinds, kinds
    head = audit.store().head()
    assert audit.verify_chain(audit.store().records(), head) == []
    gaps, _open = audit.completeness(audit.store().records())
    assert [g for g in gaps if g.run_id in run_ids] == []


@pytest.mark.scenario("missing-pull-role")
def test_a_write_left_unrecorded_by_a_killed_run_is_reconciled_by_the_next_run(
        sim: Sim, sim_env: Callable[[Sim], None], prefect_harness: None) -> None:
    # given a remediation whose process recorded its intent, made the write (the grant) and
    # was killed before recording the outcome: what such a process leaves behind is a RUNNING
    # Prefect run, a run-started without run-ended, and an open intent
    sim_env(sim)
    reads = Reads(Clients())
    ref = resolve_cluster(reads, "aks-app")
    diagnosis = diagnose_cluster(reads, ref)
    [(plan, _finding, _target)] = [p for p in planned_fixes(reads, diagnosis)
                                   if p[0].fix == "grant-pull-role"]
    gone = subprocess.Popen(["true"])  # a process that no longer exists
    gone.wait()
    with get_client(sync_client=True) as client:
        dead = client.create_flow_run(remediate_cluster, parameters={"cluster": ref.id},
                                      state=Running())
    dead_id = str(dead.id)
    audit.record(audit.Kind.RUN_STARTED, {"policy": DEFAULT, "mode": "apply",
                                          "host": socket.gethostname(), "pid": gone.pid},
                 run_id=dead_id, cluster=ref.id)
    audit.record(audit.Kind.EVIDENCE, {"pass": 1, "findings": []}, run_id=dead_id,
                 cluster=ref.id)
    steps.plan(run_id=dead_id, plan=plan)
    steps.decision(run_id=dead_id, plan=plan, decision={"outcome": "auto", "reason": "test"},
                   policy=DEFAULT, policy_hash=steps.file_hash(DEFAULT))
    seq = steps.intent(run_id=dead_id, plan=plan)
    apply_fix(plan, reads)  # the write happened; the outcome was never recorded
    assert any(i.seq == seq for i in audit.open_intents())

    # when the next remediation of that cluster runs
    remediate_cluster(cluster="aks-app", policy=DEFAULT, sign_off="defer", verify_seconds=30,
                      propagation_seconds=60)

    # then the intent has its outcome (applied: the grant is in place), verified, the dead
    # run is recorded crashed and marked Crashed in Prefect, and the log is intact
    recs = audit.store().records()
    [rec] = [r for r in recs if r.kind == "reconciled" and r.payload["intent"] == seq]
    assert rec.payload["applied"] is True
    assert not any(i.seq == seq for i in audit.open_intents())
    [crashed] = [r for r in recs if r.kind == "crashed" and r.run_id == dead_id]
    assert f"pid {gone.pid}" in crashed.payload["reason"]
    with get_client(sync_client=True) as client:
        state = client.read_flow_run(uuid.UUID(dead_id)).state
    assert state is not None and state.type.value == "CRASHED"
    assert audit.verify_chain(recs, audit.store().head()) == []
    gaps, _open = audit.completeness(recs)
    assert [g for g in gaps if g.run_id == dead_id] == []
