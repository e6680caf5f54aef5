"""Every check, when Azure Resource Manager stops answering in time (an injected delay longer
than the client's read timeout), reports ERROR with the reason — never a crash, never a
silent PASS or a FAIL it could not know."""

from __future__ import annotations

from typing import Any

import pytest

from tasks.clients import Clients
from tasks.contract import Status
from tasks.diagnose import run_plain
from tasks.reads import Reads
from tasks.registry import load_checks
from tests.checklib import targets
from tests.simharness import Sim


class ImpatientClients(Clients):
    """ARM clients that give up after one second and do not retry (the fault is permanent)."""

    def arm(self, client_cls: Any, subscription_id: str | None = None, **kwargs: Any) -> Any:
        return super().arm(client_cls, subscription_id, retry_total=0, read_timeout=1,
                           **kwargs)


@pytest.mark.scenario("missing-pull-role")
@pytest.mark.parametrize("name", sorted(load_checks()))
def test_an_arm_timeout_is_an_error_with_its_reason(sim: Sim, name: str) -> None:
    # given the failing pod's target, found while ARM answered
    from tasks.classify import classify

    [target] = targets(sim, "aks-app")[:1]
    assert target.pod is not None
    target = target.model_copy(update={"classification": classify(target.pod.message)})
    # when every ARM call under /subscriptions answers only after 2.5 s
    sim.fault(path="^/subscriptions/", latency_ms=2500)
    fresh = Reads(ImpatientClients(sim.profile, sim.clients().credential))
    spec = load_checks()[name]
    f = run_plain(spec, target if not spec.cluster_wide else target.model_copy(
        update={"pod": None, "classification": None}), fresh)
    # then the check could not determine its answer, and says why
    assert f.status == Status.ERROR, (f.status, f.summary)
    assert f.reason and ("timed out" in f.reason.lower() or "timeout" in f.reason.lower()), \
        f.reason
