"""Microsoft.Authorization handlers: parse the scope and body, one model call, render."""

from __future__ import annotations

from typing import Any

from simulator.authorization import assignments, definitions
from simulator.authorization import exceptions as exc
from simulator.core import authz
from simulator.core.routing import Ctx, Reply

ROLE_DEFINITION_WRITE = "Microsoft.Authorization/roleDefinitions/write"


def _scope(ctx: Ctx) -> str:
    return "/" + ctx.params.get("scope", "").strip("/")


def _caller(ctx: Ctx) -> str | None:
    return ctx.caller.object_id if ctx.caller else None


# -- role assignments ----------------------------------------------------------------------------
def list_role_assignments(ctx: Ctx) -> Any:
    return {"value": assignments.list_role_assignments(ctx.world, _scope(ctx), ctx.q("$filter"))}


def get_role_assignment(ctx: Ctx) -> Any:
    return assignments.get_role_assignment(ctx.world, _scope(ctx), ctx.params["name"])


def create_role_assignment(ctx: Ctx) -> Any:
    doc, created = assignments.create_role_assignment_api(
        ctx.world, _scope(ctx), ctx.params["name"], ctx.json(), caller=_caller(ctx))
    return Reply(201 if created else 200, doc)


def delete_role_assignment(ctx: Ctx) -> Any:
    doc = assignments.delete_role_assignment(ctx.world, _scope(ctx), ctx.params["name"])
    return Reply(200, doc) if doc else Reply(204)


# -- role definitions ----------------------------------------------------------------------------
def list_role_definitions(ctx: Ctx) -> Any:
    return {"value": definitions.list_role_definitions(ctx.world, _scope(ctx), ctx.q("$filter"))}


def get_role_definition(ctx: Ctx) -> Any:
    return definitions.get_role_definition(ctx.world, _scope(ctx), ctx.params["id"])


def create_or_update_role_definition(ctx: Ctx) -> Any:
    caller = ctx.caller
    assert caller is not None

    def may_write(scope: str) -> None:
        if not authz.is_permitted(ctx.world, caller.object_id, ROLE_DEFINITION_WRITE, scope):
            raise exc.authorization_failed(caller.app_id, caller.object_id,
                                           ROLE_DEFINITION_WRITE, scope)

    doc = definitions.create_or_update_role_definition(
        ctx.world, _scope(ctx), ctx.params["id"], ctx.json(), may_write=may_write,
        caller=caller.object_id)
    return Reply(201, doc)


def delete_role_definition(ctx: Ctx) -> Any:
    doc = definitions.delete_role_definition(ctx.world, _scope(ctx), ctx.params["id"])
    return Reply(200, doc) if doc else Reply(204)


# -- permissions ---------------------------------------------------------------------------------
def list_permissions(ctx: Ctx) -> Any:
    caller = _caller(ctx)
    assert caller is not None
    return {"value": assignments.list_permissions(ctx.world, caller, _scope(ctx))}
