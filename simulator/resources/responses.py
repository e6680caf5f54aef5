from __future__ import annotations

from typing import Any

from simulator.core import errors
from simulator.core.routing import Ctx, Reply
from simulator.core.world import public
from simulator.resources import models


def list_subscriptions(ctx: Ctx) -> Any:
    assert ctx.caller
    return {"value": models.visible_subscriptions(ctx.world, ctx.caller.object_id)}


def get_subscription(ctx: Ctx) -> Any:
    return models.get_subscription(ctx.world, ctx.params["sub"])


def list_tenants(ctx: Ctx) -> Any:
    t = ctx.world.tenant_id
    return {"value": [{"id": f"/tenants/{t}", "tenantId": t, "tenantCategory": "Home",
                       "displayName": ctx.world.state["scenario"].get("tenant_name", "pullfix"),
                       "defaultDomain": (ctx.world.state["scenario"].get("domains") or
                                         ["pullfix.onmicrosoft.com"])[0],
                       "domains": ctx.world.state["scenario"].get("domains", [])}]}


def list_groups(ctx: Ctx) -> Any:
    models.get_subscription(ctx.world, ctx.params["sub"])
    return {"value": [public(g) for g in models.resource_groups(ctx.world, ctx.params["sub"])]}


def _rg_id(ctx: Ctx) -> str:
    return f"/subscriptions/{ctx.params['sub']}/resourceGroups/{ctx.params['rg']}"


def get_group(ctx: Ctx) -> Any:
    models.get_subscription(ctx.world, ctx.params["sub"])
    rg = ctx.world.get(_rg_id(ctx))
    if rg is None:
        raise errors.group_not_found(ctx.params["rg"])
    return public(rg)


def head_group(ctx: Ctx) -> Any:
    return Reply(204 if ctx.world.get(_rg_id(ctx)) else 404)


def put_group(ctx: Ctx) -> Any:
    models.get_subscription(ctx.world, ctx.params["sub"])
    body = ctx.json()
    existing = ctx.world.get(_rg_id(ctx))
    if not body.get("location"):
        raise errors.bad_request("LocationRequired", "The location property is required for "
                                 "this definition.")
    doc = models.create_resource_group(ctx.world, ctx.params["sub"], ctx.params["rg"],
                                       body["location"], body.get("tags"), body.get("managedBy"))
    return Reply(200 if existing else 201, public(doc))


def delete_group(ctx: Ctx) -> Any:
    rg = ctx.world.get(_rg_id(ctx))
    if rg is None:
        return Reply(204)
    for child in ctx.world.children(_rg_id(ctx)):
        ctx.world.delete(child["id"])
    ctx.world.delete(_rg_id(ctx))
    return Reply(200)


def list_resources(ctx: Ctx) -> Any:
    models.get_subscription(ctx.world, ctx.params["sub"])
    scope = f"/subscriptions/{ctx.params['sub']}"
    if ctx.params.get("rg"):
        scope = _rg_id(ctx)
        if ctx.world.get(scope) is None:
            raise errors.group_not_found(ctx.params["rg"])
    return {"value": models.generic_list(ctx.world, scope, ctx.q("$filter"))}


def list_providers(ctx: Ctx) -> Any:
    namespaces = sorted({r["type"].split("/")[0] for r in ctx.world.resources.values()
                         if "/" in r.get("type", "")} | {
        "Microsoft.ContainerService", "Microsoft.ContainerRegistry", "Microsoft.Network",
        "Microsoft.Compute", "Microsoft.Authorization", "Microsoft.ManagedIdentity",
        "Microsoft.Insights"})
    sub = ctx.params["sub"]
    return {"value": [{"id": f"/subscriptions/{sub}/providers/{ns}", "namespace": ns,
                       "registrationState": "Registered", "registrationPolicy":
                       "RegistrationRequired", "resourceTypes": []} for ns in namespaces]}


def get_provider(ctx: Ctx) -> Any:
    sub, ns = ctx.params["sub"], ctx.params["ns"]
    return {"id": f"/subscriptions/{sub}/providers/{ns}", "namespace": ns,
            "registrationState": "Registered", "registrationPolicy": "RegistrationRequired",
            "resourceTypes": []}
