"""bench/remediate_one.py end to end, once: a real simulator, the real ``pullfix remediate``
against the suite's Prefect server, and phases read back from the run's own audit records.
Speed is never asserted here: the numbers are the benchmark's to report."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.simharness import ROOT


def test_the_remediation_benchmark_heals_and_accounts_for_every_second(tmp_path) -> None:
    # given the benchmark on the library's missing-pull-role scenario, one run
    out = tmp_path / "remediate.json"
    # when it runs
    done = subprocess.run([sys.executable, "bench/remediate_one.py", "--runs", "1",
                           "--warmup", "0", "--out", str(out)], cwd=ROOT, capture_output=True, text=True,
                          timeout=600, env=dict(os.environ))
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(out.read_text())
    # then the cluster healed, and its wall splits into start-up, remediation and shut-down
    # as the run's audit records stamp them
    [run] = result["runs"]
    assert run["outcome"] == "healed" and result["outcomes"] == ["healed"]
    phases = run["phases"]
    assert all(v > 0 for v in phases.values()), phases
    assert abs(sum(phases.values()) - run["wall_s"]) <= 0.05, run
    assert 0 < run["cpu_s"] and result["speedup"] == 1000.0 and result["latency_ms"] == 0
    assert result["warmup_runs"] == []


def test_a_scenario_with_more_than_one_cluster_is_refused_by_name() -> None:
    # given a library scenario with three clusters
    done = subprocess.run([sys.executable, "bench/remediate_one.py", "--scenario", "demo",
                           "--runs", "1"], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env=dict(os.environ))
    # then the benchmark says so in one line, before serving anything
    assert done.returncode == 2
    assert done.stderr.strip().startswith("bench: demo.yaml has ")
    assert done.stderr.strip().endswith("clusters; name a scenario with one")
