"""The image and triage checks (registry-healthy, cluster-can-pull, image-reference-valid,
image-platform-matches-node, image-arch-matches-node) against the scenario library, and their
ERROR paths: a registry whose firewall blocks pullfix, no pull rights on the data plane, an
injected outage."""

from __future__ import annotations

from pathlib import Path

import pytest

from tasks.contract import Category, Classification, FailingPod, Status, Target
from tasks.reads import Reads
from tasks.reference import InvalidReference, parse
from tests.checklib import cluster_refs, run_check, targets
from tests.simharness import Sim
from tests.test_checks_network import expected, failing

WORLDS = Path(__file__).parent / "worlds"
IMAGE = ("registry-healthy", "cluster-can-pull", "image-reference-valid",
         "image-platform-matches-node", "image-arch-matches-node")
SCENARIOS = ("login-server-typo", "missing-tag", "missing-repository",
             "linux-image-on-windows-pool", "amd64-image-on-arm64-pool", "healthy",
             "custom-role-pull", "missing-pull-role", "nsg-deny")


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_image_checks_fail_exactly_where_the_library_says(sim_pool, scenario: str) -> None:
    found = failing(sim_pool.get(scenario), IMAGE)
    assert set(found) == expected(scenario, IMAGE), {k: v[0].summary for k, v in found.items()}


@pytest.mark.parametrize(("scenario", "proposal"), [
    ("login-server-typo", "contosoapp.azurecr.io/app/web:v1"),
    ("missing-tag", "contosoapp.azurecr.io/app/web:v1"),
    ("missing-repository", "contosoapp.azurecr.io/app/web:v1"),
])
def test_a_wrong_reference_proposes_the_nearest_existing_image(sim_pool, scenario, proposal):
    f = failing(sim_pool.get(scenario), ("image-reference-valid",))["image-reference-valid"][0]
    assert f.suggests == ("correct-image-reference",)
    assert f"did you mean {proposal}?" in f.summary


@pytest.mark.scenario("linux-image-on-windows-pool")
def test_platform_mismatch_lists_image_platforms_and_fitting_pools(sim: Sim) -> None:
    f = failing(sim, ("image-platform-matches-node",))["image-platform-matches-node"][0]
    assert "linux/amd64" in f.summary and "windows/amd64" in f.summary
    pools = next(e for e in f.evidence if "fitting_pools" in e.data).data["fitting_pools"]
    assert pools == ["system"]
    assert f.suggests == ("set-os-node-selector",)


@pytest.mark.scenario("amd64-image-on-arm64-pool")
def test_arch_twin_fails_only_for_a_401_looking_message(sim: Sim) -> None:
    t = targets(sim, "aks-app")[0]
    reads = Reads(sim.clients())
    assert run_check("image-arch-matches-node", t, reads).status == Status.NOT_APPLICABLE
    cls = Classification(category=Category.UNAUTHORIZED, confidence=0.5, ambiguous=True)
    f = run_check("image-arch-matches-node", t.model_copy(update={"classification": cls}), reads)
    assert f.status == Status.FAIL and "linux/arm64" in f.summary


@pytest.mark.scenario("missing-tag")
def test_cluster_can_pull_tracks_the_pod_now(sim: Sim) -> None:
    t = targets(sim, "aks-app")[0]
    f = run_check("cluster-can-pull", t, Reads(sim.clients()))
    assert f.status == Status.NOT_APPLICABLE and "still cannot pull" in f.summary
    assert run_check("registry-healthy", t, Reads(sim.clients())).status == Status.PASS


@pytest.mark.scenario("registry-firewall-missing-egress-ip")
def test_a_registry_that_blocks_pullfix_is_an_error_for_every_data_plane_check(sim: Sim) -> None:
    t = targets(sim, "aks-app")[0]
    reads = Reads(sim.clients())
    for name in ("registry-healthy", "image-reference-valid", "image-platform-matches-node"):
        f = run_check(name, t, reads)
        assert f.status == Status.ERROR, f
        assert "firewall blocks pullfix's address" in (f.reason or ""), f.reason


@pytest.mark.scenario(str(WORLDS / "checks-img-reader.yaml"))
def test_no_pull_rights_on_the_registry_is_an_error_naming_acrpull(sim: Sim) -> None:
    reads = Reads(sim.clients())
    reg = reads.registries()[0]
    pod = FailingPod(namespace="web", name="web-0", uid="u", node=None, container="web",
                     image="contosoapp.azurecr.io/app/web:v2", reason="ErrImagePull", message="")
    t = Target(cluster=cluster_refs(sim)["aks-app"], pod=pod,
               registry_host=reg.login_server, registry_id=reg.id)
    f = run_check("image-reference-valid", t, reads)
    assert f.status == Status.ERROR and "AcrPull" in (f.reason or ""), f


@pytest.mark.scenario("missing-tag")
def test_a_registry_outage_is_an_error_not_a_pass(sim: Sim) -> None:
    sim.reset()
    t = targets(sim, "aks-app")[0]
    sim.fault(method="GET", path="/acr/v1/", status=503)
    try:
        f = run_check("image-reference-valid", t, Reads(sim.clients()))
    finally:
        sim.clear_faults()
    assert f.status == Status.ERROR and "503" in (f.reason or ""), f


@pytest.mark.parametrize(("image", "host", "repo", "ref"), [
    ("nginx", "docker.io", "library/nginx", "latest"),
    ("contosoapp.azurecr.io/app/web:v1", "contosoapp.azurecr.io", "app/web", "v1"),
    ("localhost:5000/a/b@sha256:" + "a" * 64, "localhost:5000", "a/b", "sha256:" + "a" * 64),
])
def test_reference_parser(image, host, repo, ref) -> None:
    r = parse(image)
    assert (r.host, r.repository, r.reference) == (host, repo, ref)


@pytest.mark.parametrize("image", ["", "Contoso/App", "a.io/app:bad tag", "a.io/app@sha256:xyz"])
def test_reference_parser_rejects(image) -> None:
    with pytest.raises(InvalidReference):
        parse(image)
