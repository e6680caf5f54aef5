from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import pytest

from tests.simharness import Sim

# Azure's delays pass 100x faster in tests: 5 minutes of role propagation take 3 s
SPEEDUP = 100.0


class SimPool:
    """One served simulator per scenario per test session, reset between tests."""

    def __init__(self, tmp_path_factory: pytest.TempPathFactory) -> None:
        self.tmp = tmp_path_factory
        self.sims: dict[str, Sim] = {}

    def get(self, scenario: str) -> Sim:
        if scenario not in self.sims:
            self.sims[scenario] = Sim(scenario, self.tmp.mktemp(scenario.replace("/", "_")))
        sim = self.sims[scenario]
        sim.reset()
        sim.clear_faults()
        # the twin keeps Azure's timings (role assignments honoured minutes after the write,
        # LROs of tens of seconds) and runs those delays faster
        sim.settings(speedup=SPEEDUP)
        return sim

    def close(self) -> None:
        for sim in self.sims.values():
            sim.stop()


@pytest.fixture(scope="session", autouse=True)
def pullfix_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """pullfix's own state (the audit store) in a temporary folder for the session."""
    home = str(tmp_path_factory.mktemp("pullfix-home"))
    old = os.environ.get("PULLFIX_HOME")
    os.environ["PULLFIX_HOME"] = home
    yield home
    if old is None:
        os.environ.pop("PULLFIX_HOME", None)
    else:
        os.environ["PULLFIX_HOME"] = old


@pytest.fixture(scope="session")
def sim_pool(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimPool]:
    pool = SimPool(tmp_path_factory)
    yield pool
    pool.close()


@pytest.fixture
def sim(sim_pool: SimPool, request: pytest.FixtureRequest) -> Sim:
    """The served scenario named by ``@pytest.mark.scenario("name")`` (default: minimal)."""
    marker = request.node.get_closest_marker("scenario")
    return sim_pool.get(marker.args[0] if marker else "minimal")


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """The Prefect server flows report to: the one real local server ``scripts/test.sh``
    starts (``PREFECT_API_URL``), shared by every worker; without it, a temporary one for
    this session."""
    if os.environ.get("PREFECT_API_URL"):
        yield
        return
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture
def sim_env(monkeypatch: pytest.MonkeyPatch) -> Callable[[Sim], None]:
    """Point this process's environment at a served simulator (what the connection file's
    ``env`` is for); pullfix then builds its clients from the environment as in production."""

    def use(sim: Sim) -> None:
        for k in [k for k in os.environ if k.startswith(("AZURE_", "IDENTITY_"))]:
            monkeypatch.delenv(k)
        for k, v in sim.env.items():
            monkeypatch.setenv(k, v)

    return use
