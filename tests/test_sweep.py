"""`pullfix sweep --mode plan` over the demo fleet: every failing cluster with its root
causes, grouped across the fleet, and not a single write."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from simulator.scenario import ScenarioDoc, read_scenario
from tests.simharness import ROOT, Sim, env_with


def _demo_expectations() -> dict[str, set[str]]:
    """cluster → the checks that must fail there (from the demo scenario's notes)."""
    doc, _ = read_scenario("demo")
    notes = ScenarioDoc.model_validate(doc).expect.notes
    out: dict[str, set[str]] = {}
    for m in re.finditer(r"^\s+(aks-[\w-]+)(?: [\w/-]+)?: \[([^\]]*)\] ->", notes, re.M):
        out.setdefault(m.group(1), set()).update(
            c.strip() for c in m.group(2).split(",") if c.strip())
    return out


def _pullfix(sim: Sim, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # the shared local Prefect server when the test run has one (scripts/test.sh), else the
    # subprocess's own ephemeral one
    env = env_with(sim, PULLFIX_HOME=str(tmp_path / "pullfix"))
    return subprocess.run([sys.executable, "-m", "flows.cli", *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=600)


@pytest.mark.scenario("demo")
def test_plan_sweep_over_the_demo_fleet_lists_every_failing_cluster(sim: Sim, tmp_path: Path
                                                                    ) -> None:
    out = _pullfix(sim, tmp_path, "sweep", "--mode", "plan", "-o", "json")
    assert out.returncode == 1, out.stderr[-3000:]  # 1: it found failing pods
    summary = json.loads(out.stdout)
    assert summary["mode"] == "plan" and summary["clusters"] == 15
    expected = _demo_expectations()
    by_name = {r["cluster"]: r for r in summary["results"]}
    for cluster, checks in expected.items():
        assert set(by_name[cluster]["failing_checks"]) == checks, (cluster, by_name[cluster])
    healthy = set(by_name) - set(expected)
    assert healthy == {"aks-data-healthy"}
    assert all(not by_name[c]["failing_checks"] for c in healthy)
    # root causes are grouped across the fleet, each with the fix it would get
    causes = {c["check"]: c for c in summary["root_causes"]}
    assert set(causes) == set().union(*expected.values())
    assert all(c["fixes"] or c["check"] == "nsg-allows-registry" for c in causes.values())
    assert summary["failing_pods"] >= 12
    assert summary["unreachable_clusters"] == []
    assert sim.journal() == []  # plan mode: zero writes


@pytest.mark.scenario("demo")
def test_sweep_rejects_a_subscription_it_cannot_see(sim: Sim, tmp_path: Path) -> None:
    out = _pullfix(sim, tmp_path, "sweep", "--mode", "plan", "--subscription", "no-such-sub")
    assert out.returncode == 2
    assert "subscription 'no-such-sub' is not visible to this identity" in out.stderr
    assert "contoso-prod" in out.stderr  # names what is visible


@pytest.mark.scenario("demo")
def test_diagnose_rejects_an_unknown_cluster_by_name(sim: Sim, tmp_path: Path) -> None:
    out = _pullfix(sim, tmp_path, "diagnose", "--cluster", "aks-nope")
    assert out.returncode == 2
    assert "unknown cluster 'aks-nope'" in out.stderr and "aks-web-prod" in out.stderr


@pytest.mark.scenario("missing-pull-role")
def test_diagnose_says_when_the_cluster_rejects_the_kubeconfig(sim: Sim, tmp_path: Path) -> None:
    # given an API server that refuses the user kubeconfig's credentials (as a cluster with
    # local accounts disabled does), with Kubernetes' own Status body
    sim.fault(path="^/k8s/", status=401, body={
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": "Unauthorized", "reason": "Unauthorized", "code": 401})
    out = _pullfix(sim, tmp_path, "diagnose", "--cluster", "aks-app", "-o", "json")
    assert out.returncode == 1
    result = json.loads(out.stdout)
    assert result["error"].startswith("cannot read the cluster's pods: 401 Unauthorized")
    assert "Azure Kubernetes Service RBAC Reader" in result["error"]
    assert "aks-app" in out.stderr
