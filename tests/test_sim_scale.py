"""The simulator at fleet scale: indexes that answer as a scan would, no Kubernetes re-sync when
nothing moved, the per-call latency setting, ARM's throttling model (per principal and global
buckets) and the benchmark fleet with every cause it can hold. Speed itself is measured by the
benchmark, never here: these tests assert behaviour (answers, headers, counters)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import requests
from azure.mgmt.resource.resources import ResourceManagementClient
from azure.mgmt.resource.resources.models import ResourceGroup

from simulator.core.world import World
from simulator.fleet import CATALOGUE, generate_from_spec
from simulator.scenario import build_world, read_scenario
from tests.scenariolib import failed_messages, kube, still_failing, wait_running
from tests.simharness import ROOT, Sim

RG = "Microsoft.Resources/resourceGroups"
ASSIGNMENT = "Microsoft.Authorization/roleAssignments"


def _scan(world: World, rtype: str, scope: str | None = None) -> list[dict[str, Any]]:
    prefix = (scope or "").lower().rstrip("/") + "/"
    return [r for k, r in world.resources.items()
            if r.get("type", "").lower() == rtype.lower() and k.startswith(prefix)]


def _internals(sim: Sim) -> dict[str, Any]:
    return sim.control("GET", "internals")


# -- indexes -----------------------------------------------------------------------------------
def test_world_indexes_answer_as_a_full_scan_through_writes_resets_restores_and_restarts(
        tmp_path: Path) -> None:
    # given a built fleet world and its answers by type, by scope and by name
    doc, origin = read_scenario("fleet:2x4:3?pods=3&failing=0.5")
    world = build_world(doc, origin)
    sub = next(iter(world.state["subscriptions"]))
    assert world.check_indexes() == []
    assert world.of_type(RG) == _scan(world, RG)
    assert world.of_type(RG, f"/subscriptions/{sub}") == _scan(world, RG, f"/subscriptions/{sub}")
    snap = world.snapshot()

    # when resources are created, replaced, deleted (and a role assignment created)
    new = {"id": f"/subscriptions/{sub}/resourceGroups/rg-New", "name": "rg-New", "type": RG,
           "location": "eastus", "properties": {}}
    world.put(new)
    world.put(dict(new, tags={"x": "y"}))  # a replacement keeps its place
    gone = world.of_type(RG)[0]
    world.delete(gone["id"])
    # then every answer is the scan's, including lookups by name (case-insensitive)
    assert world.check_indexes() == []
    assert world.of_type(RG) == _scan(world, RG)
    assert world.find_by_name(RG, "RG-NEW")["tags"] == {"x": "y"}
    assert world.find_by_name(RG, gone["name"]) is None

    # when the world is reset, restored to the snapshot, or saved and loaded by a new process
    world.reset()
    assert world.check_indexes() == [] and world.find_by_name(RG, "rg-new") is None
    assert world.find_by_name(RG, gone["name"]) is not None
    world.put(new)
    world.restore(snap)
    assert world.check_indexes() == [] and world.find_by_name(RG, "rg-new") is None
    world.put(new)
    world.save(tmp_path)
    loaded = World.load(tmp_path)
    assert loaded is not None
    # then the indexes are rebuilt from the state each time
    assert loaded.check_indexes() == [] and loaded.find_by_name(RG, "rg-new") is not None
    assert loaded.of_type(ASSIGNMENT) == _scan(loaded, ASSIGNMENT)
    loaded.reset()
    assert loaded.find_by_name(RG, "rg-new") is None and loaded.check_indexes() == []


def test_a_world_saved_as_built_resumes_from_its_initial_state(tmp_path: Path) -> None:
    # given a world saved as built (only its initial state, written in the background)
    doc, origin = read_scenario("fleet:1x3:2")
    world = build_world(doc, origin)
    world.save_initial(tmp_path)
    world.save(tmp_path)  # waits for the initial state, then writes the state
    (tmp_path / "world.json").unlink()
    # when a new process loads the directory
    loaded = World.load(tmp_path)
    # then it resumes the world as built, with its indexes
    assert loaded is not None and loaded.state == world.snapshot()
    assert loaded.check_indexes() == [] and loaded.of_type(RG) == _scan(loaded, RG)


@pytest.mark.scenario("fleet:1x3:1")
def test_served_indexes_stay_consistent_through_sdk_writes_reset_and_restore(sim: Sim) -> None:
    # given a served fleet and a resource group created and one deleted through the real SDK
    rc = sim.clients().arm(ResourceManagementClient, sim.subscription)
    snap = sim.snapshot()
    rc.resource_groups.create_or_update("rg-scale", ResourceGroup(location="eastus"))
    assert "rg-scale" in {g.name for g in rc.resource_groups.list()}
    rc.resource_groups.begin_delete("rg-scale").result()
    assert _internals(sim)["index_problems"] == []
    # when the world is restored to the snapshot and reset
    sim.control("POST", "restore", snap)
    assert _internals(sim)["index_problems"] == []
    rc.resource_groups.create_or_update("rg-scale", ResourceGroup(location="eastus"))
    sim.reset()
    # then the indexes still agree with a full scan, and lists answer from them
    assert _internals(sim)["index_problems"] == []
    assert "rg-scale" not in {g.name for g in rc.resource_groups.list()}


# -- no re-evaluation when nothing changed ---------------------------------------------------------
@pytest.mark.scenario("fleet:1x3:1")
def test_reads_do_not_resync_a_cluster_until_the_world_or_a_deadline_moves(
        sim: Sim, tmp_path: Path) -> None:
    doc = generate_from_spec("1x3:1")
    broken = next(iter(doc["expect"]["causes"]))
    kb = kube(sim, broken, tmp_path)
    still_failing(kb, "app", "web")  # the first read brings the cluster up to date
    before = _internals(sim)["counters"]

    # when the cluster's pods, events and replica sets are read again and again
    for _ in range(3):
        kb.core.list_namespaced_pod("app")
        kb.core.list_namespaced_event("app")
        kb.apps.list_namespaced_replica_set("app")
    after = _internals(sim)["counters"]
    # then no read re-synced the cluster or re-evaluated a pull
    assert after.get("k8s_syncs", 0) == before.get("k8s_syncs", 0)
    assert after.get("pull_evaluations", 0) == before.get("pull_evaluations", 0)
    assert after["k8s_sync_skipped"] >= before.get("k8s_sync_skipped", 0) + 9

    # when the clock passes the pods' back-off, the next read re-syncs and the kubelet retries
    sim.advance(400)
    kb.core.list_namespaced_pod("app")
    moved = _internals(sim)["counters"]
    assert moved["k8s_syncs"] == after["k8s_syncs"] + 1
    assert moved["pull_evaluations"] > after["pull_evaluations"]

    # when the world changes (a write), the next read re-syncs once, then reads skip again
    rc = sim.clients().arm(ResourceManagementClient, sim.subscription)
    rc.resource_groups.create_or_update("rg-touch", ResourceGroup(location="eastus"))
    kb.core.list_namespaced_pod("app")
    kb.core.list_namespaced_pod("app")
    last = _internals(sim)["counters"]
    assert last["k8s_syncs"] == moved["k8s_syncs"] + 1


# -- latency -------------------------------------------------------------------------------------
@pytest.mark.scenario("minimal")
def test_latency_setting_delays_cloud_requests_and_never_the_control_api(sim: Sim) -> None:
    # given latency set through the control API
    assert sim.settings(latency_ms=1)["latency_ms"] == 1
    token = sim.token()
    start = _internals(sim)["counters"].get("delayed_requests", 0)
    # when ARM is called twice (and the control API more often)
    for _ in range(2):
        sim.arm_request("GET", f"/subscriptions/{sim.subscription}/resourcegroups", token=token)
    sim.stats()
    sim.stats()
    # then the two ARM calls were delayed, the control calls not
    assert _internals(sim)["counters"]["delayed_requests"] - start == 2
    sim.settings(latency_ms=0)


@pytest.mark.scenario("minimal")
def test_bad_latency_and_throttling_settings_are_refused_with_what_is_valid(sim: Sim) -> None:
    url = sim.conn["control"]["url"] + "settings"
    cases = [({"latency_ms": -5}, "latency_ms must be a number >= 0, got -5"),
             ({"latency_ms": "fast"}, "latency_ms must be a number >= 0, got 'fast'"),
             ({"throttling": {"enabled": "yes"}},
              "throttling.enabled must be true or false, got 'yes'"),
             ({"throttling": {"reads_burst": 0}}, "throttling.reads_burst must be a number > 0, "
                                                   "got 0"),
             ({"throttling": {"burst": 5}}, "unknown throttling settings ['burst']; valid: ")]
    for patch, message in cases:
        resp = requests.patch(url, json=patch, headers={"x-sim-control": sim.conn["control"]["key"]},
                              verify=sim.ca, timeout=30)
        assert resp.status_code == 400, patch
        assert resp.json()["error"]["code"] == "InvalidSetting"
        assert resp.json()["error"]["message"].startswith(message), resp.json()


def test_serve_flags_turn_on_latency_and_throttling(tmp_path: Path) -> None:
    # when the simulator is served with --latency-ms and --throttling
    sim = Sim("minimal", tmp_path, extra_args=("--latency-ms", "7", "--throttling"))
    try:
        settings = sim.settings()
        # then both are in its settings, the rest of the throttling model at Azure's defaults
        assert settings["latency_ms"] == 7
        assert settings["throttling"] == {
            "enabled": True, "reads_burst": 250, "reads_per_second": 25, "writes_burst": 200,
            "writes_per_second": 10, "deletes_burst": 200, "deletes_per_second": 10,
            "global_factor": 15}
        resp = sim.arm_request("GET", f"/subscriptions/{sim.subscription}/resourcegroups",
                               token=sim.token())
        assert resp.headers["x-ms-ratelimit-remaining-subscription-reads"] == "249"
        assert resp.headers["x-ms-ratelimit-remaining-subscription-global-reads"] == "3749"
    finally:
        sim.stop()
    out = subprocess.run([sys.executable, "-m", "simulator", "serve", "--latency-ms", "-1"],
                         cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "--latency-ms" in out.stderr


# -- throttling ----------------------------------------------------------------------------------
def _mi_token(sim: Sim) -> str:
    resp = requests.get(sim.conn["managed_identity"]["identity_endpoint"],
                        params={"resource": sim.conn["arm_audience"], "api-version": "2019-08-01"},
                        headers={"x-identity-header": sim.env["IDENTITY_HEADER"]},
                        verify=sim.ca, timeout=30)
    resp.raise_for_status()
    return str(resp.json()["access_token"])


@pytest.mark.scenario("minimal")
def test_throttling_counts_reads_writes_and_deletes_in_their_own_buckets(sim: Sim) -> None:
    # given the throttling model switched on by a partial patch (the rest: Azure's defaults)
    sim.settings(speedup=1.0)
    settings = sim.settings(throttling={"enabled": True})
    assert settings["throttling"]["reads_burst"] == 250
    assert settings["throttling"]["global_factor"] == 15
    token = sim.token()
    rg = f"/subscriptions/{sim.subscription}/resourcegroups/rg-buckets"
    try:
        # when the operator reads, writes (PUT and POST) and deletes
        read = sim.arm_request("GET", f"/subscriptions/{sim.subscription}/resourcegroups",
                               token=token)
        put = sim.arm_request("PUT", rg, token=token, json={"location": "eastus"})
        delete = sim.arm_request("DELETE", rg, token=token)
        # then each answer names what is left in the principal's and the global bucket
        assert read.headers["x-ms-ratelimit-remaining-subscription-reads"] == "249"
        assert read.headers["x-ms-ratelimit-remaining-subscription-global-reads"] == "3749"
        assert put.headers["x-ms-ratelimit-remaining-subscription-writes"] == "199"
        assert put.headers["x-ms-ratelimit-remaining-subscription-global-writes"] == "2999"
        assert delete.headers["x-ms-ratelimit-remaining-subscription-deletes"] == "199"
        assert delete.headers["x-ms-ratelimit-remaining-subscription-global-deletes"] == "2999"
        assert "x-ms-ratelimit-remaining-subscription-reads" not in put.headers
        # tenant-level requests have the principal's tenant bucket, no global one
        tenants = sim.arm_request("GET", "/subscriptions", token=token)
        assert tenants.headers["x-ms-ratelimit-remaining-tenant-reads"] == "249"
        assert not any("global" in h for h in tenants.headers)
    finally:
        sim.settings(throttling={"enabled": False})


@pytest.mark.scenario("minimal")
def test_throttling_answers_429_per_principal_then_for_the_whole_subscription(sim: Sim) -> None:
    # given tiny buckets: 2 reads per principal, 3 for the subscription (factor 1.5), no refill
    sim.control("DELETE", "stats")
    sim.settings(speedup=1.0, throttling={"enabled": True, "reads_burst": 2,
                                          "reads_per_second": 0.0001, "global_factor": 1.5})
    path = f"/subscriptions/{sim.subscription}/resourcegroups"
    operator, identity = sim.token(), _mi_token(sim)
    oid = sim.conn["service_principal"]["object_id"]
    try:
        # when the operator spends its bucket
        assert [sim.arm_request("GET", path, token=operator).status_code for _ in range(2)] == \
            [200, 200]
        mine = sim.arm_request("GET", path, token=operator)
        # then its next read is refused for that principal, with Retry-After in whole seconds
        assert mine.status_code == 429
        assert mine.json()["error"]["code"] == "SubscriptionRequestsThrottled"
        assert mine.json()["error"]["message"].startswith(
            f"Number of 'read' requests for subscription actor '{sim.subscription}:{oid}' "
            "exceeded. Please try again after '")
        assert int(mine.headers["Retry-After"]) >= 1
        assert mine.headers["x-ms-ratelimit-remaining-subscription-reads"] == "0"
        # when another principal (the managed identity) reads: the global bucket has one left
        ok = sim.arm_request("GET", path, token=identity)
        assert ok.status_code == 200
        assert ok.headers["x-ms-ratelimit-remaining-subscription-reads"] == "1"
        assert ok.headers["x-ms-ratelimit-remaining-subscription-global-reads"] == "0"
        shared = sim.arm_request("GET", path, token=identity)
        # then the subscription's global bucket refuses it although its own has tokens
        assert shared.status_code == 429
        assert shared.json()["error"]["message"].startswith(
            f"Number of 'read' requests for subscription '{sim.subscription}' exceeded.")
        assert shared.headers["x-ms-ratelimit-remaining-subscription-global-reads"] == "0"
        # and the stats count the 429s served
        assert sim.stats()["429"] == 2
    finally:
        sim.settings(throttling={"enabled": False, "reads_burst": 250, "reads_per_second": 25,
                                 "global_factor": 15})


@pytest.mark.scenario("minimal")
def test_throttled_buckets_refill_on_the_twin_clock(sim: Sim) -> None:
    # given an empty bucket that refills one token per 100 s of Azure time
    sim.settings(speedup=1.0, throttling={"enabled": True, "reads_burst": 1,
                                          "reads_per_second": 0.01})
    path = f"/subscriptions/{sim.subscription}/resourcegroups"
    token = sim.token()
    try:
        assert sim.arm_request("GET", path, token=token).status_code == 200
        refused = sim.arm_request("GET", path, token=token)
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 99
        # when the world clock is advanced by 100 s, as operators rehearse Azure's waits
        sim.advance(100)
        # then the bucket has refilled
        assert sim.arm_request("GET", path, token=token).status_code == 200
    finally:
        sim.settings(throttling={"enabled": False, "reads_burst": 250, "reads_per_second": 25})


# -- the benchmark fleet -------------------------------------------------------------------------
def test_benchmark_fleet_spec_sets_pods_failing_share_and_every_cause() -> None:
    # when a fleet of 60 clusters is generated with 20 pods each and half of them broken
    doc = generate_from_spec("2x30:7?pods=20&failing=0.5")
    clusters = [r for r in doc["resources"] if r["kind"] == "cluster"]
    causes = doc["expect"]["causes"]
    # then exactly half the clusters are broken, and every cause of the catalogue is there
    assert len(clusters) == doc["expect"]["clusters"] == 60
    assert len(causes) == 30 and set(causes.values()) == set(CATALOGUE)
    assert doc["expect"]["failing_checks"] == sorted({c.check for c in CATALOGUE.values()})
    assert doc["expect"]["fixes"] == sorted({c.fix for c in CATALOGUE.values()} - {""})
    # every cluster runs 20 pods over Deployments of at most 10
    for cluster in clusters:
        reps = [r["replicas"] for r in doc["resources"]
                if r["kind"] == "workload" and r["cluster"] == cluster["name"]]
        assert sum(reps) == 20 and max(reps) <= 10
    # the expected pods are exactly the broken clusters' failing workloads
    assert {p["cluster"] for p in doc["expect"]["pods"]} == set(causes)
    for p in doc["expect"]["pods"]:
        assert p["message_contains"] == [CATALOGUE[causes[p["cluster"]]].fragment]
    # the same spec gives the same fleet; the classic spec keeps its classic shape
    assert generate_from_spec("2x30:7?pods=20&failing=0.5") == doc
    classic = generate_from_spec("2x3:1")
    assert classic["name"] == "fleet-2x3-1" and "?" not in classic["name"]
    assert {r["replicas"] for r in classic["resources"] if r["kind"] == "workload"} == {2}
    assert generate_from_spec("1x10:3?failing=0")["expect"]["causes"] == {}
    assert set(generate_from_spec("1x40:3?failing=1&causes=classic")["expect"]["causes"]
               .values()) == {"missing-role", "egress-ip", "typo"}


@pytest.mark.parametrize(("spec", "message"), [
    ("1x3?pods=0", "fleet option pods must be a whole number >= 1 (pods per cluster), got '0'"),
    ("1x3?failing=2", "fleet option failing must be a share between 0 and 1 (0.05 = 5 % of the "
                      "clusters broken), got '2'"),
    ("1x3?pod=3", "unknown fleet option(s) ['pod']; valid: causes, failing, pods"),
    ("1x3?causes=typo,cosmic-rays", "unknown fleet cause(s) ['cosmic-rays']; valid: all, "
                                    "classic or any of"),
    ("1x3:7?pods", "fleet options 'pods' are not NAME=VALUE pairs joined by '&'"),
])
def test_bad_fleet_specs_name_the_option_and_what_is_valid(spec: str, message: str) -> None:
    with pytest.raises(ValueError) as err:
        generate_from_spec(spec)
    assert str(err.value).startswith(message)


@pytest.mark.scenario("fleet:3x10:5?pods=12&failing=0.5")
def test_every_cause_of_the_benchmark_fleet_fails_its_pods_and_the_rest_run(
        sim: Sim, tmp_path: Path) -> None:
    # given the served fleet: 15 broken clusters, one per cause, 15 healthy
    doc = generate_from_spec("3x10:5?pods=12&failing=0.5")
    causes = doc["expect"]["causes"]
    assert sorted(causes.values()) == sorted(CATALOGUE)
    failing = {(p["cluster"], p["workload"]): p["message_contains"][0]
               for p in doc["expect"]["pods"]}
    workloads = [(r["cluster"], r["name"]) for r in doc["resources"] if r["kind"] == "workload"]
    checked: set[str] = set()
    for cluster, workload in workloads:
        if cluster not in causes and cluster in checked:
            continue  # a healthy cluster: one of its workloads is enough
        kb = kube(sim, cluster, tmp_path)
        fragment = failing.get((cluster, workload))
        if fragment is None:
            # then what the document does not list runs
            wait_running(kb, "app", workload, seconds=20)
        else:
            # and each listed workload fails with its cause's words
            for pod in still_failing(kb, "app", workload):
                assert any(fragment in m for m in failed_messages(kb, pod)), (
                    causes[cluster], failed_messages(kb, pod))
        checked.add(cluster)
