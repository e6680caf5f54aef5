"""Private endpoint connections of a registry and its private link resource.

A connection appears when a private endpoint in Microsoft.Network targets the registry's
``registry`` group: the network provider calls :func:`add_connection`. The registry owner then
approves, rejects or deletes it through ``privateEndpointConnections``.
"""

from __future__ import annotations

from typing import Any

from simulator.containerregistry.models import PEC_TYPE, REGISTRY_TYPE
from simulator.core import errors
from simulator.core.world import World

STATUSES = ("Approved", "Pending", "Rejected", "Disconnected")


def connection_id(registry_id: str, name: str) -> str:
    return f"{registry_id}/privateEndpointConnections/{name}"


def add_connection(
    world: World, registry_id: str, *, private_endpoint_id: str, name: str | None = None,
    status: str = "Approved", description: str = "Auto-Approved",
) -> dict[str, Any]:
    registry = world.must_get(registry_id)
    if registry["sku"]["name"] != "Premium":
        raise errors.bad_request(
            "PrivateEndpointsNotSupported",
            f"Private endpoints are not supported for the SKU {registry['sku']['name']}. For "
            "more information, please visit https://aka.ms/acr/private-link.")
    name = name or private_endpoint_id.rstrip("/").rsplit("/", 1)[-1]
    return world.put({
        "id": connection_id(registry["id"], name), "name": name, "type": PEC_TYPE,
        "properties": {
            "provisioningState": "Succeeded",
            "privateEndpoint": {"id": private_endpoint_id},
            "privateLinkServiceConnectionState": {
                "status": status, "description": description,
                "actionsRequired": "None"},
        },
    })


def set_state(doc: dict[str, Any], state: dict[str, Any]) -> None:
    status = state.get("status")
    if status is not None and status not in STATUSES:
        raise errors.bad_request(
            "InvalidPrivateLinkServiceConnectionStatus",
            f"The private link service connection status '{status}' is not valid; expected "
            f"one of {', '.join(STATUSES)}.")
    current = doc["properties"]["privateLinkServiceConnectionState"]
    for k in ("status", "description", "actionsRequired"):
        if state.get(k) is not None:
            current[k] = state[k]


def private_link_resources(registry: dict[str, Any], suffix: str) -> list[dict[str, Any]]:
    return [{
        "id": f"{registry['id']}/privateLinkResources/registry",
        "name": "registry",
        "type": REGISTRY_TYPE + "/privateLinkResources",
        "properties": {
            "groupId": "registry",
            "requiredMembers": ["registry", f"registry_data_{registry['location'].lower()}"],
            "requiredZoneNames": [f"privatelink.{suffix}"],
        },
    }]
