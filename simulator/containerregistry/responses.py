"""Registries and their private endpoint connections over ARM (thin: parse, call, render)."""

from __future__ import annotations

from typing import Any

from simulator.containerregistry import models
from simulator.containerregistry import private_endpoints as pe
from simulator.core import errors, lro
from simulator.core.routing import Ctx, Reply
from simulator.core.world import public
from simulator.monitor.models import record_event
from simulator.policy.evaluate import enforce
from simulator.resources.models import get_subscription

NS = "Microsoft.ContainerRegistry"


def _suffix(ctx: Ctx) -> str:
    return ctx.server.metadata()["suffixes"]["acrLoginServer"] if ctx.server else \
        models.DEFAULT_SUFFIX


def _rid(ctx: Ctx) -> str:
    p = ctx.params
    return models.registry_id(p["sub"], p["rg"], p["name"])


def _registry(ctx: Ctx) -> dict[str, Any]:
    return ctx.world.must_get(_rid(ctx))


def _who(ctx: Ctx) -> str | None:
    return ctx.caller.object_id if ctx.caller else None


def _log(ctx: Ctx, action: str, resource_id: str, status: int = 200) -> None:
    record_event(ctx.world, operation_name=action, resource_id=resource_id, caller=ctx.caller,
                 http_method=ctx.method, http_status=status,
                 status="Accepted" if status in (201, 202) else "Succeeded")


# -- registries ------------------------------------------------------------------------------
def get_registry(ctx: Ctx) -> Any:
    return models.render(ctx.world, _registry(ctx))


def list_registries(ctx: Ctx) -> Any:
    get_subscription(ctx.world, ctx.params["sub"])
    scope = f"/subscriptions/{ctx.params['sub']}"
    if ctx.params.get("rg"):
        scope += f"/resourceGroups/{ctx.params['rg']}"
        ctx.world.require_scope(scope)
    return {"value": [models.render(ctx.world, r)
                      for r in ctx.world.of_type(models.REGISTRY_TYPE, scope)]}


def create_registry(ctx: Ctx) -> Any:
    ctx.world.require_scope(_rid(ctx))
    body = ctx.json()
    if not body.get("location"):
        raise errors.bad_request("LocationRequired",
                                 "The location property is required for this definition.")
    if not (body.get("sku") or {}).get("name"):
        raise errors.bad_request("InvalidRequestContent",
                                 "The request content was invalid: 'sku' is required.")
    existing = ctx.world.get(_rid(ctx))
    doc = models.build_registry(
        ctx.world, sub=ctx.params["sub"], group=ctx.params["rg"],
        name=existing["name"] if existing else ctx.params["name"], location=body["location"],
        sku=body["sku"]["name"], tags=body.get("tags"), properties=body.get("properties"),
        suffix=_suffix(ctx), created_by=_who(ctx), existing=existing)
    if body.get("identity") is not None:
        doc["identity"] = body["identity"]
    doc = enforce(ctx.world, doc, caller=ctx.caller)
    if existing:
        ctx.world.put(doc)
        _log(ctx, f"{NS}/registries/write", doc["id"])
        return Reply(200, models.render(ctx.world, doc))
    doc["properties"]["provisioningState"] = "Creating"
    ctx.world.put(doc)
    _log(ctx, f"{NS}/registries/write", doc["id"], 201)
    return lro.begin(ctx, resource_id=doc["id"], kind="create", namespace=NS,
                     location=doc["location"], status=201,
                     body=models.render(ctx.world, doc))


def update_registry(ctx: Ctx) -> Any:
    doc = _registry(ctx)
    new = models.updated(ctx.world, doc, ctx.json(), suffix=_suffix(ctx), who=_who(ctx))
    new = enforce(ctx.world, new, caller=ctx.caller)
    # ACR applies the change at once; the operation only tracks provisioningState
    new["properties"]["provisioningState"] = "Updating"
    ctx.world.put(new)
    _log(ctx, f"{NS}/registries/write", new["id"], 201)
    return lro.begin(ctx, resource_id=new["id"], kind="update", namespace=NS,
                     location=new["location"], status=201, body=models.render(ctx.world, new))


def delete_registry(ctx: Ctx) -> Any:
    doc = ctx.world.get(_rid(ctx))
    if doc is None:
        ctx.world.require_scope(_rid(ctx))
        return Reply(204)
    _log(ctx, f"{NS}/registries/delete", doc["id"], 202)
    return lro.begin(ctx, resource_id=doc["id"], kind="delete", namespace=NS,
                     location=doc["location"], status=202, headers=("Location",))


def list_credentials(ctx: Ctx) -> Any:
    return models.credentials(_registry(ctx))


def regenerate_credential(ctx: Ctx) -> Any:
    doc = _registry(ctx)
    out = models.regenerate(doc, ctx.json().get("name"))
    _log(ctx, f"{NS}/registries/regenerateCredential/action", doc["id"])
    return out


def check_name_availability(ctx: Ctx) -> Any:
    body = ctx.json()
    name = body.get("name") or ""
    if models.name_in_use(ctx.world, name):
        return {"nameAvailable": False, "reason": "AlreadyExists",
                "message": f"The registry {name} is already in use."}
    return {"nameAvailable": True}


def list_private_link_resources(ctx: Ctx) -> Any:
    return {"value": pe.private_link_resources(_registry(ctx), _suffix(ctx))}


def get_private_link_resource(ctx: Ctx) -> Any:
    for r in pe.private_link_resources(_registry(ctx), _suffix(ctx)):
        if r["name"].lower() == ctx.params["group"].lower():
            return r
    raise errors.not_found(f"{models.REGISTRY_TYPE}/privateLinkResources",
                           f"{ctx.params['name']}/{ctx.params['group']}", ctx.params["rg"])


# -- private endpoint connections ------------------------------------------------------------
def _pec_id(ctx: Ctx) -> str:
    return pe.connection_id(_rid(ctx), ctx.params["pec"])


def list_connections(ctx: Ctx) -> Any:
    doc = _registry(ctx)
    return {"value": [public(c) for c in ctx.world.children(doc["id"], models.PEC_TYPE)]}


def get_connection(ctx: Ctx) -> Any:
    _registry(ctx)
    return public(ctx.world.must_get(_pec_id(ctx)))


def put_connection(ctx: Ctx) -> Any:
    registry = _registry(ctx)
    props = ctx.json().get("properties") or {}
    conn = ctx.world.get(_pec_id(ctx))
    if conn is None:
        endpoint = (props.get("privateEndpoint") or {}).get("id")
        if not endpoint:
            ctx.world.must_get(_pec_id(ctx))  # ARM's 404 for a connection that does not exist
        conn = pe.add_connection(ctx.world, registry["id"], private_endpoint_id=endpoint,
                                 name=ctx.params["pec"])
    pe.set_state(conn, props.get("privateLinkServiceConnectionState") or {})
    conn["properties"]["provisioningState"] = "Updating"
    _log(ctx, f"{NS}/registries/privateEndpointConnections/write", conn["id"], 201)
    return lro.begin(ctx, resource_id=conn["id"], kind="update", namespace=NS,
                     location=registry["location"], status=201, body=conn)


def delete_connection(ctx: Ctx) -> Any:
    registry = _registry(ctx)
    conn = ctx.world.get(_pec_id(ctx))
    if conn is None:
        return Reply(204)
    conn["properties"]["provisioningState"] = "Deleting"
    _log(ctx, f"{NS}/registries/privateEndpointConnections/delete", conn["id"], 202)
    return lro.begin(ctx, resource_id=conn["id"], kind="delete", namespace=NS,
                     location=registry["location"], status=202, headers=("Location",))
