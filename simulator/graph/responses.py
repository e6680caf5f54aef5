"""Graph v1.0 handlers. Thin: parse, one model call, render with OData envelopes.

Handlers that serve several entity sets are made per collection by the ``*_of`` factories,
so ``urls.py`` reads as Graph's own route list.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from simulator.core.routing import Ctx, Reply
from simulator.graph import models, odata
from simulator.graph.shapes import SHAPES

Handler = Callable[[Ctx], Any]


def _owner(ctx: Ctx, collection: str) -> dict[str, Any]:
    """The object a route addresses: ``/{collection}/{id}`` or ``/{collection}(appId='…')``."""
    if "app_id" in ctx.params:
        return models.get_by_app_id(ctx.world, collection, ctx.params["app_id"])
    return models.get_object(ctx.world, collection, ctx.params["id"])


def list_of(collection: str) -> Handler:
    def handler(ctx: Ctx) -> Any:
        return odata.collection(ctx, SHAPES[collection], models.objects(ctx.world, collection))

    return handler


def count_of(collection: str) -> Handler:
    def handler(ctx: Ctx) -> Any:
        return odata.count(ctx, SHAPES[collection], models.objects(ctx.world, collection))

    return handler


def get_of(collection: str) -> Handler:
    def handler(ctx: Ctx) -> Any:
        return odata.entity(ctx, SHAPES[collection], _owner(ctx, collection))

    return handler


def add_password_of(collection: str) -> Handler:
    def handler(ctx: Ctx) -> Any:
        cred = models.add_password(ctx.world, _owner(ctx, collection), ctx.json())
        return {"@odata.context": odata.metadata_url(ctx, "microsoft.graph.passwordCredential"),
                **cred}

    return handler


def remove_password_of(collection: str) -> Handler:
    def handler(ctx: Ctx) -> Any:
        models.remove_password(ctx.world, _owner(ctx, collection), ctx.json())
        return Reply(204)

    return handler


def _principal_id(ctx: Ctx, collection: str) -> str:
    if collection == "directoryObjects":
        return models.get_directory_object(ctx.world, ctx.params["id"])[1]["id"]
    return _owner(ctx, collection)["id"]


def member_of_of(collection: str, *, transitive: bool) -> Handler:
    def handler(ctx: Ctx) -> Any:
        oid = _principal_id(ctx, collection)
        shape = SHAPES["groups"]
        groups = odata.query(ctx, shape, models.member_of(ctx.world, oid, transitive=transitive))
        chosen = odata.select(ctx, shape)
        return odata.page(ctx, "directoryObjects", [odata.typed(shape, g, chosen) for g in groups])

    return handler


def members_of_group(*, transitive: bool) -> Handler:
    def handler(ctx: Ctx) -> Any:
        group = models.get_object(ctx.world, "groups", ctx.params["id"])
        found = models.members(ctx.world, group, transitive=transitive)
        return odata.page(ctx, "directoryObjects", [odata.typed(s, d) for s, d in found])

    return handler


def check_member_groups_of(collection: str) -> Handler:
    def handler(ctx: Ctx) -> Any:
        oid = _principal_id(ctx, collection)
        ids = models.check_member_groups(ctx.world, oid, ctx.json().get("groupIds"))
        return {"@odata.context": odata.metadata_url(ctx, "Collection(Edm.String)"),
                "value": ids}

    return handler


def get_member_groups_of(collection: str) -> Handler:
    def handler(ctx: Ctx) -> Any:
        oid = _principal_id(ctx, collection)
        ids = models.get_member_groups(ctx.world, oid, ctx.json().get("securityEnabledOnly"))
        return {"@odata.context": odata.metadata_url(ctx, "Collection(Edm.String)"),
                "value": ids}

    return handler


def get_by_ids(ctx: Ctx) -> Any:
    body = ctx.json()
    found = models.get_by_ids(ctx.world, body.get("ids"), body.get("types"))
    return {"@odata.context": odata.metadata_url(ctx, "directoryObjects"),
            "value": [odata.typed(s, d) for s, d in found]}


def get_directory_object(ctx: Ctx) -> Any:
    shape, doc = models.get_directory_object(ctx.world, ctx.params["id"])
    return {"@odata.context": odata.metadata_url(ctx, "directoryObjects/$entity"),
            **odata.typed(shape, doc, odata.select(ctx, shape))}
