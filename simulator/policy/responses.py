from __future__ import annotations

from typing import Any

from simulator.core import errors
from simulator.core.routing import Ctx, Reply
from simulator.core.world import public
from simulator.policy import models
from simulator.policy.builtins import builtin_definitions
from simulator.resources.models import get_subscription


def _scope(ctx: Ctx) -> str:
    scope = "/" + ctx.params["scope"].strip("/")
    ctx.world.require_scope(scope)
    if scope.lower().count("/providers/") and ctx.world.get(scope) is None:
        ctx.world.must_get(scope)  # listing for a resource that does not exist: ARM's 404
    return scope


def list_assignments(ctx: Ctx) -> Any:
    scope = _scope(ctx)
    return {"value": models.list_assignments(ctx.world, scope, ctx.q("$filter"))}


def get_assignment(ctx: Ctx) -> Any:
    return models.get_assignment(ctx.world, _scope(ctx), ctx.params["name"])


def put_assignment(ctx: Ctx) -> Any:
    scope = _scope(ctx)
    body = ctx.json()
    props = body.get("properties") or {}
    if not props.get("policyDefinitionId"):
        raise errors.bad_request("InvalidRequestContent",
                                 "The policy assignment is missing 'policyDefinitionId'.")
    existed = ctx.world.get(models.assignment_id(scope, ctx.params["name"])) is not None
    doc = models.create_assignment(
        ctx.world, scope=scope, name=ctx.params["name"],
        policy_definition_id=props["policyDefinitionId"],
        parameters={k: v.get("value") for k, v in (props.get("parameters") or {}).items()},
        enforcement_mode=props.get("enforcementMode", "Default"),
        display_name=props.get("displayName"), not_scopes=props.get("notScopes"),
        description=props.get("description"),
        created_by=ctx.caller.object_id if ctx.caller else None,
    )
    return Reply(200 if existed else 201, public(doc))


def delete_assignment(ctx: Ctx) -> Any:
    found = models.delete_assignment(ctx.world, _scope(ctx), ctx.params["name"])
    return Reply(200, found) if found else Reply(204)


def get_builtin_definition(ctx: Ctx) -> Any:
    return models.get_builtin(ctx.params["name"])


def list_builtin_definitions(ctx: Ctx) -> Any:
    return {"value": builtin_definitions()}


def get_definition(ctx: Ctx) -> Any:
    get_subscription(ctx.world, ctx.params["sub"])
    return models.get_subscription_definition(ctx.world, ctx.params["sub"], ctx.params["name"])


def list_definitions(ctx: Ctx) -> Any:
    get_subscription(ctx.world, ctx.params["sub"])
    return {"value": models.list_subscription_definitions(ctx.world, ctx.params["sub"])}
