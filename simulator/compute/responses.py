"""Scale set endpoints: parse, one model call, render (PATCH/PUT are LROs, as in Compute)."""

from __future__ import annotations

import copy
import uuid
from typing import Any

from simulator.compute import models
from simulator.core import errors, lro
from simulator.core.routing import Ctx, Reply
from simulator.core.world import public
from simulator.identity.models import iso
from simulator.resources.models import get_subscription


def _id(ctx: Ctx) -> str:
    p = ctx.params
    return models.vmss_id(p["sub"], p["rg"], p["name"])


def get_vmss(ctx: Ctx) -> Any:
    return public(ctx.world.must_get(_id(ctx)))


def list_vmss(ctx: Ctx) -> Any:
    get_subscription(ctx.world, ctx.params["sub"])
    scope = f"/subscriptions/{ctx.params['sub']}"
    if ctx.params.get("rg"):
        scope += f"/resourceGroups/{ctx.params['rg']}"
        ctx.world.require_scope(scope)
    return {"value": [public(v) for v in ctx.world.of_type(models.VMSS_TYPE, scope)]}


def _begin(ctx: Ctx, doc: dict[str, Any], status: int, kind: str) -> Reply:
    doc["properties"]["provisioningState"] = "Updating" if kind == "update" else "Creating"
    return lro.begin(ctx, resource_id=doc["id"], kind=kind, namespace="Microsoft.Compute",
                     location=doc["location"], status=status, body=doc, apply={},
                     headers=("Azure-AsyncOperation", "Location"))


def update_vmss(ctx: Ctx) -> Any:
    vmss = ctx.world.must_get(_id(ctx))
    assert ctx.caller
    models.update_vmss(ctx.world, vmss, ctx.json(), ctx.caller.object_id)
    return _begin(ctx, vmss, 200, "update")


def put_vmss(ctx: Ctx) -> Any:
    body = ctx.json()
    existing = ctx.world.get(_id(ctx))
    assert ctx.caller
    if existing is not None:
        models.update_vmss(ctx.world, existing, body, ctx.caller.object_id)
        return _begin(ctx, existing, 200, "update")
    ctx.world.require_scope(_id(ctx))
    if not body.get("location"):
        raise errors.bad_request("LocationRequired",
                                 "The location property is required for this definition.")
    now = iso(ctx.world.now())
    doc = copy.deepcopy(body)
    doc.pop("identity", None)
    doc.update(id=_id(ctx), name=ctx.params["name"], type=models.VMSS_TYPE, etag='"1"')
    props = doc.setdefault("properties", {})
    props.update(uniqueId=str(uuid.uuid4()), timeCreated=now)
    props.setdefault("orchestrationMode", "Uniform")
    ctx.world.put(doc)
    if body.get("identity"):
        models.update_vmss(ctx.world, doc, {"identity": body["identity"]}, ctx.caller.object_id)
    return _begin(ctx, doc, 201, "create")
