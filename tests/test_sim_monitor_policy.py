"""Activity log (Microsoft.Insights) and Azure Policy (Microsoft.Authorization) as the real
MonitorManagementClient and PolicyClient see them, and policy enforcement on registry writes."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from azure.core.exceptions import HttpResponseError
from azure.mgmt.containerregistry import ContainerRegistryManagementClient
from azure.mgmt.containerregistry.models import (
    RegistryPropertiesUpdateParameters,
    RegistryUpdateParameters,
)
from azure.mgmt.monitor import MonitorManagementClient
from azure.mgmt.resource.policy import PolicyClient

from tests.parity import example_response, shape_diff
from tests.simharness import Sim

WORLD = str(Path(__file__).parent / "worlds" / "acr-registries.yaml")
pytestmark = pytest.mark.scenario(WORLD)
ACR_WRITE = "Microsoft.ContainerRegistry/registries/write"
NETWORK_POLICY = "0fdf0491-d080-4575-b627-ad0e843cba0f"


def ago(days: float = 0, hours: float = 0) -> str:
    t = dt.datetime.now(dt.UTC) - dt.timedelta(days=days, hours=hours)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def monitor(sim: Sim) -> MonitorManagementClient:
    return sim.clients().arm(MonitorManagementClient, sim.subscription)


def policy(sim: Sim) -> PolicyClient:
    return sim.clients().arm(PolicyClient, sim.subscription)


def acr(sim: Sim) -> ContainerRegistryManagementClient:
    return sim.clients().arm(ContainerRegistryManagementClient, sim.subscription)


def registry_id(sim: Sim, group: str, name: str) -> str:
    return (f"/subscriptions/{sim.subscription}/resourceGroups/{group}/providers/"
            f"Microsoft.ContainerRegistry/registries/{name}")


# -- activity log ------------------------------------------------------------------------------
def test_seeded_history_within_retention_is_listed(sim: Sim) -> None:
    events = list(monitor(sim).activity_logs.list(
        filter=f"eventTimestamp ge '{ago(days=30)}' and eventTimestamp le '{ago()}'"))
    # the -10d write is there; the -100d one is past the 90-day retention
    writes = [e for e in events if e.operation_name.value == ACR_WRITE]
    assert [e.resource_id.rsplit("/", 1)[-1] for e in writes] == ["acrprod"]
    assert writes[0].caller == sim.conn["service_principal"]["object_id"]
    assert writes[0].event_timestamp < dt.datetime.now(dt.UTC) - dt.timedelta(days=9)


def test_filters_by_resource_group_provider_and_correlation(sim: Sim) -> None:
    client = monitor(sim)
    since = f"eventTimestamp ge '{ago(days=30)}'"
    assert len(list(client.activity_logs.list(filter=f"{since} and resourceGroupName eq 'rg-acr'"))) == 1
    assert list(client.activity_logs.list(filter=f"{since} and resourceGroupName eq 'rg-locked'")) == []
    [ev] = client.activity_logs.list(
        filter=f"{since} and resourceProvider eq 'Microsoft.ContainerRegistry'")
    [same] = client.activity_logs.list(filter=f"{since} and correlationId eq '{ev.correlation_id}'")
    assert same.event_data_id == ev.event_data_id


def test_writes_are_logged_newest_first(sim: Sim) -> None:
    # when the operator changes a registry
    acr(sim).registries.begin_update("rg-acr", "acrprod", RegistryUpdateParameters(
        tags={"touched": "yes"})).result()
    rid = registry_id(sim, "rg-acr", "acrprod")
    events = list(monitor(sim).activity_logs.list(
        filter=f"eventTimestamp ge '{ago(days=30)}' and resourceUri eq '{rid}'"))
    # then its write is the newest event for that resource, ahead of the seeded one
    assert [e.operation_name.value for e in events] == [ACR_WRITE, ACR_WRITE]
    assert events[0].event_timestamp > events[1].event_timestamp
    assert events[0].http_request.method == "PATCH"


def test_select_returns_only_the_named_fields(sim: Sim) -> None:
    resp = sim.arm_request(
        "GET", f"/subscriptions/{sim.subscription}/providers/Microsoft.Insights/eventtypes/"
        "management/values", api_version="2015-04-01",
        params={"$filter": f"eventTimestamp ge '{ago(days=30)}'",
                "$select": "operationName,eventTimestamp"})
    assert resp.status_code == 200
    assert [sorted(e) for e in resp.json()["value"]] == [["eventTimestamp", "operationName"]]


@pytest.mark.parametrize("flt", [
    "",  # no filter at all
    "resourceGroupName eq 'rg-acr'",  # no start time
    "eventTimestamp ge '2026-01-01T00:00:00Z' or resourceGroupName eq 'rg-acr'",  # not 'and'
    "eventTimestamp ge '2026-01-01T00:00:00Z' and status eq 'Succeeded'",  # unsupported field
])
def test_filter_outside_the_grammar_is_bad_request(sim: Sim, flt: str) -> None:
    with pytest.raises(HttpResponseError) as err:
        list(monitor(sim).activity_logs.list(filter=flt))
    assert err.value.status_code == 400
    assert err.value.error.code == "BadRequest"


def test_start_older_than_retention_is_bad_request(sim: Sim) -> None:
    with pytest.raises(HttpResponseError) as err:
        list(monitor(sim).activity_logs.list(filter=f"eventTimestamp ge '{ago(days=95)}'"))
    assert err.value.status_code == 400
    assert "90 days" in err.value.error.message


def test_parity_activity_logs_list(sim: Sim) -> None:
    # given an event from a live request (seeded history carries no token claims)
    acr(sim).registries.begin_update("rg-acr", "acrprod", RegistryUpdateParameters(
        tags={"touched": "yes"})).result()
    rid = registry_id(sim, "rg-acr", "acrprod")
    resp = sim.arm_request(
        "GET", f"/subscriptions/{sim.subscription}/providers/Microsoft.Insights/eventtypes/"
        "management/values", api_version="2015-04-01",
        params={"$filter": f"eventTimestamp ge '{ago(hours=1)}' and resourceUri eq '{rid}'"})
    assert len(resp.json()["value"]) == 1
    ignore = (
        "$.nextLink",  # one page: Azure omits nextLink when nothing follows
        # the seeded caller is a service principal; user-only claims do not exist for it
        "*.claims.puid", "*.claims.name", "*.claims.groups", "*.claims.*givenname",
        "*.claims.*surname", "*.claims.*/upn", "*.claims.*/claims/name",
        "*.claims.*authnmethodsreferences", "*.claims.*authnclassreference", "*.claims.*scope",
    )
    assert shape_diff(example_response("ActivityLogs_List"), resp.json(), ignore=ignore) == []


# -- policy assignments and definitions ------------------------------------------------------
def test_assignments_for_subscription_group_and_resource(sim: Sim) -> None:
    assignments = policy(sim).policy_assignments
    at_sub = sorted(a.name for a in assignments.list())
    assert at_sub == ["audit-acr-admin", "configure-acr-private", "custom-no-anonymous",
                      "deny-public-acr"]
    assert sorted(a.name for a in assignments.list(filter="atScope()")) == ["audit-acr-admin"]
    assert sorted(a.name for a in assignments.list_for_resource_group("rg-locked")) == [
        "audit-acr-admin", "deny-public-acr"]
    on_registry = assignments.list_for_resource(
        "rg-acr", "Microsoft.ContainerRegistry", "", "registries", "acrprod")
    assert sorted(a.name for a in on_registry) == ["audit-acr-admin", "custom-no-anonymous"]


def test_get_assignment_and_its_builtin_definition(sim: Sim) -> None:
    client = policy(sim)
    scope = f"/subscriptions/{sim.subscription}/resourceGroups/rg-locked"
    a = client.policy_assignments.get(scope, "deny-public-acr")
    assert a.properties.policy_definition_id == (
        f"/providers/Microsoft.Authorization/policyDefinitions/{NETWORK_POLICY}")
    assert a.properties.parameters["effect"].value == "Deny"
    assert a.properties.enforcement_mode == "Default"
    d = client.policy_definitions.get_built_in(NETWORK_POLICY)
    assert d.properties.display_name == "Container registries should disable public network access"
    assert d.properties.policy_type == "BuiltIn"
    assert d.properties.policy_rule["then"]["effect"] == "[parameters('effect')]"
    assert d.properties.parameters["effect"].allowed_values == ["Audit", "Deny", "Disabled"]


def test_custom_definition_is_readable_in_its_subscription(sim: Sim) -> None:
    client = policy(sim)
    a = client.policy_assignments.get(registry_id(sim, "rg-acr", "acrprod"), "custom-no-anonymous")
    assert a.properties.enforcement_mode == "DoNotEnforce"
    name = a.properties.policy_definition_id.rsplit("/", 1)[-1]
    d = client.policy_definitions.get(name)
    assert d.properties.policy_type == "Custom"
    assert d.properties.policy_rule["then"]["effect"] == "Deny"


def test_missing_assignment_is_not_found(sim: Sim) -> None:
    with pytest.raises(HttpResponseError) as err:
        policy(sim).policy_assignments.get(f"/subscriptions/{sim.subscription}", "nope")
    assert err.value.status_code == 404
    assert err.value.error.code == "PolicyAssignmentNotFound"


# -- enforcement on writes -------------------------------------------------------------------
def test_deny_policy_refuses_enabling_public_access(sim: Sim) -> None:
    with pytest.raises(HttpResponseError) as err:
        acr(sim).registries.begin_update("rg-locked", "acrlocked", RegistryUpdateParameters(
            properties=RegistryPropertiesUpdateParameters(public_network_access="Enabled")))
    assert err.value.status_code == 403
    assert err.value.error.code == "RequestDisallowedByPolicy"
    assert acr(sim).registries.get("rg-locked", "acrlocked").public_network_access == "Disabled"
    # and the refusal is in the activity log as a Policy event
    rid = registry_id(sim, "rg-locked", "acrlocked")
    events = list(monitor(sim).activity_logs.list(
        filter=f"eventTimestamp ge '{ago(hours=1)}' and resourceUri eq '{rid}'"))
    assert [(e.operation_name.value, e.status.value) for e in events] == [
        ("Microsoft.Authorization/policies/deny/action", "Failed")]


def test_do_not_enforce_assignment_does_not_block(sim: Sim) -> None:
    reg = acr(sim).registries.begin_update("rg-acr", "acrprod", RegistryUpdateParameters(
        properties=RegistryPropertiesUpdateParameters(anonymous_pull_enabled=True))).result()
    assert reg.anonymous_pull_enabled is True


def test_modify_policy_rewrites_the_request(sim: Sim) -> None:
    # given "Configure Container registries to disable public network access" on rg-modify
    reg = acr(sim).registries.begin_update("rg-modify", "acrmodified", RegistryUpdateParameters(
        properties=RegistryPropertiesUpdateParameters(public_network_access="Enabled"))).result()
    # then the stored registry has public access disabled all the same
    assert reg.public_network_access == "Disabled"
