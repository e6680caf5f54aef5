"""bench/fleet_sweep.py: the floor's arithmetic (a true lower bound, from the simulator's own
route table), and the benchmark run end to end at a tiny size — a real simulator, the real
pullfix CLI, the real az CLI and kubectl — writing every key with sane values. Speed is never
asserted here: the numbers are the benchmark's to report."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench import _floor
from bench.fleet_sweep import KEYS, TABLE_HEAD, table
from simulator.fleet import generate_from_spec
from tests.simharness import ROOT

THROTTLING = {"enabled": True, "reads_burst": 250, "reads_per_second": 25,
              "writes_burst": 200, "writes_per_second": 10}


def counts(*, sub: int = 0, scope: int = 0, tenant: int = 0, writes: int = 0) -> _floor.Counts:
    return _floor.counts_of(sub_reads=sub, scope_reads=scope, tenant_reads=tenant,
                            sub_writes=writes)


# -- the floor -----------------------------------------------------------------------------------
def test_reads_beyond_the_burst_wait_for_the_bucket_to_refill() -> None:
    # given 1,000 reads on one subscription: 250 at once, the other 750 at 25/s
    # when the buckets' time is computed
    t = _floor.throttle_seconds(counts(sub=1000), subscriptions=1, throttling=THROTTLING)
    # then the last read cannot start before 30 s
    assert t == {"reads": 30.0, "writes": 0.0}


def test_reads_over_ten_subscriptions_fill_ten_buckets() -> None:
    # given the same 1,000 reads spread over ten subscriptions: 100 a bucket, within its burst
    t = _floor.throttle_seconds(counts(sub=1000), subscriptions=10, throttling=THROTTLING)
    # then no bucket binds
    assert t["reads"] == 0.0


def test_calls_of_unknown_bucket_go_where_they_lower_the_floor() -> None:
    # given 500 subscription reads and 600 reads on /{scope}/ routes (bucket not in the stats)
    t = _floor.throttle_seconds(counts(sub=500, scope=600), subscriptions=1,
                                throttling=THROTTLING)
    # then the bound splits the scope reads where the busiest bucket is least busy: 550 in
    # the tenant's bucket, 50 more on the subscription's, (550 - 250) / 25 = 12 s each
    assert t["reads"] == pytest.approx(12.0)


def test_throttled_calls_took_no_token() -> None:
    # given 1,000 reads of which 100 were answered 429
    t = _floor.throttle_seconds(counts(sub=1000), subscriptions=1, throttling=THROTTLING,
                                throttled=100)
    # then only 900 count: (900 - 250) / 25
    assert t["reads"] == 26.0


def test_writes_fill_their_own_smaller_bucket() -> None:
    # given 500 reads and 500 writes (listClusterUserCredential is a POST) on one subscription
    t = _floor.throttle_seconds(counts(sub=500, writes=500), subscriptions=1,
                                throttling=THROTTLING)
    # then the writes' bucket (200 at 10/s) binds: 30 s against the reads' 10 s
    assert (t["reads"], t["writes"]) == (10.0, 30.0)


def test_global_buckets_and_the_twins_clock_count() -> None:
    # given the twin's global buckets (15x, shared by every principal) and a clock twice as fast
    cfg = THROTTLING | {"global_factor": 15}
    t = _floor.throttle_seconds(counts(sub=4000), subscriptions=1, throttling=cfg, speedup=2.0)
    # then each bucket refills twice as fast; pullfix's calls alone fill the global one too
    assert t["reads"] == pytest.approx((4000 - 250) / 50)
    assert t["global_reads"] == pytest.approx((4000 - 3750) / 750)


def test_the_floor_adds_the_last_round_trip_and_keeps_the_critical_path() -> None:
    # when the buckets bind, the floor is their time plus one round trip
    assert _floor.floor_seconds({"reads": 30.0}, latency_s=0.03, clusters=1000) == \
        pytest.approx(30.03)
    # when they do not, it is the chain subscriptions -> clusters -> credential -> pods
    assert _floor.floor_seconds({"reads": 0.0}, latency_s=0.03, clusters=10) == \
        pytest.approx(0.12)


def test_calls_per_failing_cluster_are_what_the_healthy_ones_do_not_explain() -> None:
    # given a healthy-only sweep of 100 clusters making 120 ARM calls, and the measured sweep
    # (90 healthy, 10 failing) making 228
    healthy, failing = _floor.per_cluster(counts(sub=228), counts(sub=120), clusters=100,
                                          failing=10, baseline_clusters=100)
    # then 1.2 per healthy cluster, and (228 - 1.2 * 90) / 10 = 12 per failing one
    assert healthy == pytest.approx(1.2)
    assert failing == pytest.approx(12.0)


def test_a_smaller_healthy_fleet_amortises_its_lists_over_the_measured_one() -> None:
    # given a healthy-only sweep of 4 clusters: 8 calls about clusters, 2 fleet-wide lists
    baseline = _floor.counts_of(sub_reads=10, fleet_wide=2)
    # when the measured fleet has 100 clusters
    healthy, _ = _floor.per_cluster(counts(sub=300), baseline, clusters=100, failing=10,
                                    baseline_clusters=4)
    # then each healthy cluster costs its 2 calls and a hundredth of the 2 lists
    assert healthy == pytest.approx(2.02)


def test_stats_are_classified_with_the_simulators_route_table() -> None:
    # given the simulator's stats of a sweep, and its count of 429s (not a route)
    stats = {"GET /subscriptions": 1,
             "GET /subscriptions/{sub}/providers/Microsoft.ContainerService/managedClusters": 2,
             "GET /subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.ContainerService/"
             "managedClusters/{name}": 4,
             "GET /{scope:path}/providers/Microsoft.Authorization/permissions": 3,
             "PUT /{scope:path}/providers/Microsoft.Authorization/roleAssignments/{name}": 1,
             "GET /k8s/{key}/{rest:path}": 5, "429": 7}
    # when classified
    c = _floor.classify(stats, _floor.route_table())
    # then ARM's buckets get their calls: GETs read, the role assignment PUT writes; the
    # subscription-level lists are fleet-wide; Kubernetes is counted apart
    assert (c.calls("tenant", "reads"), c.calls("sub", "reads"), c.calls("scope", "reads")) == \
        (1, 6, 3)
    assert c.calls("scope", "writes") == 1 and c.of_kind("writes") == 1
    assert c.fleet_wide == 3
    assert c.by_service == {"arm": 11, "k8s": 5}


# -- the benchmark, end to end -------------------------------------------------------------------
# a 1x4 fleet whose seed breaks clusters (the measured one), and one whose seed breaks none
FLEET_SEED, HEALTHY = 7, "fleet:1x4:3"


@pytest.mark.azcli
@pytest.mark.timeout(900)
def test_the_benchmark_writes_every_key_with_sane_values(tmp_path: Path) -> None:
    broken = {p["cluster"] for p in generate_from_spec(f"1x4:{FLEET_SEED}")["expect"]["pods"]}
    assert broken and not generate_from_spec(HEALTHY.split(":", 1)[1])["expect"]["pods"]
    out = tmp_path / "result.json"

    # when the benchmark runs on four clusters with an az sample of one
    done = subprocess.run(
        [sys.executable, "bench/fleet_sweep.py", "--clusters", "4", "--subscriptions", "1",
         "--seed", str(FLEET_SEED), "--az-sample", "1", "--baseline-spec", HEALTHY,
         "--out", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=880)

    # then it prints one summary line and writes the JSON
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.startswith(f"4 clusters ({len(broken)} failing, 1 sub): wall ")
    r = json.loads(out.read_text())
    assert list(r) == [*KEYS, "breakdown"]
    b = r["breakdown"]
    assert (r["clusters"], r["failing"]) == (4, len(broken))
    assert b["sweep"]["failing_clusters"] == len(broken)
    assert r["wall_s"] > 0 and r["pullfix_cpu_ms_per_cluster"] > 0
    assert r["sim_cpu_ms_per_cluster"] > 0
    assert r["peak_rss_mb"] >= b["pullfix"]["max_rss_mb"] > 50
    # the ARM calls: every one counted once, a failing cluster costing more than a healthy one
    assert b["calls"]["arm"] == sum(b["calls"]["arm_by_route"].values()) > 0
    assert b["calls"]["by_service"]["k8s"] >= 4  # at least the pods of each cluster
    assert 0 < r["arm_calls_per_healthy"] < r["arm_calls_per_failing"]
    assert b["healthy_baseline"]["clusters"] == 4
    # the floor: the buckets (not binding on 4 clusters) and the latency's critical path
    if any(x.startswith("latency_ms") for x in b["not_applied"]):
        assert b["latency_ms"] == 0 and r["floor_s"] == 0 and r["ratio_to_floor"] is None
    else:
        assert b["latency_ms"] == 30
        assert r["floor_s"] == pytest.approx(_floor.CRITICAL_PATH_CALLS * 0.03)
        assert r["ratio_to_floor"] == pytest.approx(r["wall_s"] / r["floor_s"], rel=0.01)
    assert b["floor"]["buckets_s"]["reads"] == 0
    # 429s: counted by the twin, or named as not counted
    assert (isinstance(r["throttled_429s"], int) and r["throttled_429s"] >= 0) or (
        r["throttled_429s"] is None and any("429" in x for x in b["notes"]))
    # the az way: the failing cluster first, the guide's commands, none of them failing
    [timed] = b["az"]["clusters"]
    assert timed["cluster"] in broken and timed["failing"]
    assert timed["errors"] == []
    assert timed["commands"][:4] == ["az aks get-credentials", "kubectl get pods",
                                     "kubectl describe pod", "az aks show"]
    assert r["az_s_per_cluster"] > 0
    assert r["speedup_vs_az"] == pytest.approx(
        r["az_s_per_cluster"] / (r["wall_s"] / r["clusters"]), rel=0.05)
    # and the ceiling the floor puts on it: no run beats the floor, so none beats the ceiling
    ceiling = b["floor"]["speedup_ceiling"]
    if r["floor_s"]:
        assert ceiling == pytest.approx(r["az_s_per_cluster"] * r["clusters"] / r["floor_s"],
                                        rel=0.05)
        assert ceiling >= r["speedup_vs_az"]
    else:
        assert ceiling is None
    # the Prefect server: started by the benchmark (measured apart) or the one named
    assert b["prefect_server"]["started_by_bench"] in (True, False)
    # and --table's markdown holds the same numbers, one column per key
    head, rule, row = table([r]).splitlines()
    assert head == TABLE_HEAD and rule.count("|") == head.count("|") == row.count("|") == 15
    assert row.startswith(f"| 4 | 1 | {len(broken)} | {r['wall_s']:.1f} | ")
