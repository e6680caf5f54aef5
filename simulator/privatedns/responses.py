"""Private DNS handlers: parse, one model call, render what is stored."""

from __future__ import annotations

from typing import Any

from simulator.core import errors, lro
from simulator.core.routing import Ctx, Reply
from simulator.core.world import merge, public
from simulator.privatedns import models as m


def _zone_id(ctx: Ctx) -> str:
    p = ctx.params
    return f"/subscriptions/{p['sub']}/resourceGroups/{p['rg']}/providers/{m.ZONE}/{p['zone']}"


def _zone(ctx: Ctx) -> dict[str, Any]:
    return ctx.world.must_get(_zone_id(ctx))


def _begin(ctx: Ctx, resource_id: str, *, kind: str, status: int,
           apply: dict[str, Any] | None = None) -> Reply:
    # Private DNS answers 202 with both polling headers and no body, as its examples show
    return lro.begin(ctx, resource_id=resource_id, kind=kind, namespace="Microsoft.Network",
                     location="global", status=status, apply=apply,
                     headers=("Azure-AsyncOperation", "Location"))


_COMPLETE = {"properties": {"virtualNetworkLinkState": "Completed"}}


# -- zones -------------------------------------------------------------------------------------
def get_zone(ctx: Ctx) -> Any:
    return m.render_zone(ctx.world, _zone(ctx))


def list_zones(ctx: Ctx) -> Any:
    sub, rg = ctx.params["sub"], ctx.params.get("rg")
    scope = f"/subscriptions/{sub}" + (f"/resourceGroups/{rg}" if rg else "")
    ctx.world.require_scope(scope)
    return {"value": [m.render_zone(ctx.world, z) for z in ctx.world.of_type(m.ZONE, scope)]}


# -- virtual network links ---------------------------------------------------------------------
def _link_id(ctx: Ctx) -> str:
    return f"{_zone_id(ctx)}/virtualNetworkLinks/{ctx.params['link']}"


def get_link(ctx: Ctx) -> Any:
    _zone(ctx)
    return public(ctx.world.must_get(_link_id(ctx)))


def list_links(ctx: Ctx) -> Any:
    zone = _zone(ctx)
    return {"value": [public(x) for x in m.links(ctx.world, zone["id"])]}


def _precondition(ctx: Ctx, existing: dict[str, Any] | None, what: str) -> None:
    if ctx.headers.get("if-none-match") == "*" and existing:
        raise errors.arm_error(412, "PreconditionFailed", f"The {what} already exists.")
    match = ctx.headers.get("if-match")
    if match and match != "*" and (existing is None or existing.get("etag") != match):
        raise errors.arm_error(412, "PreconditionFailed",
                               f"The {what} has been modified (etag mismatch).")


def put_link(ctx: Ctx) -> Any:
    zone = _zone(ctx)
    body = ctx.json()
    props = body.get("properties") or {}
    name = ctx.params["link"]
    existing = ctx.world.get(_link_id(ctx))
    _precondition(ctx, existing, f"virtual network link '{name}'")
    vnet_id = m.check_link(ctx.world, zone, name,
                           (props.get("virtualNetwork") or {}).get("id", ""))
    if existing and existing["properties"]["virtualNetwork"]["id"].lower() != vnet_id.lower():
        raise errors.bad_request("BadRequest", "The virtual network of a virtual network link "
                                 "cannot be changed.")
    doc = m.link_doc(zone, name, vnet_id, registration=bool(props.get("registrationEnabled")),
                     resolution_policy=props.get("resolutionPolicy") or "Default",
                     tags=body.get("tags"))
    doc["properties"].update(provisioningState="Updating", virtualNetworkLinkState="InProgress")
    ctx.world.put(doc)
    return _begin(ctx, doc["id"], kind="put", status=202, apply=_COMPLETE)


def patch_link(ctx: Ctx) -> Any:
    _zone(ctx)
    link = ctx.world.must_get(_link_id(ctx))
    _precondition(ctx, link, f"virtual network link '{link['name']}'")
    body = ctx.json()
    props = body.get("properties") or {}
    patch: dict[str, Any] = {"properties": {
        k: props[k] for k in ("registrationEnabled", "resolutionPolicy") if k in props}}
    if "tags" in body:
        link["tags"] = dict(body["tags"] or {})
    merge(link, patch)
    link["etag"] = m.new_etag()
    link["properties"]["provisioningState"] = "Updating"
    return _begin(ctx, link["id"], kind="put", status=202, apply=_COMPLETE)


def delete_link(ctx: Ctx) -> Any:
    _zone(ctx)
    link = ctx.world.get(_link_id(ctx))
    if link is None:
        return Reply(204)
    link["properties"]["provisioningState"] = "Deleting"
    return _begin(ctx, link["id"], kind="delete", status=202)


# -- record sets -------------------------------------------------------------------------------
def _record_id(ctx: Ctx) -> str:
    return f"{_zone_id(ctx)}/{m.record_type(ctx.params['type'])}/{ctx.params['record']}"


def get_record(ctx: Ctx) -> Any:
    _zone(ctx)
    rid = _record_id(ctx)
    doc = ctx.world.get(rid)
    if doc is None:
        p = ctx.params
        raise errors.arm_error(
            404, "NotFound", f"The resource record '{p['record']}' does not exist in resource "
            f"group '{p['rg']}' of subscription '{p['sub']}'.")
    return public(doc)


def put_record(ctx: Ctx) -> Any:
    zone = _zone(ctx)
    rtype = m.record_type(ctx.params["type"])
    existing = ctx.world.get(_record_id(ctx))
    _precondition(ctx, existing, f"record set '{ctx.params['record']}'")
    if rtype == "SOA" and ctx.params["record"] != "@":
        raise errors.bad_request("BadRequest", "SOA record set name must be '@'.")
    doc = m.record_doc(zone, rtype, ctx.params["record"], (ctx.json().get("properties") or {}))
    ctx.world.put(doc)
    return Reply(200 if existing else 201, public(doc))


def list_records(ctx: Ctx) -> Any:
    zone = _zone(ctx)
    rtype = ctx.params.get("type")
    wanted = None if rtype is None or rtype.upper() == "ALL" else m.record_type(rtype)
    return {"value": [public(r) for r in m.records(ctx.world, zone["id"], wanted)]}
