"""Microsoft.Network handlers: parse the request, one model call, render what is stored."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from simulator.core.routing import Ctx, Reply
from simulator.core.world import public
from simulator.network import common as c
from simulator.network.edge import attach_rcg, rcg_doc
from simulator.network.peerings import create_or_update_peering, disconnect_remote
from simulator.network.security import check_conflicts, nsg_doc, route_doc, route_table_doc, rule_doc
from simulator.network.vnets import create_or_update_subnet, create_or_update_vnet

Handler = Callable[[Ctx], Any]


def _top_id(ctx: Ctx, rtype: str) -> str:
    return c.top_id(ctx.params["sub"], ctx.params["rg"], rtype, ctx.params["name"])


# -- generic: any stored document of a type ----------------------------------------------------
def getter(rtype: str) -> Handler:
    def get(ctx: Ctx) -> Any:
        return c.render(ctx.world, ctx.world.must_get(_top_id(ctx, rtype)))
    return get


def lister(rtype: str) -> Handler:
    def list_(ctx: Ctx) -> Any:
        return c.list_top(ctx, rtype)
    return list_


def child_getter(rtype: str, key: str) -> Handler:
    def get(ctx: Ctx) -> Any:
        return public(c.get_child(ctx.world, _top_id(ctx, rtype), key, ctx.params["child"]))
    return get


def child_lister(rtype: str, key: str) -> Handler:
    def list_(ctx: Ctx) -> Any:
        parent = c.get_parent(ctx.world, _top_id(ctx, rtype), for_write=False)
        return {"value": [public(x) for x in parent["properties"].get(key) or []]}
    return list_


def sub_getter(rtype: str, segment: str) -> Handler:
    """Child resources stored as their own documents (rule collection groups, zone groups)."""
    def get(ctx: Ctx) -> Any:
        parent_id = _top_id(ctx, rtype)
        c.get_parent(ctx.world, parent_id, for_write=False)
        doc = ctx.world.get(f"{parent_id}/{segment}/{ctx.params['child']}")
        if doc is None:
            raise c.child_not_found(f"{parent_id}/{segment}/{ctx.params['child']}")
        return public(doc)
    return get


def sub_lister(rtype: str, child_type: str) -> Handler:
    def list_(ctx: Ctx) -> Any:
        parent_id = _top_id(ctx, rtype)
        c.get_parent(ctx.world, parent_id, for_write=False)
        return {"value": [public(d) for d in ctx.world.of_type(child_type, parent_id)]}
    return list_


# -- virtual networks, subnets, peerings -------------------------------------------------------
def put_vnet(ctx: Ctx) -> Any:
    vnet_id = _top_id(ctx, c.VNET)
    ctx.world.require_scope(vnet_id)
    doc, created, written = create_or_update_vnet(ctx.world, vnet_id, ctx.params["name"],
                                                  ctx.json())
    return c.begin(ctx, doc, status=201 if created else 200, embedded=tuple(written))


def put_subnet(ctx: Ctx) -> Any:
    vnet = c.get_parent(ctx.world, _top_id(ctx, c.VNET), for_write=True)
    subnet, created = create_or_update_subnet(ctx.world, vnet, ctx.params["child"], ctx.json())
    return c.begin_child(ctx, vnet, "subnets", subnet, status=201 if created else 200)


def put_peering(ctx: Ctx) -> Any:
    vnet = c.get_parent(ctx.world, _top_id(ctx, c.VNET), for_write=True)
    doc, created = create_or_update_peering(ctx, vnet, ctx.params["child"], ctx.json())
    c.upsert_child(vnet, "virtualNetworkPeerings", doc)
    return c.begin_child(ctx, vnet, "virtualNetworkPeerings", doc,
                         status=201 if created else 200)


def delete_peering(ctx: Ctx) -> Any:
    vnet = c.get_parent(ctx.world, _top_id(ctx, c.VNET), for_write=True)
    peering = c.find_child(vnet, "virtualNetworkPeerings", ctx.params["child"])
    if peering is None or peering.get("_deleting"):
        return Reply(204)
    disconnect_remote(ctx.world, vnet["id"], peering)
    return c.begin_child(ctx, vnet, "virtualNetworkPeerings", peering, status=202,
                         kind="delete")


# -- network security groups and route tables --------------------------------------------------
def put_nsg(ctx: Ctx) -> Any:
    nsg_id = _top_id(ctx, c.NSG)
    ctx.world.require_scope(nsg_id)
    body = ctx.json()
    existing = ctx.world.get(nsg_id)
    doc = nsg_doc(nsg_id=nsg_id, name=ctx.params["name"], location=c.require_location(body),
                  rules=(body.get("properties") or {}).get("securityRules") or [],
                  tags=body.get("tags"))
    if existing:
        for k in ("resourceGuid", "subnets", "networkInterfaces"):
            if k in existing["properties"]:
                doc["properties"][k] = existing["properties"][k]
    ctx.world.put(doc)
    return c.begin(ctx, doc, status=200 if existing else 201,
                   embedded=tuple(doc["properties"]["securityRules"]))


def put_rule(ctx: Ctx) -> Any:
    nsg = c.get_parent(ctx.world, _top_id(ctx, c.NSG), for_write=True)
    rule = rule_doc(nsg["id"], ctx.params["child"], ctx.json().get("properties") or {})
    others = [r for r in nsg["properties"].get("securityRules") or []
              if r["name"].lower() != rule["name"].lower()]
    check_conflicts([*others, rule])
    created = c.find_child(nsg, "securityRules", rule["name"]) is None
    c.upsert_child(nsg, "securityRules", rule)
    return c.begin_child(ctx, nsg, "securityRules", rule, status=201 if created else 200)


def delete_rule(ctx: Ctx) -> Any:
    nsg = c.get_parent(ctx.world, _top_id(ctx, c.NSG), for_write=True)
    rule = c.find_child(nsg, "securityRules", ctx.params["child"])
    if rule is None or rule.get("_deleting"):
        return Reply(204)
    return c.begin_child(ctx, nsg, "securityRules", rule, status=202, kind="delete")


def put_route_table(ctx: Ctx) -> Any:
    table_id = _top_id(ctx, c.ROUTE_TABLE)
    ctx.world.require_scope(table_id)
    body = ctx.json()
    props = body.get("properties") or {}
    existing = ctx.world.get(table_id)
    doc = route_table_doc(table_id=table_id, name=ctx.params["name"],
                          location=c.require_location(body), routes=props.get("routes") or [],
                          disable_bgp=bool(props.get("disableBgpRoutePropagation")),
                          tags=body.get("tags"))
    if existing:
        for k in ("resourceGuid", "subnets"):
            if k in existing["properties"]:
                doc["properties"][k] = existing["properties"][k]
    ctx.world.put(doc)
    return c.begin(ctx, doc, status=200 if existing else 201,
                   embedded=tuple(doc["properties"]["routes"]))


def put_route(ctx: Ctx) -> Any:
    table = c.get_parent(ctx.world, _top_id(ctx, c.ROUTE_TABLE), for_write=True)
    route = route_doc(table["id"], ctx.params["child"], ctx.json().get("properties") or {})
    created = c.find_child(table, "routes", route["name"]) is None
    c.upsert_child(table, "routes", route)
    return c.begin_child(ctx, table, "routes", route, status=201 if created else 200)


# -- firewall policy rule collection groups ----------------------------------------------------
def put_rcg(ctx: Ctx) -> Any:
    policy = c.get_parent(ctx.world, _top_id(ctx, c.POLICY), for_write=True)
    doc = rcg_doc(policy, ctx.params["child"], ctx.json().get("properties") or {})
    existing = ctx.world.get(doc["id"])
    ctx.world.put(doc)
    attach_rcg(policy, doc["id"])
    return c.begin(ctx, doc, status=200 if existing else 201, location=policy["location"])


def delete_rcg(ctx: Ctx) -> Any:
    """FirewallPolicyRuleCollectionGroups_Delete: 202 + LRO, 204 when there is nothing to
    delete; the policy stops listing the group at once (it is going away)."""
    policy = c.get_parent(ctx.world, _top_id(ctx, c.POLICY), for_write=True)
    rid = f"{policy['id']}/ruleCollectionGroups/{ctx.params['child']}"
    doc = ctx.world.get(rid)
    if doc is None:
        return Reply(204)
    props = policy["properties"]
    props["ruleCollectionGroups"] = [g for g in props.get("ruleCollectionGroups") or []
                                     if g["id"].lower() != rid.lower()]
    return c.begin(ctx, doc, status=202, kind="delete", location=policy["location"])
