"""Chaos sweeps: generated fleets with ~10 % of ARM, Graph, Kubernetes and registry calls
failing before the handler and (writes) after it — the write made, the answer a 500 or a
hang-up — a pullfix process killed mid-apply, the simulator restarted mid-run, and re-runs.

What must hold (``tests/chaos_campaign.py`` lists every violation): no lost finding (each
broken cluster is diagnosed, or reported as not diagnosed with the reason), no fix applied
twice, no duplicate role assignment or firewall rule, every ARM write in the cloud's journal
audited (intent → change or reconciled → verification or rollback), no intent left open, the
audit log intact (``pullfix audit verify``), the re-run converging to healthy or the same
blocked set, and no issued secret in any store or output. ``bench/chaos.py`` runs the same at
full size (README "Chaos")."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.chaos_campaign import POLICY, apply_campaign, plan_campaign

RATE = 0.10


@pytest.mark.timeout(900)
def test_a_plan_sweep_of_200_clusters_under_chaos_loses_no_finding(tmp_path: Path) -> None:
    # given 200 generated clusters, about a quarter broken, and 10 % of every service's calls
    # failing; when pullfix sweeps it in plan mode
    r = plan_campaign("8x25:11", tmp_path, rate=RATE, seed=3)
    # then nothing is lost, no healthy cluster is blamed, nothing is written, nothing leaks
    assert r["violations"] == []
    assert r["clusters"] == 200 and r["broken"] >= 40
    assert r["diagnosed"] + r["reported_not_diagnosed"] == r["broken"]
    # and the chaos was real, in each service the sweep calls
    hits = r["fault_hits"]
    assert hits["arm/before"] > 10 and hits["kubernetes/before"] > 5 and hits["registry/before"] > 0
    assert r["secrets_checked"] >= 200 and r["stores_scanned"] >= 3


@pytest.mark.timeout(1200)
def test_apply_killed_mid_apply_then_rerun_under_chaos_converges(tmp_path: Path) -> None:
    # given a fleet with every cause the generator knows (one needs a sign-off), 10 % chaos,
    # and pullfix's state kept across runs; when an apply sweep is killed at its first intent,
    # re-run under the same chaos with the simulator restarted mid-run, then run once more
    # after the chaos
    r = apply_campaign("2x10:5", tmp_path, rate=RATE, seed=5)
    # then every invariant holds
    assert r["violations"] == []
    assert r["killed_mid_apply"] and r["crashed"] >= 1
    # and it did real work: changes made and verified (how many of them are verified rather
    # than rolled back or judged by the next run depends on which reads the chaos hit; that
    # every change is judged is one of the invariants above)
    assert r["intents"] >= 3 and r["verifications"] >= 1
    assert r["failing_after_convergence"] == r["blocked"] >= 1


def test_the_chaos_policy_is_valid() -> None:
    from policies.model import load_policy

    pol = load_policy(POLICY)
    assert pol.mode == "apply" and pol.verification.max_passes >= 2
