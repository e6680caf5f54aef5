"""The identity checks (and the two cross-cutting ones) against served scenarios: each FAILs
exactly on the library scenarios that list it, never on healthy/custom-role-pull or another
cause, names what it read, and turns reads it cannot do (403, a registry firewall, a timeout)
into ERROR with the missing permission — never a crash or a silent PASS."""

from __future__ import annotations

from typing import Any

import pytest

from tasks.checks.azure_policy_conflicts import conflicts
from tasks.clients import Clients
from tasks.contract import ClusterRef, FailingPod, Finding, Status, Target
from tasks.errors import describe
from tasks.reads import Reads
from tests.checklib import cluster_refs, run_check, targets
from tests.simharness import Sim

# (fixer-has-permissions reads pullfix's own permissions, which any identity may read: with
# this little access it FAILs naming the rights its fixes need, tested below)
MINE = ("kubelet-identity-has-pull-role", "cluster-sp-secret-valid", "pull-role-on-current-sp",
        "kubelet-identity-on-vmss", "pull-secret-sp-valid", "pull-secret-admin-valid",
        "azure-policy-conflicts")
LIBRARY = {
    "missing-pull-role": {"kubelet-identity-has-pull-role"},
    "missing-pull-role-sp": {"kubelet-identity-has-pull-role"},
    "abac-registry-acrpull-only": {"kubelet-identity-has-pull-role"},
    "cluster-sp-secret-expired": {"cluster-sp-secret-valid"},
    "pull-role-on-previous-sp": {"pull-role-on-current-sp"},
    "kubelet-identity-removed-from-vmss": {"kubelet-identity-on-vmss"},
    "pull-secret-sp-expired": {"pull-secret-sp-valid"},
    "pull-secret-admin-regenerated": {"pull-secret-admin-valid"},
    "healthy": set(),
    "custom-role-pull": set(),
    "public-access-disabled": set(),
    "private-dns-zone-not-linked": set(),
}
WORLDS = __import__("pathlib").Path(__file__).parent / "worlds"
CONTRIB = str(WORLDS / "checks-identity-contributor.yaml")
RESTRICTED = str(WORLDS / "checks-identity-restricted.yaml")


def outcome(name: str, target: Target, reads: Reads) -> Finding:
    """What the orchestrator records: the check's finding, or ERROR with the exception's line."""
    try:
        return run_check(name, target, reads)
    except Exception as exc:  # noqa: BLE001 — the orchestrator's contract
        return Finding(check=name, status=Status.ERROR, summary="could not determine",
                       group=run_check.__globals__["load_checks"]()[name].group,
                       reason=describe(exc))


def registry_target(sim: Sim, reads: Reads, cluster: str, host: str,
                    secrets: tuple[str, ...] = (), namespace: str = "web",
                    known: bool = True) -> Target:
    """A target for a pod of ``cluster`` pulling ``host/app/web:v1`` (used where no pod fails;
    ``known=False``: pullfix may not list clusters, so the ref is built from the world's names)."""
    ref = cluster_refs(sim)[cluster] if known else ClusterRef(
        subscription_id=sim.subscription, resource_group="rg-app", name=cluster,
        id=f"/subscriptions/{sim.subscription}/resourceGroups/rg-app/providers/"
           f"Microsoft.ContainerService/managedClusters/{cluster}")
    reg = reads.registry_for_host(host)
    pod = FailingPod(namespace=namespace, name="probe", uid="probe", node=None, container="web",
                     image=f"{host}/app/web:v1", reason="ErrImagePull", message="",
                     image_pull_secrets=secrets)
    return Target(cluster=ref, pod=pod, registry_host=host, registry_id=reg.id if reg else None)


# -- the scenario library: exactly the expected failures ----------------------------------------
@pytest.mark.parametrize("scenario", sorted(LIBRARY))
def test_library_scenarios_fail_exactly_their_expected_checks(sim_pool: Any, scenario: str) -> None:
    # given a library scenario served for real
    sim = sim_pool.get(scenario)
    reads = Reads(sim.clients())
    # when every check of this module runs on each failing container (or a probe target of the
    # registry when no pod fails)
    found = targets(sim, "aks-app", reads)
    if found[0].pod is None:
        found.append(registry_target(sim, reads, "aks-app", "contosoapp.azurecr.io"))
    findings = [outcome(n, t, reads) for t in found for n in MINE]
    # then exactly the scenario's expected checks FAIL, with evidence and fixes, and none ERRORs
    assert [f.reason for f in findings if f.status == Status.ERROR] == []
    failing = {f.check for f in findings if f.status == Status.FAIL}
    assert failing == LIBRARY[scenario]
    for f in findings:
        if f.status == Status.FAIL:
            assert f.evidence and f.suggests and f.root_cause
    assert sim.journal() == []  # checks never write


@pytest.mark.scenario("pull-role-on-previous-sp")
def test_stale_sp_fail_names_the_previous_sp_and_both_fixes(sim: Sim) -> None:
    reads = Reads(sim.clients())
    [t] = targets(sim, "aks-app", reads)[:1]
    f = run_check("pull-role-on-current-sp", t, reads)
    assert f.status == Status.FAIL and "aks-app-sp-2023" in f.summary
    assert f.suggests == ("grant-pull-role", "remove-stale-role-assignment")
    assert run_check("kubelet-identity-has-pull-role", t, reads).status == Status.NOT_APPLICABLE


@pytest.mark.scenario("abac-registry-acrpull-only")
def test_abac_registry_needs_repository_reader_not_acrpull(sim: Sim) -> None:
    reads = Reads(sim.clients())
    [t] = targets(sim, "aks-app", reads)[:1]
    f = run_check("kubelet-identity-has-pull-role", t, reads)
    assert f.status == Status.FAIL
    assert "repositories/content/read" in f.summary and "AcrPull" in f.summary


@pytest.mark.scenario("pull-secret-admin-regenerated")
def test_admin_secret_evidence_has_regeneration_time_and_no_password(sim: Sim) -> None:
    reads = Reads(sim.clients())
    [t] = targets(sim, "aks-app", reads)[:1]
    f = run_check("pull-secret-admin-valid", t, reads)
    assert f.status == Status.FAIL
    assert any("last_regenerated" in e.data for e in f.evidence)
    text = f.model_dump_json()
    assert "AdminPassword" not in text


# -- test worlds: a restricted operator, token exchange, policy ---------------------------------
@pytest.mark.scenario(CONTRIB)
def test_cluster_sp_secret_expiring_soon_passes_with_a_warning(sim: Sim) -> None:
    reads = Reads(sim.clients())
    f = run_check("cluster-sp-secret-valid", registry_target(sim, reads, "aks-ci", "acrci.azurecr.io"),
                  reads)
    assert f.status == Status.PASS and "warning" in f.summary


@pytest.mark.scenario(CONTRIB)
def test_pull_secret_sp_token_exchange_tells_working_from_wrong_password(sim: Sim) -> None:
    reads = Reads(sim.clients())
    good = registry_target(sim, reads, "aks-ci", "acrci.azurecr.io", ("good",))
    wrong = registry_target(sim, reads, "aks-ci", "acrci.azurecr.io", ("wrong",))
    assert run_check("pull-secret-sp-valid", good, reads).status == Status.PASS
    f = run_check("pull-secret-sp-valid", wrong, reads)
    assert f.status == Status.FAIL and "refuses the password" in f.summary
    assert "not-the-secret" not in f.model_dump_json()


@pytest.mark.scenario(CONTRIB)
def test_pull_secret_sp_error_when_the_registry_firewall_blocks_pullfix(sim: Sim) -> None:
    reads = Reads(sim.clients())
    t = registry_target(sim, reads, "aks-ci", "acrfw.azurecr.io", ("fw",))
    f = outcome("pull-secret-sp-valid", t, reads)
    assert f.status == Status.ERROR and "403" in (f.reason or "") and "firewall" in (f.reason or "")


@pytest.mark.scenario(CONTRIB)
def test_fixer_without_role_assignment_write_names_the_missing_role(sim: Sim) -> None:
    reads = Reads(sim.clients())
    t = registry_target(sim, reads, "aks-ci", "acrci.azurecr.io")
    f = run_check("fixer-has-permissions", t, reads)
    assert f.status == Status.FAIL
    missing = f.evidence[0].data["missing"]
    # the fixes whose ARM rights pullfix lacks here: only the role-assignment ones (a
    # Contributor may write clusters and registries)
    assert sorted(missing) == ["grant-pull-role"], missing
    assert any("Microsoft.Authorization/roleAssignments/write on " + str(t.registry_id) in m
               for m in missing["grant-pull-role"])
    assert "User Access Administrator" in f.summary


@pytest.mark.scenario(CONTRIB)
def test_deny_policy_on_public_access_conflicts_with_network_fixes(sim: Sim) -> None:
    reads = Reads(sim.clients())
    t = registry_target(sim, reads, "aks-ci", "acrci.azurecr.io")
    f = run_check("azure-policy-conflicts", t, reads)
    assert f.status == Status.FAIL and "deny-public-acr" in f.summary
    found = conflicts(["enable-selected-networks", "grant-pull-role"], t, reads)
    assert list(found) == ["enable-selected-networks"]


@pytest.mark.scenario(RESTRICTED)
@pytest.mark.parametrize("name", MINE)
def test_a_read_pullfix_may_not_do_is_an_error_naming_the_permission(sim: Sim, name: str) -> None:
    # given pullfix may read the registry only
    reads = Reads(sim.clients())
    t = registry_target(sim, reads, "aks-rs", "acrrs.azurecr.io", ("acr-admin",), known=False)
    assert t.registry_id is not None
    # when the check runs, then it is an ERROR whose reason names the refused read and the role
    f = outcome(name, t, reads)
    assert f.status == Status.ERROR, f
    assert "403" in (f.reason or "") and "pullfix needs" in (f.reason or "")


class NoRetryClients(Clients):
    """Clients whose ARM clients fail on the first error (keeps the timeout tests fast)."""

    def arm(self, client_cls: Any, subscription_id: str | None = None, **kwargs: Any) -> Any:
        return super().arm(client_cls, subscription_id, retry_total=0, **kwargs)


@pytest.mark.scenario("healthy")
@pytest.mark.parametrize("name", MINE)
def test_an_unavailable_cloud_is_an_error_not_a_pass(sim: Sim, name: str) -> None:
    # given the targets found while the cloud answered
    reads = Reads(sim.clients())
    t = registry_target(sim, reads, "aks-app", "contosoapp.azurecr.io", ("none",))
    # when every ARM read of clusters, registries and role assignments answers 503
    unavailable = {"error": {"code": "ServiceUnavailable", "message": "The service is unavailable."}}
    sim.fault(method="GET", path="(?i)managedClusters|registries|roleAssignments|Microsoft.Compute",
              status=503, body=unavailable)
    sim.fault(method="POST", path="(?i)listClusterUserCredential", status=503, body=unavailable)
    fresh = Reads(NoRetryClients(sim.profile, sim.clients().credential))
    f = outcome(name, t, fresh)
    # then the check is an ERROR with the cloud's status (the newer-codegen SDKs — registries,
    # policy — fail to parse the simulator's bodyless 503 and raise JSONDecodeError instead:
    # still an ERROR, never a PASS)
    assert f.status == Status.ERROR, f
    assert "503" in (f.reason or "") or (f.reason or "").startswith("JSONDecodeError"), f


@pytest.mark.scenario(RESTRICTED)
def test_a_read_only_pullfix_is_told_which_rights_its_fixes_need(sim: Sim) -> None:
    reads = Reads(sim.clients())
    t = registry_target(sim, reads, "aks-rs", "acrrs.azurecr.io", ("acr-admin",), known=False)
    f = outcome("fixer-has-permissions", t, reads)
    assert f.status == Status.FAIL
    assert "grant-pull-role: pullfix needs Microsoft.Authorization/roleAssignments/write on " \
        + str(t.registry_id) in f.summary
    assert "reconcile-cluster: pullfix needs Microsoft.ContainerService/managedClusters/write" \
        in f.summary
