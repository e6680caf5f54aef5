"""Helpers for check tests: the targets of a served scenario, and running one check."""

from __future__ import annotations

from tasks.contract import ClusterRef, Finding, Target
from tasks.detect import failing_pods
from tasks.inventory import clusters
from tasks.reads import Reads
from tasks.registry import load_checks
from tasks.targets import target_for
from tests.simharness import Sim


def cluster_refs(sim: Sim) -> dict[str, ClusterRef]:
    return {c.name: ClusterRef(subscription_id=c.subscription_id,
                               resource_group=c.resource_group, name=c.name, id=c.id)
            for c in clusters(sim.clients())}


def targets(sim: Sim, cluster: str, reads: Reads | None = None) -> list[Target]:
    """One target per failing container of the cluster (a cluster-only target when none)."""
    reads = reads or Reads(sim.clients())
    ref = cluster_refs(sim)[cluster]
    found = [target_for(reads, ref, fp) for fp in failing_pods(reads, ref)]
    return found or [Target(cluster=ref)]


def run_check(name: str, target: Target, reads: Reads) -> Finding:
    return load_checks()[name].fn(target, reads)
