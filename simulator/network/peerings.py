"""VNet peerings and Azure's peering state machine.

- Creating one side: that side is ``Initiated``.
- Creating the matching remote side (remote VNet peered back to this VNet): both sides
  become ``Connected`` and ``FullyInSync``.
- Deleting one side: the remaining side becomes ``Disconnected``.
- A ``Disconnected`` side stays disconnected when updated; it has to be deleted and both
  sides re-created. Creating the other side while it exists fails with
  ``RemotePeeringIsDisconnected``, as in Azure.
"""

from __future__ import annotations

import copy
import uuid
from typing import Any

from simulator.core import authz, errors
from simulator.core.routing import Ctx
from simulator.core.world import World
from simulator.network.common import PEERING, etag, find_child, overlaps, prefixes_of, ref

WRITABLE = ("allowVirtualNetworkAccess", "allowForwardedTraffic", "allowGatewayTransit",
            "useRemoteGateways", "doNotVerifyRemoteGateways", "peerCompleteVnets",
            "enableOnlyIPv6Peering", "localSubnetNames", "remoteSubnetNames")
DEFAULTS = {"allowVirtualNetworkAccess": True, "allowForwardedTraffic": False,
            "allowGatewayTransit": False, "useRemoteGateways": False,
            "doNotVerifyRemoteGateways": False, "peerCompleteVnets": True}
PEER_ACTION = "Microsoft.Network/virtualNetworks/peer/action"


def peering_doc(local: dict[str, Any], remote: dict[str, Any], name: str, state: str,
                props: dict[str, Any] | None = None) -> dict[str, Any]:
    space = {"addressPrefixes": prefixes_of(remote)}
    p: dict[str, Any] = dict(DEFAULTS)
    p.update({k: copy.deepcopy(v) for k, v in (props or {}).items() if k in WRITABLE})
    p.update({
        "remoteVirtualNetwork": ref(remote["id"]),
        "remoteAddressSpace": copy.deepcopy(space),
        "remoteVirtualNetworkAddressSpace": copy.deepcopy(space),
        "remoteBgpCommunities": {"virtualNetworkCommunity": "12076:20000",
                                 "regionalCommunity": "12076:50004"},
        "peeringState": state,
        "peeringSyncLevel": sync_level(state),
        "provisioningState": "Succeeded",
        "resourceGuid": str(uuid.uuid4()),
    })
    return {"name": name, "id": f"{local['id']}/virtualNetworkPeerings/{name}", "etag": etag(),
            "type": PEERING, "properties": p}


def sync_level(state: str) -> str:
    return "RemoteNotInSync" if state == "Disconnected" else "FullyInSync"


def set_state(peering: dict[str, Any], state: str) -> None:
    peering["properties"]["peeringState"] = state
    peering["properties"]["peeringSyncLevel"] = sync_level(state)
    peering["etag"] = etag()


def remote_of(peering: dict[str, Any]) -> str:
    return (peering.get("properties", {}).get("remoteVirtualNetwork") or {}).get("id", "")


def back_peering(world: World, local_id: str, remote_id: str) -> dict[str, Any] | None:
    """The peering on the remote VNet that points back at the local VNet, if any."""
    remote = world.get(remote_id)
    for p in (remote or {}).get("properties", {}).get("virtualNetworkPeerings") or []:
        if remote_of(p).lower() == local_id.lower() and not p.get("_deleting"):
            return p
    return None


def _check_linked_access(ctx: Ctx, peering_id: str, remote_id: str) -> None:
    """Azure also checks ``virtualNetworks/peer/action`` on the remote VNet (a linked
    scope), so write access to the local VNet alone is not enough."""
    if ctx.caller is None or authz.is_permitted(ctx.world, ctx.caller.object_id, PEER_ACTION,
                                                remote_id):
        return
    oid = ctx.caller.object_id
    raise errors.arm_error(
        403, "LinkedAuthorizationFailed",
        f"The client '{ctx.caller.app_id or oid}' with object id '{oid}' has permission to "
        f"perform action '{PEERING}/write' on scope '{peering_id}'; however, it does not have "
        f"permission to perform action '{PEER_ACTION}' on the linked scope(s) '{remote_id}' or "
        "the linked scope(s) are invalid.",
    )


def create_or_update_peering(ctx: Ctx, local: dict[str, Any], name: str, body: dict[str, Any]
                             ) -> tuple[dict[str, Any], bool]:
    world = ctx.world
    props = body.get("properties") or {}
    pid = f"{local['id']}/virtualNetworkPeerings/{name}"
    remote_id = (props.get("remoteVirtualNetwork") or {}).get("id") or ""
    remote = world.get(remote_id) if remote_id else None
    if remote is None or remote.get("type", "").lower() != "microsoft.network/virtualnetworks":
        raise errors.bad_request(
            "InvalidGlobalResourceReference",
            f"Resource {remote_id} referenced by resource {pid} was not found. Please make sure "
            "that the referenced resource exists.")
    existing = find_child(local, "virtualNetworkPeerings", name)
    if existing and remote_of(existing).lower() != remote["id"].lower():
        raise errors.bad_request(
            "CannotChangeRemoteVirtualNetworkOnPeering",
            f"Cannot change remote virtual network of peering {pid}. Delete and re-create the "
            "peering instead.")
    if remote["id"].lower() == local["id"].lower() or overlaps(prefixes_of(local),
                                                               prefixes_of(remote)):
        raise errors.bad_request(
            "VnetAddressSpacesOverlap",
            f"Cannot create or update peering {pid}. Virtual networks {local['id']} and "
            f"{remote['id']} cannot be peered because their address spaces overlap.")
    _check_linked_access(ctx, pid, remote["id"])
    other = back_peering(world, local["id"], remote["id"])
    if existing and existing["properties"].get("peeringState") == "Disconnected":
        state = "Disconnected"  # updating does not reconnect: delete and re-create both sides
    elif other is not None and other["properties"].get("peeringState") == "Disconnected":
        raise errors.bad_request(
            "RemotePeeringIsDisconnected",
            f"Cannot create or update peering {pid} because remote peering {other['id']} "
            f"referencing parent virtual network {local['id']} is in Disconnected state. Update "
            "or re-create the remote peering to get it back to Initiated state. Peering gets "
            "Disconnected when remote vnet or remote peering is deleted and re-created.")
    elif other is not None:
        state = "Connected"
        set_state(other, "Connected")
    else:
        state = "Initiated"
    doc = peering_doc(local, remote, name, state, props)
    if existing:
        doc["properties"]["resourceGuid"] = existing["properties"].get("resourceGuid")
    return doc, existing is None


def disconnect_remote(world: World, local_id: str, peering: dict[str, Any]) -> None:
    """Deleting one side leaves the other ``Disconnected``."""
    other = back_peering(world, local_id, remote_of(peering))
    if other is not None:
        set_state(other, "Disconnected")
