"""Microsoft.ContainerRegistry management plane: registries, admin credentials, private
endpoint connections, as the real ContainerRegistryManagementClient sees them."""

from __future__ import annotations

from pathlib import Path

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.mgmt.containerregistry import ContainerRegistryManagementClient
from azure.mgmt.containerregistry.models import (
    IPRule,
    NetworkRuleSet,
    PrivateEndpointConnection,
    PrivateEndpointConnectionProperties,
    PrivateLinkServiceConnectionState,
    RegenerateCredentialParameters,
    Registry,
    RegistryPropertiesUpdateParameters,
    RegistryUpdateParameters,
    Sku,
)
from azure.mgmt.monitor import MonitorManagementClient

from simulator.scenario import stable_uuid
from tests.parity import example, example_response, shape_diff
from tests.simharness import Sim

WORLD = str(Path(__file__).parent / "worlds" / "acr-registries.yaml")
pytestmark = pytest.mark.scenario(WORLD)
RG = "rg-acr"
# tag names are the user's own data, not part of the shape
TAGS = ("*.tags.*",)
REGISTRY_GET_2025 = ("azure-rest-api-specs/specification/containerregistry/resource-manager/"
                     "Microsoft.ContainerRegistry/Registry/stable/2025-11-01/examples/"
                     "RegistryGet.json")


def acr(sim: Sim, client_id: str | None = None, secret: str | None = None
        ) -> ContainerRegistryManagementClient:
    return sim.clients(client_id, secret).arm(ContainerRegistryManagementClient, sim.subscription)


def raw(sim: Sim, method: str, path: str, **kw):  # noqa: ANN201 - requests.Response
    return sim.arm_request(method, f"/subscriptions/{sim.subscription}/resourceGroups/{path}",
                           api_version="2025-11-01", **kw)


def error_code(err: HttpResponseError) -> str:
    return err.error.code if err.error else ""


# -- reads -------------------------------------------------------------------------------------
def test_get_registry_renders_network_rules_endpoints_and_connections(sim: Sim) -> None:
    reg = acr(sim).registries.get(RG, "acrprod")
    assert reg.login_server == "acrprod.azurecr.io"
    assert reg.sku.name == "Premium" and reg.admin_user_enabled is True
    assert reg.network_rule_set.default_action == "Deny"
    assert [r.ip_address_or_range for r in reg.network_rule_set.ip_rules] == [
        "203.0.113.10", "198.51.100.0/24"]
    assert reg.data_endpoint_host_names == ["acrprod.westeurope.data.azurecr.io"]
    assert reg.role_assignment_mode == "AbacRepositoryPermissions"
    assert [c.name for c in reg.private_endpoint_connections] == ["pe-acrprod"]
    assert reg.tags == {"team": "platform"}


def test_admin_passwords_appear_in_no_rendered_field(sim: Sim) -> None:
    for resp in (raw(sim, "GET", f"{RG}/providers/Microsoft.ContainerRegistry/registries/acrprod"),
                 sim.arm_request("GET", f"/subscriptions/{sim.subscription}/providers/"
                                 "Microsoft.ContainerRegistry/registries")):
        assert resp.status_code == 200
        assert "fixed-admin-password-0001" not in resp.text
        assert "_adminPasswords" not in resp.text


def test_list_by_subscription_and_by_resource_group(sim: Sim) -> None:
    client = acr(sim)
    assert sorted(r.name for r in client.registries.list()) == [
        "acrlocked", "acrmodified", "acrnoadmin", "acrprod"]
    assert sorted(r.name for r in client.registries.list_by_resource_group(RG)) == [
        "acrnoadmin", "acrprod"]


def test_get_missing_registry_is_resource_not_found(sim: Sim) -> None:
    with pytest.raises(ResourceNotFoundError) as err:
        acr(sim).registries.get(RG, "nosuchacr")
    assert error_code(err.value) == "ResourceNotFound"


# -- create / update / delete ----------------------------------------------------------------
def test_create_is_a_long_running_operation(sim: Sim) -> None:
    # when a registry is created with a raw PUT, ARM answers 201 with Azure-AsyncOperation
    resp = raw(sim, "PUT", f"{RG}/providers/Microsoft.ContainerRegistry/registries/acrnew1",
               json={"location": "westeurope", "sku": {"name": "Basic"}})
    assert resp.status_code == 201
    assert "Azure-AsyncOperation" in resp.headers
    assert resp.json()["properties"]["provisioningState"] == "Creating"
    # and the SDK poller completes the next one
    poller = acr(sim).registries.begin_create(
        RG, "acrnew2", Registry(location="westeurope", sku=Sku(name="Standard"),
                                tags={"env": "test"}))
    reg = poller.result()
    assert reg.provisioning_state == "Succeeded"
    assert reg.login_server == "acrnew2.azurecr.io" and reg.admin_user_enabled is False
    assert reg.role_assignment_mode == "LegacyRegistryPermissions"


def test_create_with_a_name_taken_anywhere_is_already_in_use(sim: Sim) -> None:
    with pytest.raises(HttpResponseError) as err:
        acr(sim).registries.begin_create(
            "rg-locked", "acrprod", Registry(location="westeurope", sku=Sku(name="Basic")))
    assert error_code(err.value) == "AlreadyInUse"


def test_update_changes_every_network_and_auth_setting(sim: Sim) -> None:
    client = acr(sim)
    reg = client.registries.begin_update(RG, "acrprod", RegistryUpdateParameters(
        tags={"team": "sre"},
        properties=RegistryPropertiesUpdateParameters(
            admin_user_enabled=False, public_network_access="Disabled",
            network_rule_set=NetworkRuleSet(default_action="Allow", ip_rules=[
                IPRule(ip_address_or_range="192.0.2.0/24")]),
            anonymous_pull_enabled=True, role_assignment_mode="LegacyRegistryPermissions"),
    )).result()
    assert reg.provisioning_state == "Succeeded"
    again = client.registries.get(RG, "acrprod")
    assert again.admin_user_enabled is False and again.public_network_access == "Disabled"
    assert again.network_rule_set.default_action == "Allow"
    assert [r.ip_address_or_range for r in again.network_rule_set.ip_rules] == ["192.0.2.0/24"]
    assert again.anonymous_pull_enabled is True
    assert again.role_assignment_mode == "LegacyRegistryPermissions"
    assert again.tags == {"team": "sre"}


def test_update_answers_201_with_azure_async_operation(sim: Sim) -> None:
    resp = raw(sim, "PATCH", f"{RG}/providers/Microsoft.ContainerRegistry/registries/acrprod",
               json={"properties": {"adminUserEnabled": True}})
    assert resp.status_code == 201 and "Azure-AsyncOperation" in resp.headers
    assert resp.json()["properties"]["provisioningState"] == "Updating"


@pytest.mark.parametrize(("change", "code"), [
    ({"network_rule_set": NetworkRuleSet(default_action="Deny")}, "NetworkRuleNotSupported"),
    ({"public_network_access": "Disabled"}, "DisablingPublicNetworkAccessNotSupported"),
])
def test_premium_only_network_features_fail_on_standard(sim: Sim, change: dict, code: str) -> None:
    with pytest.raises(HttpResponseError) as err:
        acr(sim).registries.begin_update(RG, "acrnoadmin", RegistryUpdateParameters(
            properties=RegistryPropertiesUpdateParameters(**change)))
    assert err.value.status_code == 400
    assert error_code(err.value) == code


def test_delete_is_long_running_and_removes_the_registry(sim: Sim) -> None:
    client = acr(sim)
    client.registries.begin_delete(RG, "acrnoadmin").result()
    with pytest.raises(ResourceNotFoundError):
        client.registries.get(RG, "acrnoadmin")


def test_reader_cannot_patch_a_registry(sim: Sim) -> None:
    # given an application holding only Reader on the subscription
    reader = acr(sim, stable_uuid("app", "acr-reader"), "reader-secret-value-0001")
    assert reader.registries.get(RG, "acrprod").name == "acrprod"
    # when it tries to change the registry, ARM refuses before the provider sees it
    with pytest.raises(HttpResponseError) as err:
        reader.registries.begin_update(RG, "acrprod", RegistryUpdateParameters(
            properties=RegistryPropertiesUpdateParameters(admin_user_enabled=False)))
    assert err.value.status_code == 403
    assert error_code(err.value) == "AuthorizationFailed"
    assert "Microsoft.ContainerRegistry/registries/write" in str(err.value)


def test_reader_cannot_list_credentials(sim: Sim) -> None:
    reader = acr(sim, stable_uuid("app", "acr-reader"), "reader-secret-value-0001")
    with pytest.raises(HttpResponseError) as err:
        reader.registries.list_credentials(RG, "acrprod")
    assert error_code(err.value) == "AuthorizationFailed"


# -- admin credentials ---------------------------------------------------------------------
def test_list_credentials_returns_the_admin_user_and_both_passwords(sim: Sim) -> None:
    creds = acr(sim).registries.list_credentials(RG, "acrprod")
    assert creds.username == "acrprod"
    assert [p.name for p in creds.passwords] == ["password", "password2"]
    assert creds.passwords[0].value == "fixed-admin-password-0001"
    assert len(creds.passwords[1].value) == 52


def test_list_credentials_with_admin_disabled_is_refused(sim: Sim) -> None:
    with pytest.raises(HttpResponseError) as err:
        acr(sim).registries.list_credentials(RG, "acrnoadmin")
    assert err.value.status_code == 400
    assert error_code(err.value) == "UnAuthorizedForCredentialOperations"
    assert "as admin user is disabled" in str(err.value)


def test_regenerate_credential_replaces_one_password_and_is_logged(sim: Sim) -> None:
    clients = sim.clients()
    client = clients.arm(ContainerRegistryManagementClient, sim.subscription)
    before = {p.name: p.value for p in client.registries.list_credentials(RG, "acrprod").passwords}
    # when password (not password2) is regenerated
    out = client.registries.regenerate_credential(
        RG, "acrprod", RegenerateCredentialParameters(name="password"))
    after = {p.name: p.value for p in out.passwords}
    # then only that password changed, and the old one is gone for good
    assert after["password"] != before["password"]
    assert after["password2"] == before["password2"]
    listed = {p.name: p.value for p in client.registries.list_credentials(RG, "acrprod").passwords}
    assert listed == after
    # and the activity log names the action and the caller
    rid = client.registries.get(RG, "acrprod").id
    monitor = clients.arm(MonitorManagementClient, sim.subscription)
    events = list(monitor.activity_logs.list(
        filter=f"eventTimestamp ge '{_hours_ago(1)}' and resourceUri eq '{rid}'"))
    regen = [e for e in events if e.operation_name.value ==
             "Microsoft.ContainerRegistry/registries/regenerateCredential/action"]
    assert len(regen) == 1
    assert regen[0].caller == sim.conn["service_principal"]["object_id"]
    assert regen[0].claims["appid"] == sim.conn["service_principal"]["client_id"]
    assert regen[0].status.value == "Succeeded"
    assert regen[0].resource_id.lower() == rid.lower()


def _hours_ago(hours: float) -> str:
    import datetime as dt

    return (dt.datetime.now(dt.UTC) - dt.timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- private link ------------------------------------------------------------------------------
def test_private_link_resources_name_the_registry_group(sim: Sim) -> None:
    [res] = list(acr(sim).registries.list_private_link_resources(RG, "acrprod"))
    assert res.name == "registry" and res.properties.group_id == "registry"
    assert res.properties.required_members == ["registry", "registry_data_westeurope"]
    assert res.properties.required_zone_names == ["privatelink.azurecr.io"]


def test_private_endpoint_connection_reject_then_delete(sim: Sim) -> None:
    client = acr(sim)
    pecs = client.private_endpoint_connections
    assert [c.name for c in pecs.list(RG, "acrprod")] == ["pe-acrprod"]
    conn = pecs.get(RG, "acrprod", "pe-acrprod")
    assert conn.private_link_service_connection_state.status == "Approved"
    assert conn.private_endpoint.id.endswith("/privateEndpoints/pe-acrprod")
    # when the owner rejects it (a long-running PUT)
    done = pecs.begin_create_or_update(RG, "acrprod", "pe-acrprod", PrivateEndpointConnection(
        properties=PrivateEndpointConnectionProperties(
            private_link_service_connection_state=PrivateLinkServiceConnectionState(
                status="Rejected", description="not ours")))).result()
    assert done.provisioning_state == "Succeeded"
    assert done.private_link_service_connection_state.status == "Rejected"
    # and then deletes it (a long-running DELETE)
    pecs.begin_delete(RG, "acrprod", "pe-acrprod").result()
    with pytest.raises(ResourceNotFoundError):
        pecs.get(RG, "acrprod", "pe-acrprod")
    assert client.registries.get(RG, "acrprod").private_endpoint_connections == []


def test_private_endpoint_connection_missing_is_not_found(sim: Sim) -> None:
    with pytest.raises(ResourceNotFoundError) as err:
        acr(sim).private_endpoint_connections.get(RG, "acrprod", "nope")
    assert error_code(err.value) == "ResourceNotFound"


# -- parity with the official examples -----------------------------------------------------
def _get_json(sim: Sim, path: str, method: str = "GET", **kw) -> dict:
    resp = raw(sim, method, f"{RG}/providers/Microsoft.ContainerRegistry/registries/{path}", **kw)
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_parity_registries_get_2025_11_01(sim: Sim) -> None:
    expected = example(REGISTRY_GET_2025)["responses"]["200"]["body"]
    assert shape_diff(expected, _get_json(sim, "acrprod"), ignore=TAGS) == []


def test_parity_registries_get_and_list_2023_07_01(sim: Sim) -> None:
    assert shape_diff(example_response("Registries_Get"), _get_json(sim, "acrprod"),
                      ignore=TAGS) == []
    resp = sim.arm_request("GET", f"/subscriptions/{sim.subscription}/providers/"
                           "Microsoft.ContainerRegistry/registries", api_version="2023-07-01")
    assert shape_diff(example_response("Registries_List"), resp.json(), ignore=TAGS) == []


def test_parity_credentials(sim: Sim) -> None:
    listed = _get_json(sim, "acrprod/listCredentials", "POST")
    assert shape_diff(example_response("Registries_ListCredentials"), listed) == []
    regenerated = _get_json(sim, "acrprod/regenerateCredential", "POST",
                            json={"name": "password2"})
    assert shape_diff(example_response("Registries_RegenerateCredential"), regenerated) == []


def test_parity_private_endpoint_connection_get(sim: Sim) -> None:
    got = _get_json(sim, "acrprod/privateEndpointConnections/pe-acrprod")
    assert shape_diff(example_response("PrivateEndpointConnections_Get"), got) == []
