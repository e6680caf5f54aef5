"""The troubleshooting guide's az commands (seed/guide-ja.txt), run with the real, pinned az
CLI against the simulator; what az prints is checked against the world read with the SDKs
before and after each write."""

from __future__ import annotations

import asyncio
import os
import pty
import subprocess
from collections.abc import Iterator
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import yaml
from azure.mgmt.authorization import AuthorizationManagementClient
from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.containerregistry import ContainerRegistryManagementClient
from azure.mgmt.containerservice import ContainerServiceClient
from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph.generated.applications.applications_request_builder import ApplicationsRequestBuilder

from tests.azcli import AZ, Az
from tests.simharness import ROOT, Sim

if TYPE_CHECKING:
    from tests.conftest import SimPool

pytestmark = pytest.mark.azcli

WORLD = str(Path(__file__).parent / "worlds" / "azcli-guide.yaml")
RG = "rg-guide"
ACR_PULL = "7f951dda-4ed3-4680-a7ca-43fe172d538d"


@pytest.fixture(scope="module")
def logged_in(sim_pool: SimPool, tmp_path_factory: pytest.TempPathFactory) -> Az:
    # one login for the module: the simulator's reset keeps tenants, apps and signing keys,
    # so the token az cached stays valid across resets
    return Az(sim_pool.get(WORLD), tmp_path_factory.mktemp("azcli-guide") / "az")


@pytest.fixture
def az(logged_in: Az, sim_pool: SimPool) -> Iterator[Az]:
    sim_pool.get(WORLD)  # back to the initial world, faults cleared
    yield logged_in


# -- helpers -------------------------------------------------------------------------------------
def aks(sim: Sim) -> ContainerServiceClient:
    return sim.clients().arm(ContainerServiceClient, sim.subscription)


def authz(sim: Sim) -> AuthorizationManagementClient:
    return sim.clients().arm(AuthorizationManagementClient, sim.subscription)


def kubelet(sim: Sim, cluster: str) -> dict[str, str]:
    ident = aks(sim).managed_clusters.get(RG, cluster).properties.identity_profile["kubeletidentity"]
    return {"clientId": ident.client_id, "objectId": ident.object_id,
            "resourceId": ident.resource_id}


def registry_id(sim: Sim, name: str) -> str:
    return (f"/subscriptions/{sim.subscription}/resourceGroups/{RG}/providers/"
            f"Microsoft.ContainerRegistry/registries/{name}")


def acr_pull_principals(sim: Sim, scope: str) -> set[str]:
    """Principals holding AcrPull assigned exactly at ``scope``, as the SDK sees them."""
    return {a.principal_id for a in authz(sim).role_assignments.list_for_scope(
        scope, filter="atScope()") if a.role_definition_id.endswith(ACR_PULL)
        and a.scope.lower() == scope.lower()}


def table_rows(out: str) -> list[list[str]]:
    """The data rows of an ``-o table`` listing, split on whitespace."""
    lines = out.strip().splitlines()
    assert len(lines) >= 2 and set(lines[1]) <= {"-", " "}, out
    return [line.split() for line in lines[2:]]


def app_id(az: Az, name: str) -> str:
    return az.run("ad", "app", "list", "--display-name", name, "--query", "[0].appId",
                  "-o", "tsv").stdout.strip()


def run_confirming(az: Az, *args: str) -> subprocess.CompletedProcess[str]:
    """Run az answering 'y' on a terminal: a bare ``az aks update`` asks whether to reconcile
    and refuses (NoTTYException) when stdin is not a TTY."""
    master, slave = pty.openpty()
    try:
        os.write(master, b"y\n")
        out = subprocess.run([str(AZ), *args], env=az.env, stdin=slave, capture_output=True,
                             text=True, timeout=180, cwd=ROOT)
    finally:
        os.close(slave)
        os.close(master)
    assert out.returncode == 0, out.stderr[-3000:]
    return out


# -- 解決策 4: the kubelet identity ---------------------------------------------------------------
def test_aks_show_kubelet_identity_matches_the_world(az: Az) -> None:
    shown = az.json("aks", "show", "-g", RG, "-n", "aks-guide", "--query",
                    "identityProfile.kubeletidentity")
    assert shown == kubelet(az.sim, "aks-guide")
    assert shown["resourceId"].lower().endswith(
        "/resourcegroups/mc_rg-guide_aks-guide_eastus/providers/microsoft.managedidentity/"
        "userassignedidentities/aks-guide-agentpool")


# -- 解決策 1/3: AcrPull at the registry ------------------------------------------------------------
def test_role_assignment_list_at_the_registry_shows_the_kubelet_acrpull(az: Az) -> None:
    sim = az.sim
    scope = registry_id(sim, "acrguide")
    guide_kubelet, noid_kubelet = kubelet(sim, "aks-guide"), kubelet(sim, "aks-noid")

    rows = table_rows(az.run("role", "assignment", "list", "--scope", scope, "-o", "table").stdout)

    # the Principal column is the service principal's name: a managed identity's client id
    assert rows == [[guide_kubelet["clientId"], "AcrPull", scope]]
    assert acr_pull_principals(sim, scope) == {guide_kubelet["objectId"]}

    inherited = table_rows(az.run("role", "assignment", "list", "--scope", scope,
                                  "--include-inherited", "-o", "table").stdout)
    by_scope = {(r[1], r[2].lower()) for r in inherited}
    rg_scope = f"/subscriptions/{sim.subscription}/resourceGroups/{RG}"
    assert [guide_kubelet["clientId"], "AcrPull", scope] in inherited
    assert [noid_kubelet["clientId"], "AcrPull", rg_scope] in inherited
    assert ("Reader", f"/subscriptions/{sim.subscription}") in by_scope
    assert ("Owner", f"/subscriptions/{sim.subscription}") in by_scope


@pytest.mark.parametrize("by", ["name", "id"])
def test_aks_update_attach_acr_grants_the_kubelet_acrpull(az: Az, by: str) -> None:
    sim = az.sim
    scope = registry_id(sim, "acrattach")
    ident = kubelet(sim, "aks-guide")
    assert acr_pull_principals(sim, scope) == set()

    # by name az finds the registry in the subscription's resource list; by id it GETs it
    az.run("aks", "update", "-g", RG, "-n", "aks-guide", "--attach-acr",
           "acrattach" if by == "name" else scope, "-o", "none")

    assert acr_pull_principals(sim, scope) == {ident["objectId"]}
    rows = table_rows(az.run("role", "assignment", "list", "--scope", scope, "-o", "table").stdout)
    assert rows == [[ident["clientId"], "AcrPull", scope]]
    writes = [(j["method"], j["path"].split("/providers/")[-1].split("/")[0:2])
              for j in sim.journal()]
    assert ("PUT", ["Microsoft.Authorization", "roleAssignments"]) in writes
    assert ("PUT", ["Microsoft.ContainerService", "managedClusters"]) in writes


def test_vmss_identity_show_and_reconcile_restores_the_kubelet_identity(az: Az) -> None:
    sim = az.sim
    node_rg = "MC_rg-guide_aks-noid_eastus"
    ident = kubelet(sim, "aks-noid")
    compute = sim.clients().arm(ComputeManagementClient, sim.subscription)
    [vmss] = [v.name for v in compute.virtual_machine_scale_sets.list(node_rg)]

    # given: the healthy cluster's scale set carries its kubelet identity
    healthy_rg, guide = "MC_rg-guide_aks-guide_eastus", kubelet(sim, "aks-guide")
    [healthy] = [v.name for v in compute.virtual_machine_scale_sets.list(healthy_rg)]
    shown = az.json("vmss", "identity", "show", "-g", healthy_rg, "-n", healthy)
    assert {k.lower(): v for k, v in shown["userAssignedIdentities"].items()} == {
        guide["resourceId"].lower(): {"clientId": guide["clientId"],
                                      "principalId": guide["objectId"]}}
    # and the broken cluster's was removed: the scale set has no identity, az prints {}
    assert az.json("vmss", "identity", "show", "-g", node_rg, "-n", vmss) == {}

    # when: the guide's reconcile, a bare `az aks update`
    out = run_confirming(az, "aks", "update", "-g", RG, "-n", "aks-noid", "-o", "none")
    assert "reconcile" in out.stdout

    # then: az and the SDK see the kubelet identity back on the scale set
    after = az.json("vmss", "identity", "show", "-g", node_rg, "-n", vmss)
    assert after["type"] == "UserAssigned"
    assert {k.lower() for k in after["userAssignedIdentities"]} == {ident["resourceId"].lower()}
    sdk = compute.virtual_machine_scale_sets.get(node_rg, vmss).identity
    assert {k.lower() for k in sdk.user_assigned_identities} == {ident["resourceId"].lower()}


# -- network: peerings ----------------------------------------------------------------------------
def test_vnet_peering_list_shows_the_peering_state(az: Az) -> None:
    out = az.run("network", "vnet", "peering", "list", "-g", RG, "--vnet-name", "hub",
                 "-o", "table").stdout
    header = out.splitlines()[0].split()
    rows = table_rows(out)
    states = {r[header.index("Name")]: r[header.index("PeeringState")] for r in rows}
    assert states == {"hub-to-spoke": "Connected", "hub-to-edge": "Disconnected"}


# -- ACR firewall ---------------------------------------------------------------------------------
def test_acr_network_rule_add_is_seen_by_az_and_the_sdk(az: Az) -> None:
    sim = az.sim
    acr = sim.clients().arm(ContainerRegistryManagementClient, sim.subscription)
    assert acr.registries.get(RG, "acrguide").network_rule_set.ip_rules == []

    az.run("acr", "network-rule", "add", "-n", "acrguide", "--ip-address", "203.0.113.7",
           "-o", "none")

    shown = az.json("acr", "show", "-n", "acrguide", "--query", "networkRuleSet")
    assert shown["ipRules"] == [{"action": "Allow", "ipAddressOrRange": "203.0.113.7"}]
    listed = az.json("acr", "network-rule", "list", "-n", "acrguide")
    assert listed["ipRules"] == shown["ipRules"]
    rules = acr.registries.get(RG, "acrguide").network_rule_set.ip_rules
    assert [(r.action, r.ip_address_or_range) for r in rules] == [("Allow", "203.0.113.7")]


# -- 解決策 2/5: service principal secrets -----------------------------------------------------------
def test_credential_list_shows_the_expired_and_the_valid_secret(az: Az) -> None:
    sim = az.sim
    sp_id = az.run("aks", "show", "-g", RG, "-n", "aks-spc", "--query",
                   "servicePrincipalProfile.clientId", "-o", "tsv").stdout.strip()
    assert sp_id == aks(sim).managed_clusters.get(
        RG, "aks-spc").properties.service_principal_profile.client_id

    # the guide's command reads the service principal object; since the Microsoft Graph
    # migration secrets live on the application, so like Azure it lists nothing
    sp_out = az.run("ad", "sp", "credential", "list", "--id", sp_id, "--query",
                    "[].endDateTime", "-o", "tsv").stdout
    assert sp_out.strip() == ""

    ends = az.run("ad", "app", "credential", "list", "--id", sp_id, "--query",
                  "[].endDateTime", "-o", "tsv").stdout.split()

    # the same instants the application carries in Graph, one in the past, one in the future
    query = ApplicationsRequestBuilder.ApplicationsRequestBuilderGetQueryParameters(
        filter=f"appId eq '{sp_id}'")
    [app] = asyncio.run(sim.clients().graph().applications.get(
        RequestConfiguration(query_parameters=query))).value
    in_graph = sorted(c.end_date_time for c in app.password_credentials)
    assert sorted(datetime.fromisoformat(e) for e in ends) == in_graph
    now = parsedate_to_datetime(sim.arm_request("GET", f"/subscriptions/{sim.subscription}")
                                .headers["Date"])  # the simulated clock
    expired, valid = in_graph
    assert abs(expired - (now - timedelta(days=10))) < timedelta(minutes=5)
    assert abs(valid - (now + timedelta(days=180))) < timedelta(minutes=5)


def test_sp_credential_list_shows_a_secret_added_to_the_service_principal(az: Az) -> None:
    # given a secret added to the service principal object itself (as `az ad sp credential
    # reset` does), the guide's command lists its end date, and the secret signs in
    sim = az.sim
    sp_id = az.run("aks", "show", "-g", RG, "-n", "aks-spc", "--query",
                   "servicePrincipalProfile.clientId", "-o", "tsv").stdout.strip()
    reset = az.json("ad", "sp", "credential", "reset", "--id", sp_id, "--append", "--years", "1")
    ends = az.run("ad", "sp", "credential", "list", "--id", sp_id, "--query",
                  "[].endDateTime", "-o", "tsv").stdout.split()
    assert len(ends) == 1
    now = parsedate_to_datetime(sim.arm_request("GET", f"/subscriptions/{sim.subscription}")
                                .headers["Date"])
    assert abs(datetime.fromisoformat(ends[0]) - (now + timedelta(days=365))) < timedelta(days=2)
    token = sim.credential(sp_id, reset["password"]).get_token(sim.profile.arm_scope)
    assert token.token


def test_update_credentials_resets_the_cluster_service_principal(az: Az) -> None:
    sim = az.sim
    new_app = app_id(az, "guide-sp-new")
    assert az.run("aks", "show", "-g", RG, "-n", "aks-spc", "--query",
                  "servicePrincipalProfile.clientId", "-o", "tsv").stdout.strip() != new_app

    az.run("aks", "update-credentials", "-g", RG, "-n", "aks-spc", "--reset-service-principal",
           "--service-principal", new_app, "--client-secret", "guide-sp-new-secret-0001",
           "-o", "none")

    assert az.run("aks", "show", "-g", RG, "-n", "aks-spc", "--query",
                  "servicePrincipalProfile.clientId", "-o", "tsv").stdout.strip() == new_app
    assert aks(sim).managed_clusters.get(
        RG, "aks-spc").properties.service_principal_profile.client_id == new_app


# -- kubeconfig -----------------------------------------------------------------------------------
def test_get_credentials_writes_a_kubeconfig_for_the_simulated_api_server(az: Az,
                                                                         tmp_path: Path) -> None:
    path = tmp_path / "kubeconfig"
    az.run("aks", "get-credentials", "-g", RG, "-n", "aks-guide", "--file", str(path))

    config = yaml.safe_load(path.read_text())
    [cluster] = config["clusters"]
    assert cluster["name"] == "aks-guide"
    assert cluster["cluster"]["server"].startswith(az.sim.arm.rstrip("/") + "/k8s/")
    assert cluster["cluster"]["certificate-authority-data"]
    assert config["current-context"] == "aks-guide"
    [user] = config["users"]
    assert user["name"] == f"clusterUser_{RG}_aks-guide" and user["user"]["token"]


# -- a write without rights -----------------------------------------------------------------------
def test_a_reader_cannot_write_what_the_guide_changes(az: Az, tmp_path: Path) -> None:
    sim = az.sim
    reader_app = app_id(az, "guide-reader")
    reader = Az(sim, tmp_path / "az-reader", login=False)
    # Entra's secrets may begin with '-': the world's reader secret does, as az's help warns
    reader.login(reader_app, "-guide-reader-secret-0001")
    assert reader.json("aks", "show", "-g", RG, "-n", "aks-spc", "--query", "name") == "aks-spc"

    denied = reader.run("acr", "network-rule", "add", "-n", "acrguide", "--ip-address",
                        "198.51.100.9", check=False)
    assert denied.returncode != 0
    assert "(AuthorizationFailed)" in denied.stderr
    assert "'Microsoft.ContainerRegistry/registries/write'" in denied.stderr

    denied = reader.run("aks", "update-credentials", "-g", RG, "-n", "aks-spc",
                        "--reset-service-principal", "--service-principal", reader_app,
                        "--client-secret=-guide-reader-secret-0001", check=False)
    assert denied.returncode != 0
    assert "(AuthorizationFailed)" in denied.stderr
    assert "resetServicePrincipalProfile/action" in denied.stderr
    assert sim.journal() == []
