"""pullfix paces ARM requests to ARM's own token buckets (tasks/ratelimit.py), through the real
azure-mgmt clients against the twin with its ARM throttling model on."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from azure.mgmt.containerservice import ContainerServiceClient
from azure.mgmt.resource.resources import ResourceManagementClient

from tasks.clients import Clients
from tasks.inventory import clusters
from tasks.ratelimit import ArmBudgetPolicy, Budget
from tests.simharness import Sim

THROTTLING = {"enabled": True, "reads_burst": 10, "reads_per_second": 20,
              "writes_burst": 200, "writes_per_second": 10}


def _paced(sim: Sim, reads: Budget) -> tuple[Clients, ArmBudgetPolicy]:
    policy = ArmBudgetPolicy({"reads": reads})
    return Clients(sim.profile, sim.credential(), rate_limit=policy), policy


def test_a_sweep_of_reads_waits_for_tokens_instead_of_meeting_429s(sim: Sim) -> None:
    # given ARM's buckets at 10 reads then 20 per second, and pullfix paced to the same budget
    sim.settings(throttling=THROTTLING, speedup=1.0)  # ARM refills on the wall clock
    try:
        clients, policy = _paced(sim, Budget(10, 20))
        rm = clients.arm(ResourceManagementClient, sim.subscription)
        # when four threads make 40 reads (four times the burst)
        with ThreadPoolExecutor(4) as pool:
            names = list(pool.map(lambda _: rm.resource_groups.get("rg-minimal").name, range(40)))
        # then every read succeeded without a single 429: pullfix waited for its tokens
        assert names == ["rg-minimal"] * 40
        assert policy.throttled == 0
        assert policy.waited > 0
    finally:
        sim.settings(throttling={**THROTTLING, "enabled": False})


def test_arms_remaining_header_corrects_the_local_bucket(sim: Sim) -> None:
    # given another client of the same principal has spent most of the subscription's reads
    # (10, refilled at 2 per second)
    slow = {**THROTTLING, "reads_per_second": 2}
    sim.settings(throttling=slow, speedup=1.0)
    try:
        other = sim.clients().arm(ResourceManagementClient, sim.subscription)
        for _ in range(8):
            other.resource_groups.get("rg-minimal")
        # when pullfix, whose own bucket is full, reads ten times
        clients, policy = _paced(sim, Budget(10, 2))
        rm = clients.arm(ResourceManagementClient, sim.subscription)
        for _ in range(10):
            rm.resource_groups.get("rg-minimal")
        # then it believed ARM's x-ms-ratelimit-remaining-subscription-reads, not its own count,
        # and waited instead of meeting 429s
        assert policy.throttled == 0
        assert policy.waited > 0
    finally:
        sim.settings(throttling={**THROTTLING, "enabled": False})


class _Clock:
    """The policy's clock and sleep (its own parameters), so waits are counted, not slept."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_a_429_holds_the_bucket_until_retry_after(sim: Sim) -> None:
    # given ARM refuses one read with 429 and Retry-After: 2
    sim.fault(method="GET", path="resourcegroups/rg-minimal$", status=429, retry_after=2, count=1)
    clock = _Clock()
    policy = ArmBudgetPolicy(clock=clock, sleep=clock.sleep)
    rm = Clients(sim.profile, sim.credential(), rate_limit=policy).arm(
        ResourceManagementClient, sim.subscription)
    # when pullfix reads (azure-core's RetryPolicy retries after Retry-After)
    assert rm.resource_groups.get("rg-minimal").name == "rg-minimal"
    # then the policy saw the 429 and held the subscription's reads (every thread's) for the
    # two seconds ARM asked, on its own clock
    assert policy.throttled == 1
    assert sum(clock.slept) == pytest.approx(2.0)


@pytest.mark.scenario("missing-pull-role")
def test_a_post_action_is_paced_on_the_writes_bucket(sim: Sim) -> None:
    # given a budget of one write per hundred seconds (pullfix's own clock, counted not slept)
    clock = _Clock()
    policy = ArmBudgetPolicy({"writes": Budget(1, 0.01)}, clock=clock, sleep=clock.sleep)
    clients = Clients(sim.profile, sim.credential(), rate_limit=policy)
    ref = clusters(clients)[0]
    aks = clients.arm(ContainerServiceClient, ref.subscription_id)
    # when pullfix lists the cluster's user credentials three times (a POST action: ARM
    # charges it to writes, Azure/azure-rest-api-specs#6363)
    for _ in range(3):
        aks.managed_clusters.list_cluster_user_credentials(ref.resource_group, ref.name)
    # then the second and third each waited for the writes bucket, the reads never did
    assert [round(s) for s in clock.slept] == [100, 100]
