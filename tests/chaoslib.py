"""Chaos for tests and bench/chaos.py: a fraction of every service's calls failing before and
after the handler, simulator restarts on the same port, and the invariants a chaos run must
keep (no lost finding, no double apply, no duplicate role assignment, every change audited).

Everything goes through the simulator's control API and pullfix's own CLI and audit store, as
an operator would; nothing reaches into either process.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from simulator.fleet import CAUSES
from tests.simharness import ROOT, Sim, env_with

# the four services a run talks to, told apart as the simulator sees them
SERVICES: dict[str, dict[str, str]] = {
    "arm": {"path": "^/subscriptions/"},
    "graph": {"path": "^/v1.0/"},
    "kubernetes": {"path": "^/k8s/"},
    "registry": {"host": r"\.azurecr\.(io|cn|us)"},
}
WRITES = ("PUT", "PATCH", "POST", "DELETE")


def chaos_faults(rate: float, *, seed: int, services: tuple[str, ...] = tuple(SERVICES)
                 ) -> list[dict[str, Any]]:
    """``rate`` of each service's calls fail: half of the failures before the handler (a 500,
    a 503 with Retry-After, or a dropped connection), and writes also *after* it — the write is
    made, the answer is a 500 or a hang-up."""
    out: list[dict[str, Any]] = []
    for n, name in enumerate(services):
        match = SERVICES[name]
        for m, method in enumerate(WRITES):
            for k, after in enumerate(({"status": 500}, {"drop": True})):
                out.append({**match, "method": method, "phase": "after", **after,
                            "probability": rate / 2, "seed": seed * 1000 + n * 100 + m * 10 + k})
        for k, before in enumerate(({"status": 500}, {"status": 503, "retry_after": 1},
                                    {"drop": True})):
            out.append({**match, **before, "probability": rate / 3,
                        "seed": seed * 1000 + n * 100 + 50 + k})
    return out


def install_chaos(sim: Sim, rate: float, *, seed: int) -> list[dict[str, Any]]:
    faults = chaos_faults(rate, seed=seed)
    for f in faults:
        sim.fault(**f)
    return faults


def fault_hits(sim: Sim) -> dict[str, int]:
    """Faults that fired, by service and phase."""
    hits: Counter[str] = Counter()
    for f in sim.control("GET", "faults")["value"]:
        svc = next((n for n, m in SERVICES.items() if all(f.get(k) == v for k, v in m.items())),
                   "other")
        hits[f"{svc}/{f.get('phase', 'before')}"] += f.get("hits", 0)
    return dict(hits)


def restart(sim: Sim) -> Sim:
    """Stop the simulator and start it again on the same port with the same state directory:
    the world (and its faults) as the last write left it, as a persistent simulator resumes
    after a crash or a deploy. Clients keep their connection settings."""
    port = sim.arm.rstrip("/").rsplit(":", 1)[1]
    sim.stop()
    sim.conn_file.unlink(missing_ok=True)
    return Sim(sim.scenario, sim.workdir, extra_args=("--port", port))


def broken_clusters(scenario_doc: dict[str, Any]) -> dict[str, str]:
    """cluster name → the check that must find it, from a generated fleet's ``expect``."""
    import re

    notes = scenario_doc["expect"]["notes"]
    return {name: CAUSES[cause][0] for name, cause in re.findall(r"(aks-[\w-]+): ([\w-]+)", notes)}


def lost_findings(summary: dict[str, Any], expected: dict[str, str]) -> list[str]:
    """Broken clusters a sweep neither diagnosed (the expected check FAILs) nor reported as not
    diagnosed with a reason (the cluster's error, or the expected check's ERROR reason)."""
    by_name = {r["cluster"]: r for r in summary["results"]}
    lost = []
    for name, check in sorted(expected.items()):
        r = by_name.get(name)
        if r is None:
            lost.append(f"{name}: missing from the sweep")
            continue
        if check in r["failing_checks"]:
            continue
        if r.get("error"):
            continue  # reported: could not be diagnosed, and why
        errs = [f for f in r["findings"] if f["status"] == "error" and f.get("reason")]
        if r["failing_pods"] and errs:
            continue  # reported: the pods fail, and which check could not determine why
        seen = [(f["check"], f["status"], f["summary"][:200]) for f in r["findings"]
                if f["check"] == check] or "not run"
        classes = sorted({(p["classification"]["category"], p["message"][:160])
                          for p in r["pods"]})
        lost.append(f"{name}: expected {check}, got {r['failing_checks']} "
                    f"(pods {r['failing_pods']}, error {r.get('error')!r}; {check}: {seen}; "
                    f"pods: {classes})")
    return lost


def duplicate_role_assignments(snapshot: dict[str, Any]) -> list[str]:
    """(principal, role, scope) triples held by more than one assignment: Azure refuses those
    (RoleAssignmentExists), so any here means a double grant got through."""
    seen: Counter[tuple[str, str, str]] = Counter()
    for rid, doc in snapshot["resources"].items():
        if doc.get("type", "").lower() != "microsoft.authorization/roleassignments":
            continue
        p = doc["properties"]
        seen[(p["principalId"].lower(), p["roleDefinitionId"].rsplit("/", 1)[-1].lower(),
              p["scope"].lower())] += 1
        del rid
    return [f"{k}: {n}" for k, n in seen.items() if n > 1]


def pullfix(sim: Sim, home: Path, *args: str, timeout: float = 900,
            **env: str | None) -> subprocess.CompletedProcess[str]:
    """The pullfix CLI in a subprocess, pointed at the simulator, with its state in ``home``."""
    e = env_with(sim, PULLFIX_HOME=str(home), **env)
    return subprocess.run([sys.executable, "-m", "flows.cli", *args], env=e, cwd=ROOT,  # noqa: S603
                          capture_output=True, text=True, timeout=timeout)


def start_pullfix(sim: Sim, home: Path, log: Path, *args: str, new_session: bool = False,
                  **env: str | None) -> subprocess.Popen[bytes]:
    """The CLI started in the background, stdout to ``log`` and stderr beside it (``.err``);
    ``new_session``: in its own process group, so a test can kill it with every child, as a
    crashed container goes."""
    e = env_with(sim, PULLFIX_HOME=str(home), **env)
    return subprocess.Popen([sys.executable, "-m", "flows.cli", *args], env=e, cwd=ROOT,  # noqa: S603
                            stdout=open(log, "wb"),  # noqa: SIM115
                            stderr=open(log.with_suffix(".err"), "wb"),  # noqa: SIM115
                            start_new_session=new_session)


def audit_records(home: Path) -> list[dict[str, Any]]:
    """Every audit record, oldest first, read the way an auditor does (``pullfix audit list``)."""
    e = {"PULLFIX_HOME": str(home)}
    out = subprocess.run([sys.executable, "-m", "flows.cli", "audit", "list", "-o", "json"],  # noqa: S603
                         env={**_base_env(), **e}, cwd=ROOT, capture_output=True, text=True,
                         timeout=300)
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-2000:])
    data = json.loads(out.stdout)
    return data if isinstance(data, list) else data.get("records", [])


def audit_verify(home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "flows.cli", "audit", "verify"],  # noqa: S603
                          env={**_base_env(), "PULLFIX_HOME": str(home)}, cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


def _base_env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "IDENTITY_"))}


def applied_twice(records: list[dict[str, Any]]) -> list[str]:
    """Changes made while the same change (same resource, same operation and result) was
    already in place: a fix applied twice. Read in order from the audit log: an applied
    ``change`` (or an intent ``reconciled`` as applied — the process died after its write)
    puts its changes in place; a ``rollback`` takes them out."""
    intents = {r["seq"]: r["data"].get("changes", []) for r in records if r["kind"] == "intent"}
    in_place: set[str] = set()
    twice: list[str] = []

    def sig(c: dict[str, Any]) -> str:
        return json.dumps([c["resource"].lower(), c["operation"], c.get("after")], sort_keys=True)

    for r in records:
        d = r["data"]
        if r["kind"] in ("change", "reconciled") and d.get("applied"):
            made = (d.get("change") or {}).get("applied")
            if made is None or r["kind"] == "reconciled":
                made = intents.get(d.get("intent"), [])
            for c in made:
                if sig(c) in in_place:
                    twice.append(f"record {r['seq']}: {c['operation']} {c['resource']}")
                in_place.add(sig(c))
        elif r["kind"] == "rollback":
            for c in d.get("changes", []):
                in_place.discard(sig(c))
    return twice


def duplicate_ip_rules(snapshot: dict[str, Any]) -> list[str]:
    """Registry firewall rules listed twice (an egress fix applied twice over its own rule)."""
    out = []
    for doc in snapshot["resources"].values():
        if doc.get("type", "").lower() != "microsoft.containerregistry/registries":
            continue
        rules = [r.get("value") for r in
                 ((doc.get("properties") or {}).get("networkRuleSet") or {}).get("ipRules", [])]
        out += [f"{doc['name']}: {v}" for v, n in Counter(rules).items() if n > 1]
    return out


def open_intents(records: list[dict[str, Any]]) -> list[int]:
    """Intents no ``change`` or ``reconciled`` record ever answered: writes nobody accounted
    for."""
    answered = {r["data"].get("intent") for r in records if r["kind"] in ("change", "reconciled")}
    return [r["seq"] for r in records if r["kind"] == "intent" and r["seq"] not in answered]


def unjudged_changes(records: list[dict[str, Any]]) -> list[str]:
    """Applied changes with neither a verification nor a rollback of their plan after them."""
    out = []
    for i, r in enumerate(records):
        d = r["data"]
        if r["kind"] not in ("change", "reconciled") or not d.get("applied"):
            continue
        if r["kind"] == "change" and not (d.get("change") or {}).get("applied"):
            continue  # applied, but it found the change already there: nothing new to judge
        later = [x for x in records[i + 1:] if x["kind"] in ("verification", "rollback")
                 and x["data"].get("plan_hash") == d.get("plan_hash")]
        if not later:
            out.append(f"record {r['seq']}: {d.get('fix')} (plan {str(d.get('plan_hash'))[:12]})")
    return out


def unaudited_writes(journal: list[dict[str, Any]], records: list[dict[str, Any]]) -> list[str]:
    """ARM writes in the cloud's own journal that no audited intent names: a change pullfix made
    and did not record. (Kubernetes writes are named per cluster in the audit log, not per
    request path, so this reads ARM's.)"""
    planned = [c["resource"].lower() for r in records if r["kind"] == "intent"
               for c in r["data"].get("changes", [])]
    out = []
    for e in journal:
        if e.get("service") != "arm":
            continue
        res = str(e.get("resource") or "").lower()
        if not any(res == p or res.startswith(p + "/") or p.startswith(res + "/")
                   for p in planned):
            out.append(f"{e['method']} {e['path']}")
    return out


def wait_for(predicate: Any, *, seconds: float, interval: float = 0.5) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False
