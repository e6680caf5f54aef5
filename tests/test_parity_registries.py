"""Registry management operations compared with their official x-ms-examples: create, update,
list by resource group, private link resources and private endpoint connections."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.parity import example_for, operations
from tests.simharness import Sim
from tests.test_parity_gaps import call, diff, finished, get

WORLDS = Path(__file__).parent / "worlds"
pytestmark = pytest.mark.scenario(str(WORLDS / "acr-registries.yaml"))
REG = "providers/Microsoft.ContainerRegistry/registries"
# example tag keys are data, not shape; the example lists have one page
IGNORE = ("$.tags.*", "$.value[].tags.*", "$.nextLink")


def _rg(sim: Sim) -> str:
    return f"/subscriptions/{sim.subscription}/resourceGroups/rg-acr"


def test_registries_create_and_update(sim: Sim) -> None:
    body = example_for("Registries_Create")["parameters"]["registry"]
    created = call(sim, "Registries_Create", "PUT", f"{_rg(sim)}/{REG}/acrparity", json=body)
    assert created.status_code in (200, 201)
    assert diff("Registries_Create", created, ignore=IGNORE) == []
    finished(sim, created)
    final = get(sim, "Registries_Create", f"{_rg(sim)}/{REG}/acrparity")
    assert diff("Registries_Create", final, "200", ignore=IGNORE) == []
    assert final.json()["properties"]["adminUserEnabled"] is True

    patch = example_for("Registries_Update")["parameters"]["registryUpdateParameters"]
    updated = call(sim, "Registries_Update", "PATCH", f"{_rg(sim)}/{REG}/acrparity", json=patch)
    assert diff("Registries_Update", updated, ignore=IGNORE) == []
    finished(sim, updated)
    assert get(sim, "Registries_Update", f"{_rg(sim)}/{REG}/acrparity").json()["tags"] == {
        "key": "value"}


def test_registries_list_by_resource_group(sim: Sim) -> None:
    listed = call(sim, "Registries_ListByResourceGroup", "GET", f"{_rg(sim)}/{REG}")
    assert {r["name"] for r in listed.json()["value"]} >= {"acrprod", "acrnoadmin"}
    assert diff("Registries_ListByResourceGroup", listed, ignore=IGNORE) == []


def test_private_link_resources(sim: Sim) -> None:
    op = "Registries_ListPrivateLinkResources"
    resp = call(sim, op, operations()[op]["method"], f"{_rg(sim)}/{REG}/acrprod/privateLinkResources")
    assert diff("Registries_ListPrivateLinkResources", resp, ignore=IGNORE) == []
    assert resp.json()["value"][0]["properties"]["groupId"] == "registry"


def test_private_endpoint_connections_list_update_delete(sim: Sim) -> None:
    base = f"{_rg(sim)}/{REG}/acrprod/privateEndpointConnections"
    listed = call(sim, "PrivateEndpointConnections_List", "GET", base)
    assert diff("PrivateEndpointConnections_List", listed, ignore=IGNORE) == []
    name = listed.json()["value"][0]["name"]
    body = example_for("PrivateEndpointConnections_CreateOrUpdate")["parameters"][
        "privateEndpointConnection"]
    updated = call(sim, "PrivateEndpointConnections_CreateOrUpdate", "PUT", f"{base}/{name}",
                   json=body)
    assert diff("PrivateEndpointConnections_CreateOrUpdate", updated, ignore=IGNORE) == []
    finished(sim, updated)
    deleted = call(sim, "PrivateEndpointConnections_Delete", "DELETE", f"{base}/{name}")
    assert diff("PrivateEndpointConnections_Delete", deleted, ignore=IGNORE) == []
    finished(sim, deleted)
    assert sim.arm_request("GET", f"{base}/{name}").status_code == 404
