"""The chaos campaigns the suite (tests/test_chaos_sweep.py) and bench/chaos.py both run: each
returns its measures and a list of ``violations`` of the chaos invariants (empty when all
hold), so the test asserts on the list and the benchmark reports it.

- plan: a generated fleet swept in plan mode under chaos;
- apply: an apply sweep under chaos killed at its first intent (process group SIGKILL), a
  re-run under the same chaos with the simulator restarted mid-run, then a run after the chaos
  ends and a plan sweep: it must converge to healthy or the blocked set (sign-off fixes).
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

from simulator.fleet import generate_from_spec
from tests import chaoslib as chaos
from tests.secretscan import files_under, issued_secrets, leaks
from tests.simharness import ROOT, Sim

POLICY = str(ROOT / "tests/policies/chaos.yaml")


def isolated(home: Path) -> dict[str, str | None]:
    """Each campaign's Prefect in its own home (an ephemeral server on a SQLite file the scan
    reads), not a shared server whose database the scan cannot see."""
    (home / "prefect").mkdir(parents=True, exist_ok=True)
    return {"PREFECT_HOME": str(home / "prefect"), "PREFECT_API_URL": None,
            "PREFECT_SERVER_ALLOW_EPHEMERAL_MODE": "true",
            # a fresh database migrates first: slow on a busy machine
            "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "300"}


def _serve(spec: str, workdir: Path, **settings: Any) -> Sim:
    (workdir / "sim").mkdir(parents=True, exist_ok=True)
    sim = Sim(f"fleet:{spec}", workdir / "sim")
    sim.settings(**settings)
    return sim


# a sweep that ran to its end: 0 (nothing left failing) or 1 (failing pods or clusters not
# healed, e.g. the sign-offs), per the CLI's exit codes; 2 and 3 mean it could not run
RAN = (0, 1)


def plan_campaign(spec: str, workdir: Path, *, rate: float, seed: int) -> dict[str, Any]:
    expected = chaos.broken_clusters(generate_from_spec(spec))
    sim = _serve(spec, workdir, speedup=100.0)
    home = workdir / "home"
    try:
        chaos.install_chaos(sim, rate, seed=seed)
        secrets = issued_secrets(sim)
        out = chaos.pullfix(sim, home, "sweep", "--mode", "plan", "-o", "json", **isolated(home))
        if out.returncode not in RAN:
            return {"violations": [f"the sweep exited {out.returncode}: {out.stderr[-2000:]}"]}
        summary = json.loads(out.stdout)
        lost = chaos.lost_findings(summary, expected)
        blamed = [r["cluster"] for r in summary["results"]
                  if r["cluster"] not in expected and r["failing_checks"]]
        blobs = files_under(home)
        blobs["output"] = (out.stdout + out.stderr).encode()
        leaked = leaks(blobs, secrets)
        writes = sim.journal()
        diagnosed = sum(1 for c, check in expected.items() for r in summary["results"]
                        if r["cluster"] == c and check in r["failing_checks"])
        return {
            "clusters": summary["clusters"], "broken": len(expected),
            "diagnosed": diagnosed, "reported_not_diagnosed": len(expected) - diagnosed - len(lost),
            "unreachable": len(summary["unreachable_clusters"]),
            "lost_findings": len(lost), "healthy_blamed": len(blamed), "writes": len(writes),
            "fault_hits": chaos.fault_hits(sim),
            "stores_scanned": len(blobs), "secrets_checked": len(secrets),
            "secrets_found": len(leaked),
            "violations": [*(f"lost: {x}" for x in lost), *(f"blamed: {x}" for x in blamed),
                           *(f"write in plan mode: {w['method']} {w['path']}" for w in writes),
                           *(f"secret in {x}" for x in leaked)]
            + ([] if any("prefect.db" in k for k in blobs) else ["the Prefect database was "
                                                                  "not scanned"]),
        }
    finally:
        sim.stop()


def _kill_at_first_intent(proc: subprocess.Popen[bytes], home: Path, seconds: float = 900
                          ) -> bool:
    db = home / "audit.db"

    def intent() -> bool:
        if proc.poll() is not None:
            return True
        if not db.exists():
            return False
        try:
            with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as conn:
                n = conn.execute("select count(*) from audit_log where kind = 'intent'")
                return bool(n.fetchone()[0])
        except sqlite3.Error:
            return False

    chaos.wait_for(intent, seconds=seconds, interval=0.05)
    if proc.poll() is not None:
        return False
    os.killpg(proc.pid, signal.SIGKILL)  # the process and its Prefect server: a crashed pod
    proc.wait(30)
    return True


def _starts(home: Path) -> int:
    with sqlite3.connect(f"file:{home / 'audit.db'}?mode=ro", uri=True, timeout=5) as conn:
        n = conn.execute("select count(*) from audit_log where kind = 'run-started'")
        return int(n.fetchone()[0])


def _outcomes(summary: dict[str, Any]) -> dict[str, str]:
    return {r["cluster"]: r["outcome"] for r in summary.get("remediations", [])}


def apply_campaign(spec: str, workdir: Path, *, rate: float, seed: int) -> dict[str, Any]:
    expected = chaos.broken_clusters(generate_from_spec(spec))
    # the image-reference fix needs a sign-off (high risk): those clusters stay blocked
    blocked = {c for c, check in expected.items() if check == "image-reference-valid"}
    sim = _serve(spec, workdir, speedup=100.0, kubelet_backoff_scale=0.05)
    home = workdir / "home"
    env = isolated(home)
    outputs: list[str] = []
    violations: list[str] = []
    sweep = ("sweep", "--mode", "apply", "--policy", POLICY, "-o", "json")
    try:
        chaos.install_chaos(sim, rate, seed=seed)
        secrets = issued_secrets(sim)
        # 1. an apply sweep under chaos, killed at its first intent (mid-apply). The chaos can
        # stop every remediation of a sweep before its first write (each one's reads failed):
        # that sweep ran to its end and is judged with the others; sweep again, up to 3 times
        killed = False
        for attempt in range(1, 4):
            log1 = workdir / f"run1-{attempt}.log"
            proc = chaos.start_pullfix(sim, home, log1, *sweep, new_session=True, **env)
            killed = _kill_at_first_intent(proc, home)
            outputs.append(log1.read_text() + log1.with_suffix(".err").read_text())
            if killed:
                break
        if not killed:
            violations.append(f"run 1 ended before its first intent, 3 times: "
                              f"{outputs[-1][-2000:]}")
        # 2. re-run under the same chaos; the simulator restarts once mid-run
        log2 = workdir / "run2.log"
        started = _starts(home)
        proc = chaos.start_pullfix(sim, home, log2, *sweep, **env)
        # mid-run: once run 2 has started remediating its first cluster
        chaos.wait_for(lambda: proc.poll() is not None or _starts(home) > started,
                       seconds=900, interval=0.5)
        sim = chaos.restart(sim)
        rc2 = proc.wait(3600)
        outputs.append(log2.read_text() + log2.with_suffix(".err").read_text())
        summary2 = json.loads(log2.read_text()) if rc2 in RAN else {}
        if rc2 not in RAN:
            violations.append(f"run 2 exited {rc2}: {outputs[-1][-2000:]}")
        lost2 = chaos.lost_findings(summary2, expected) if summary2 else []
        # a broken cluster run 2 could not read is reported (unreachable); anything else lost
        unreachable = {u.rsplit("/", 1)[-1] for u in summary2.get("unreachable_clusters", [])}
        # (a cluster run 1's write healed before the kill has no failing pod now: run 3 and the
        # final plan sweep judge it)
        healed = {r["cluster"] for r in summary2.get("results", []) if not r["failing_pods"]
                  and not r["error"]}
        violations += [f"run 2 lost {x}" for x in lost2
                       if x.split(":")[0] not in unreachable | healed]
        # 3. after the chaos: one more run converges, and a plan sweep shows the blocked set
        sim.clear_faults()
        out3 = chaos.pullfix(sim, home, *sweep, **env)
        outputs.append(out3.stdout + out3.stderr)
        summary3 = json.loads(out3.stdout) if out3.returncode in RAN else {}
        if out3.returncode not in RAN:
            violations.append(f"run 3 exited {out3.returncode}: {out3.stderr[-2000:]}")
        not_healed = {c for c, o in _outcomes(summary3).items() if o != "healed"}
        if not_healed != blocked:
            violations.append(f"run 3 did not converge: not healed {sorted(not_healed)}, "
                              f"blocked {sorted(blocked)}")
        plan = chaos.pullfix(sim, home, "sweep", "--mode", "plan", "-o", "json", **env)
        outputs.append(plan.stdout + plan.stderr)
        failing = {r["cluster"] for r in json.loads(plan.stdout)["results"]
                   if r["failing_checks"]} if plan.returncode in RAN else {"?"}
        if failing != blocked:
            violations.append(f"after convergence, failing {sorted(failing)} != blocked "
                              f"{sorted(blocked)}")
        # the invariants over every run
        records = chaos.audit_records(home)
        snap = sim.snapshot()
        journal = sim.journal()
        checks = {
            "applied_twice": chaos.applied_twice(records),
            "duplicate_role_assignments": chaos.duplicate_role_assignments(snap),
            "duplicate_ip_rules": chaos.duplicate_ip_rules(snap),
            "unaudited_writes": chaos.unaudited_writes(journal, records),
            "open_intents": [str(s) for s in chaos.open_intents(records)],
            "unjudged_changes": chaos.unjudged_changes(records),
        }
        for name, found in checks.items():
            violations += [f"{name}: {x}" for x in found]
        verify = chaos.audit_verify(home)
        if verify.returncode != 0:
            violations.append(f"audit verify exited {verify.returncode}: {verify.stdout[-2000:]}")
        kinds = [r["kind"] for r in records]
        blobs = files_under(home)
        blobs["output"] = "\n".join(outputs).encode()
        leaked = leaks(blobs, secrets)
        violations += [f"secret in {x}" for x in leaked]
        return {
            "clusters": len(snap_clusters(snap)), "broken": len(expected), "blocked": len(blocked),
            "killed_mid_apply": killed, "run1_sweeps": attempt, "simulator_restarts": 1,
            "run2_outcomes": _count(_outcomes(summary2)),
            "run2_unreachable": len(unreachable),
            "run3_outcomes": _count(_outcomes(summary3)),
            "failing_after_convergence": len(failing),
            "arm_writes": sum(1 for e in journal if e.get("service") == "arm"),
            "audit_records": len(records),
            "intents": kinds.count("intent"), "changes": kinds.count("change"),
            "reconciled": kinds.count("reconciled"), "crashed": kinds.count("crashed"),
            "verifications": kinds.count("verification"), "rollbacks": kinds.count("rollback"),
            **{k: len(v) for k, v in checks.items()},
            "audit_verify": verify.returncode,
            "stores_scanned": len(blobs), "secrets_checked": len(secrets),
            "secrets_found": len(leaked), "violations": violations,
        }
    finally:
        sim.stop()


def snap_clusters(snap: dict[str, Any]) -> list[str]:
    return [k for k, d in snap["resources"].items()
            if d.get("type", "").lower() == "microsoft.containerservice/managedclusters"]


def _count(outcomes: dict[str, str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for o in outcomes.values():
        out[o] = out.get(o, 0) + 1
    return out
