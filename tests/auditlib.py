"""Helpers for the audit tests: a store of one's own per test, a run written the way the
flows write it, the real ``pullfix audit`` command in a subprocess, and raw sqlite3 access
for tampering (the way someone with the file would)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from tasks import audit
from tasks.audit import Kind

ROOT = Path(__file__).resolve().parents[1]
CLUSTER = ("/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-apps/providers/"
           "Microsoft.ContainerService/managedClusters/aks-prod")
PLAN = "a1" * 32


def write_run(run_id: str, *, decision: str = "auto", approve: bool = True, verify: bool = True,
              evidence: bool = True, end: bool = True, plan_hash: str = PLAN,
              fix: str = "grant-pull-role") -> int:
    """One remediation as the flows record it; returns the change's seq."""
    audit.record(Kind.RUN_STARTED, {"policy": "policies/prod.yaml", "policy_hash": "9f" * 32},
                 run_id=run_id, cluster=CLUSTER)
    if evidence:
        audit.record(Kind.EVIDENCE, {"findings": [{"check": "kubelet-identity-has-pull-role",
                                                   "status": "FAIL"}],
                                     "root_causes": [{"check": "kubelet-identity-has-pull-role"}]},
                     run_id=run_id, cluster=CLUSTER)
    audit.record(Kind.PLAN, {"plan_hash": plan_hash, "fix": fix, "risk": "low",
                             "summary": "grant AcrPull on acrprod to the kubelet identity"},
                 run_id=run_id, cluster=CLUSTER)
    audit.record(Kind.DECISION, {"plan_hash": plan_hash, "fix": fix, "outcome": decision,
                                 "reason": f"policy says {decision}", "rule": f"fixes.{fix}",
                                 "policy": "policies/prod.yaml", "policy_hash": "9f" * 32},
                 run_id=run_id, cluster=CLUSTER)
    if decision == "sign-off" and approve:
        audit.record(Kind.APPROVAL, {"plan_hash": plan_hash, "approver": {
            "object_id": "5b1f0c1e-0000-4000-8000-00000000a11c", "name": "Alice Approver"},
            "verified": "Entra token (JWKS), Graph membership", "comment": "ok for prod",
            "token_id": "uti-123"}, run_id=run_id, cluster=CLUSTER)
    seq = audit.intent(run_id=run_id, cluster=CLUSTER, fix=fix, plan_hash=plan_hash,
                       changes=[{"resource": "/subscriptions/x/roleAssignments/ra1",
                                 "operation": "create", "api": "ARM PUT roleAssignments"}])
    change = audit.outcome(seq, applied=True, change={"x-ms-request-id": "req-1",
                                                      "x-ms-correlation-request-id": "corr-1"})
    if verify:
        audit.record(Kind.VERIFICATION, {"plan_hash": plan_hash, "fix": fix, "ok": True},
                     run_id=run_id, cluster=CLUSTER)
    if end:
        audit.record(Kind.RUN_ENDED, {"counts": {"applied": 1}}, run_id=run_id, cluster=CLUSTER)
    return change


def db_path() -> str:
    return os.environ["PULLFIX_AUDIT_URL"].removeprefix("sqlite:///")


def tamper(*statements: str) -> None:
    """Run SQL against the store file directly, as someone with the file would: the
    append-only triggers are dropped first (they stop accidents, not an owner)."""
    con = sqlite3.connect(db_path())
    con.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
    con.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")
    for sql in statements:
        con.execute(sql)
    con.commit()
    con.close()


def pullfix(*args: str) -> subprocess.CompletedProcess[str]:
    """The real ``pullfix`` command, in a subprocess, against this test's store."""
    return subprocess.run([sys.executable, "-m", "flows.cli", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120, check=False,
                          env=os.environ.copy())
