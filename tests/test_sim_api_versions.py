"""ARM refuses an api-version an endpoint does not serve, for every resource provider the twin
serves, in ARM's own words: ``InvalidApiVersionParameter`` for ARM's own endpoints,
``NoRegisteredProviderFound`` (per resource type) for a resource provider's. The versions the
real SDK clients send by default are answered."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from azure.mgmt.authorization import AuthorizationManagementClient
from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.containerregistry import ContainerRegistryManagementClient
from azure.mgmt.containerservice import ContainerServiceClient
from azure.mgmt.monitor import MonitorManagementClient
from azure.mgmt.network import NetworkManagementClient
from azure.mgmt.privatedns import PrivateDnsManagementClient
from azure.mgmt.resource.policy import PolicyClient
from azure.mgmt.resource.resources import ResourceManagementClient
from azure.mgmt.resource.subscriptions import SubscriptionClient

from tests.simharness import Sim

pytestmark = pytest.mark.scenario("healthy")
DATA = json.loads((Path(__file__).parent.parent / "simulator" / "data" / "api_versions.json")
                  .read_text())
BAD = "2001-01-01"
RG = "/resourceGroups/rg-app"
REGISTRY = RG + "/providers/Microsoft.ContainerRegistry/registries/contosoapp"

# ARM's own endpoints: path (after /subscriptions/{sub} when it starts with "/"+"~")
ARM_OWN = ["/subscriptions", "/tenants", "~/resourcegroups", "~" + RG, "~/resources",
           "~/providers", "~/providers/Microsoft.ContainerService"]
# resource providers: (path, list key, type ARM names, location, supported locations)
PROVIDERS = [
    ("~" + REGISTRY, "Microsoft.ContainerRegistry", "registries", "eastus", "eastus"),
    ("~/providers/Microsoft.ContainerRegistry/registries", "Microsoft.ContainerRegistry",
     "registries", "eastus", "eastus"),
    ("~" + RG + "/providers/Microsoft.ContainerService/managedClusters/aks-app",
     "Microsoft.ContainerService", "managedClusters", "eastus", "eastus"),
    ("~" + REGISTRY + "/providers/Microsoft.Authorization/roleAssignments",
     "Microsoft.Authorization/roleAssignments", "roleAssignments", "eastus", ""),
    ("~/providers/Microsoft.Authorization/roleDefinitions",
     "Microsoft.Authorization/roleDefinitions", "roleDefinitions", "global", ""),
    ("~" + RG + "/providers/Microsoft.Authorization/permissions",
     "Microsoft.Authorization/permissions", "permissions", "eastus", ""),
    ("~/providers/Microsoft.Authorization/policyAssignments",
     "Microsoft.Authorization/policyAssignments", "policyAssignments", "global", ""),
    ("/providers/Microsoft.Authorization/policyDefinitions",
     "Microsoft.Authorization/policyDefinitions", "policyDefinitions", "global", ""),
    ("~/providers/Microsoft.Insights/eventtypes/management/values",
     "Microsoft.Insights/eventtypes", "eventtypes/values", "global", ""),
    ("~/providers/Microsoft.Network/virtualNetworks", "Microsoft.Network", "virtualNetworks",
     "eastus", "eastus"),
    # a child type is named with its parent's, and answers its namespace's versions
    ("~" + RG + "/providers/Microsoft.Network/virtualNetworks/vnet-app/subnets",
     "Microsoft.Network", "virtualNetworks/subnets", "eastus", "eastus"),
    ("~" + RG + "/providers/Microsoft.Network/privateDnsZones", "Microsoft.Network/privateDnsZones",
     "privateDnsZones", "eastus", ""),
    ("~/providers/Microsoft.Compute/virtualMachineScaleSets", "Microsoft.Compute",
     "virtualMachineScaleSets", "eastus", "eastus"),
]


def _path(sim: Sim, path: str) -> str:
    return path.replace("~", f"/subscriptions/{sim.subscription}", 1)


def _error(sim: Sim, path: str, version: str) -> dict[str, Any]:
    reply = sim.arm_request("GET", _path(sim, path), api_version=version)
    assert reply.status_code == 400, reply.text
    return dict(reply.json()["error"])


@pytest.mark.parametrize("path", ARM_OWN)
def test_arm_refuses_an_unsupported_version_of_its_own_endpoints(sim: Sim, path: str) -> None:
    # given ARM's own endpoints (Microsoft.Resources), when a made-up api-version is sent
    err = _error(sim, path, BAD)
    # then ARM's InvalidApiVersionParameter lists its versions newest first, as ARM prints them
    assert err["code"] == "InvalidApiVersionParameter"
    assert err["message"] == (f"The api-version '{BAD}' is invalid. The supported versions are "
                              f"'{','.join(DATA['Microsoft.Resources'])}'.")
    assert err["message"].startswith(f"The api-version '{BAD}' is invalid. The supported "
                                     "versions are '2025-04-01,2024-11-01,2024-08-01,")
    assert err["message"].endswith(",2014-01-01,2013-03-01,2014-02-26,2014-04'.")


@pytest.mark.parametrize(("path", "key", "rtype", "location", "locations"), PROVIDERS,
                         ids=[p[2].replace("/", "-") for p in PROVIDERS])
def test_a_provider_refuses_an_unsupported_version_per_resource_type(
        sim: Sim, path: str, key: str, rtype: str, location: str, locations: str) -> None:
    # given a resource provider's endpoint, when a made-up api-version is sent
    err = _error(sim, path, BAD)
    # then NoRegisteredProviderFound names the type and lists its versions oldest first
    listed = ", ".join(sorted(DATA[key]))
    assert err["code"] == "NoRegisteredProviderFound"
    assert err["message"] == (
        f"No registered resource provider found for location '{location}' and API version "
        f"'{BAD}' for type '{rtype}'. The supported api-versions are '{listed}'. The supported "
        f"locations are '{locations}'.")


@pytest.mark.parametrize(("path", "version"), [
    # versions real ARM refused in public reports
    ("~" + RG + "/providers/Microsoft.ContainerService/managedClusters/aks-app",
     "2022-01-02-preview"),
    ("~/providers/Microsoft.Compute/virtualMachineScaleSets", "2018-06-30"),
    ("~" + RG + "/providers/Microsoft.Network/privateDnsZones", "2023-11-01"),
    # a real version of another provider is not this one's
    ("~/providers/Microsoft.Insights/eventtypes/management/values", "2022-04-01"),
    ("~" + REGISTRY + "/providers/Microsoft.Authorization/roleAssignments", "2024-03-01"),
    ("~/resourcegroups", "2026-08-01"),
    # nor is a string that only looks like one
    ("~/providers/Microsoft.Network/virtualNetworks", "2024-03-01 "),
    ("~/providers/Microsoft.Network/virtualNetworks", "latest"),
])
def test_versions_the_provider_never_shipped_are_refused(sim: Sim, path: str, version: str) -> None:
    err = _error(sim, path, version)
    assert err["code"] in ("NoRegisteredProviderFound", "InvalidApiVersionParameter")
    assert f"'{version}'" in err["message"]


def test_an_unknown_provider_namespace_gets_no_registered_provider_found(sim: Sim) -> None:
    err = _error(sim, "~/providers/Microsoft.Contoso/locations/eastus/operations/1", "2024-03-01")
    assert err == {
        "code": "NoRegisteredProviderFound",
        "message": "No registered resource provider found for location 'global' and API version "
                   "'2024-03-01' for type 'locations/operations'. The supported api-versions "
                   "are ''. The supported locations are ''."}


def test_the_versions_az_cli_and_the_sdks_send_are_answered(sim: Sim) -> None:
    # az CLI 2.91's defaults (profile and vendored SDKs) on the endpoints pullfix's az use hits
    for path, version in [
        ("~" + RG, "2024-11-01"), ("/subscriptions", "2022-12-01"),
        ("~" + RG + "/providers/Microsoft.ContainerService/managedClusters/aks-app", "2026-06-01"),
        ("~" + REGISTRY, "2026-09-01-preview"),
        ("~" + REGISTRY + "/providers/Microsoft.Authorization/roleAssignments", "2022-04-01"),
        ("~/providers/Microsoft.Compute/virtualMachineScaleSets", "2024-11-01"),
        ("~/providers/Microsoft.Network/virtualNetworks", "2023-11-01"),
        ("~/providers/Microsoft.Authorization/policyAssignments", "2021-06-01"),
    ]:
        reply = sim.arm_request("GET", _path(sim, path), api_version=version)
        assert reply.status_code == 200, (path, version, reply.text)


def test_the_real_sdk_clients_default_versions_are_answered(sim: Sim) -> None:
    # given the real SDK clients pullfix uses, with their default api-versions
    sent: list[str] = []

    def record(response: Any) -> None:
        sent.append(response.http_request.url)

    clients, sub = sim.clients(), sim.subscription
    since = (dt.datetime.now(dt.UTC) - dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    hook = {"raw_response_hook": record}
    # when each makes a call on every provider the twin serves, then each is answered
    list(clients.arm(SubscriptionClient).subscriptions.list(**hook))
    clients.arm(ResourceManagementClient, sub).resource_groups.get("rg-app", **hook)
    list(clients.arm(ResourceManagementClient, sub).resources.list_by_resource_group(
        "rg-app", **hook))
    auth = clients.arm(AuthorizationManagementClient, sub)
    scope = f"/subscriptions/{sub}{REGISTRY}"
    list(auth.role_assignments.list_for_scope(scope, **hook))
    list(auth.role_definitions.list(scope, **hook))
    list(auth.permissions.list_for_resource_group("rg-app", **hook))
    policy = clients.arm(PolicyClient, sub)
    list(policy.policy_assignments.list_for_resource_group("rg-app", **hook))
    list(policy.policy_definitions.list_built_in(**hook))
    list(clients.arm(MonitorManagementClient, sub).activity_logs.list(
        filter=f"eventTimestamp ge '{since}'", **hook))
    list(clients.arm(NetworkManagementClient, sub).virtual_networks.list_all(**hook))
    list(clients.arm(PrivateDnsManagementClient, sub).private_zones.list_by_resource_group(
        "rg-app", **hook))
    list(clients.arm(ComputeManagementClient, sub).virtual_machine_scale_sets.list_all(**hook))
    clients.arm(ContainerRegistryManagementClient, sub).registries.get("rg-app", "contosoapp",
                                                                       **hook)
    clients.arm(ContainerServiceClient, sub).managed_clusters.get("rg-app", "aks-app", **hook)
    versions = {url.split("api-version=")[1].split("&")[0] for url in sent}
    # the defaults the installed SDKs send (a new SDK default must be added to the data file)
    assert versions >= {"2022-12-01", "2025-04-01", "2022-04-01", "2015-04-01", "2026-03-01",
                        "2024-06-01", "2026-04-01", "2025-11-01", "2026-08-01"}, versions
