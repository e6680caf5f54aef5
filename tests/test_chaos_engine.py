"""Engine bugs the chaos suite found, each pinned by a test that fails without its fix."""

from __future__ import annotations

import pytest

from tasks.diagnose import diagnose_cluster
from tasks.reads import Reads
from tasks.resolve import resolve_cluster
from tests.simharness import Sim


@pytest.mark.scenario("missing-pull-role")
def test_a_registry_lookup_that_fails_is_reported_not_raised(sim: Sim) -> None:
    # given ARM fails every registry list (the SDK's retries exhausted), as a bad minute does —
    # before the fix, the exception escaped diagnose_cluster and took the whole sweep down
    # with it: every other cluster's finding was lost
    sim.fault(method="GET", path="/providers/Microsoft.ContainerRegistry/registries$",
              status=500)
    reads = Reads(sim.clients())
    ref = resolve_cluster(reads, "aks-app")
    # when the cluster is diagnosed
    d = diagnose_cluster(reads, ref)
    # then the diagnosis says it could not look the registry up, with ARM's error, and keeps
    # the failing pods it found
    assert d.error == ("cannot look up the registry of contosoapp.azurecr.io/app/web:v1: "
                       "500 InternalServerError: Injected fault: InternalServerError (500) for "
                       f"GET /subscriptions/{sim.subscription}/providers/"
                       "Microsoft.ContainerRegistry/registries.")
    assert len(d.pods) == 2 and d.findings == ()
