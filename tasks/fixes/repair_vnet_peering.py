"""repair-vnet-peering — peer the AKS VNet and the private endpoint's VNet both ways, Connected.

What it changes (vnet-peering-connected found the pair not Connected):
- a missing side is created (``pullfix-<remote vnet>``, ``allowVirtualNetworkAccess: true``);
- a side that exists with ``allowVirtualNetworkAccess: false`` is updated to true;
- when either side is ``Disconnected`` (the remote VNet or peering was deleted and
  re-created), updating does not help — Azure needs both sides deleted, then both created
  again: the existing sides are deleted and re-created under their own names, keeping their
  forwarded-traffic and gateway settings.
Why it is safe: peering only adds the system routes between the two address spaces (the
check already assumed them); no rule or route table is edited.
How it is undone — not strictly reversible: rollback deletes the peerings this run created and
turns access back off where it was turned on, but a Disconnected pair it deleted cannot be
restored (hence ``reversible = False``; a person signs off by default).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from tasks.contract import Finding, Target
from tasks.fix import NET_WRITER, Change, Fix, FixPlan, FixResult, Need, Risk, changed, fix, param
from tasks.fixes import _netfix as nf
from tasks.reads import Reads, parse_id

if TYPE_CHECKING:
    from azure.mgmt.network import NetworkManagementClient

API = "ARM {} virtualNetworks/virtualNetworkPeerings"
KEPT = ("allowForwardedTraffic", "allowGatewayTransit", "useRemoteGateways")


def _client(reads: Reads, vnet_id: str) -> NetworkManagementClient:
    from azure.mgmt.network import NetworkManagementClient

    return reads.clients.arm(NetworkManagementClient, parse_id(vnet_id)["subscription"])


def _side(reads: Reads, local: str, remote: str) -> Any | None:
    p = parse_id(local)
    return next((x for x in _client(reads, local).virtual_network_peerings.list(
        p["resource_group"], p["name"]) if x.remote_virtual_network
        and (x.remote_virtual_network.id or "").lower() == remote.lower()), None)


def _settings(peering: Any | None) -> dict[str, Any]:
    return {"allowForwardedTraffic": bool(peering and peering.allow_forwarded_traffic),
            "allowGatewayTransit": bool(peering and peering.allow_gateway_transit),
            "useRemoteGateways": bool(peering and peering.use_remote_gateways)}


def steps(reads: Reads, a: str, b: str) -> list[Change]:
    """The writes that make a ↔ b Connected, from the pair as it is now (in order)."""
    sides = [(a, b, _side(reads, a, b)), (b, a, _side(reads, b, a))]
    state = [getattr(p.peering_state, "value", p.peering_state) if p else None for _, _, p in sides]
    if state == ["Connected", "Connected"] and all(
            p is not None and p.allow_virtual_network_access is not False for _, _, p in sides):
        return []
    out: list[Change] = []
    recreate = "Disconnected" in state
    for (_, _, p), st in zip(sides, state, strict=True):
        if p is not None and recreate:
            out.append(Change(resource=p.id, operation="delete", api=API.format("DELETE"),
                              before={"peeringState": st, **_settings(p)}))
    for local, remote, p in sides:
        name = p.name if p is not None else f"pullfix-{remote.rsplit('/', 1)[-1]}"[:80]
        after = {"remoteVirtualNetwork": remote, "allowVirtualNetworkAccess": True, **_settings(p)}
        if p is None or recreate:
            out.append(Change(resource=f"{local}/virtualNetworkPeerings/{name}", operation="create",
                              api=API.format("PUT"), after=after))
        elif p.allow_virtual_network_access is False:
            out.append(Change(resource=p.id, operation="update", api=API.format("PUT"), before={
                "allowVirtualNetworkAccess": False, **_settings(p)}, after=after))
    return out


def _write(reads: Reads, change: Change, body: dict[str, Any] | None) -> None:
    from azure.mgmt.network import models as netm

    vnet_id, name = change.resource.split("/virtualNetworkPeerings/")
    p = parse_id(vnet_id)
    ops = _client(reads, vnet_id).virtual_network_peerings
    if body is None:
        ops.begin_delete(p["resource_group"], p["name"], name).result()
        return
    ops.begin_create_or_update(p["resource_group"], p["name"], name, netm.VirtualNetworkPeering(
        properties=netm.VirtualNetworkPeeringPropertiesFormat(
            remote_virtual_network=netm.SubResource(id=body["remoteVirtualNetwork"]),
            allow_virtual_network_access=body["allowVirtualNetworkAccess"],
            allow_forwarded_traffic=body["allowForwardedTraffic"],
            allow_gateway_transit=body["allowGatewayTransit"],
            use_remote_gateways=body["useRemoteGateways"]))).result()


@fix
class RepairVnetPeering(Fix):
    name: ClassVar[str] = "repair-vnet-peering"
    risk: ClassVar[Risk] = Risk.MEDIUM
    resolves: ClassVar[tuple[str, ...]] = ("vnet-peering-connected",)
    permissions: ClassVar[tuple[Need, ...]] = (
        Need("Microsoft.Network/virtualNetworks/virtualNetworkPeerings/write",
             changed("Microsoft.Network/virtualNetworks", "the AKS VNet"), NET_WRITER),
        Need("Microsoft.Network/virtualNetworks/peer/action",
             param("remote_vnet_id", "the private endpoint's VNet"), NET_WRITER))
    reversible: ClassVar[bool] = False

    class Params(Fix.Params):
        vnet_id: str
        remote_vnet_id: str

    def plan(self, target: Target, finding: Finding, reads: Reads) -> FixPlan | None:
        broken = [d for d in nf.data(finding, "remote_vnet") if not d.get("connected")]
        if not nf.suggested(self, finding) or not broken:
            return None
        params = self.Params(vnet_id=broken[0]["vnet"], remote_vnet_id=broken[0]["remote_vnet"])
        changes = steps(reads, params.vnet_id, params.remote_vnet_id)
        if not changes:
            return None
        names = [parse_id(v)["name"] for v in (params.vnet_id, params.remote_vnet_id)]
        how = "delete and re-create both sides of" if any(
            c.operation == "delete" for c in changes) else "complete"
        return nf.make_plan(self, target, f"{how} the peering {names[0]} ↔ {names[1]}",
                            changes, params)

    def apply(self, plan: FixPlan, reads: Reads) -> FixResult:
        # recomputed from the pair as it is now: a re-run, or a run after a half-finished
        # one (one side deleted, one created), converges on the same Connected pair
        p = self.Params(**plan.params)
        done = steps(reads, p.vnet_id, p.remote_vnet_id)
        for change in done:
            _write(reads, change, change.after)
        return FixResult(fix=self.name, plan_hash=plan.hash, applied=tuple(done))

    def rollback(self, result: FixResult, reads: Reads) -> None:
        for change in reversed(result.applied):
            if change.operation == "create":
                vnet_id, name = change.resource.split("/virtualNetworkPeerings/")
                if any((x.name or "").lower() == name.lower() for x in _client(
                        reads, vnet_id).virtual_network_peerings.list(
                        parse_id(vnet_id)["resource_group"], parse_id(vnet_id)["name"])):
                    _write(reads, change, None)
            elif change.operation == "update" and change.before is not None:
                _write(reads, change, {**(change.after or {}), **change.before})
