"""Long-running operations the way ARM runs them.

A handler starts an operation with :func:`begin` and answers with the headers ARM uses
(``Azure-AsyncOperation`` and/or ``Location`` plus ``retry-after-ms`` so clients poll fast).
The status endpoints below serve every resource provider.
"""

from __future__ import annotations

from typing import Any

from simulator.core import errors
from simulator.core.ids import parse
from simulator.core.routing import Ctx, Reply, route
from simulator.core.world import public
from simulator.identity.models import iso


def _urls(ctx: Ctx, op_id: str, namespace: str, location: str, resource_id: str
          ) -> tuple[str, str]:
    sub = parse(ctx.path).subscription
    base = ctx.base_url.rstrip("/")
    tail = f"?api-version={ctx.api_version}"
    if "/providers/microsoft.network/privatednszones/" in resource_id.lower():
        # Private DNS polls its own types under the zone's resource group (its examples' URLs),
        # which answer Private DNS's api-versions, not Microsoft.Network's
        rg = f"{base}/subscriptions/{sub}/resourceGroups/{parse(resource_id).resource_group}"
        root = f"{rg}/providers/Microsoft.Network/privateDnsOperation"
        return f"{root}Statuses/{op_id}{tail}", f"{root}Results/{op_id}{tail}"
    root = f"{base}/subscriptions/{sub}/providers/{namespace}/locations/{location}"
    return f"{root}/operations/{op_id}{tail}", f"{root}/operationresults/{op_id}{tail}"


def conflict_if_busy(ctx: Ctx, resource_id: str, what: str = "managed cluster") -> None:
    op = ctx.world.running_operation(resource_id)
    if op:
        raise errors.arm_error(
            409, "OperationNotAllowed",
            f"Operation is not allowed because there's an in progress {op['kind']} {what} "
            f"operation with operation ID '{op['id']}' on resource '{resource_id}'. Please "
            "wait for the operation to complete before starting a new operation. See "
            "https://aka.ms/aks-pending-operation for more details",
        )


def begin(
    ctx: Ctx,
    *,
    resource_id: str,
    kind: str,
    namespace: str,
    location: str,
    status: int,
    body: Any = None,
    apply: dict[str, Any] | None = None,
    headers: tuple[str, ...] = ("Azure-AsyncOperation",),
) -> Reply:
    op_id = ctx.world.begin_operation(resource_id=resource_id, kind=kind, apply=apply)
    async_url, location_url = _urls(ctx, op_id, namespace, location, resource_id)
    out = {"retry-after-ms": str(ctx.world.settings["retry_after_ms"]),
           "Retry-After": "1"}
    if "Azure-AsyncOperation" in headers:
        out["Azure-AsyncOperation"] = async_url
    if "Location" in headers:
        out["Location"] = location_url
    return Reply(status, public(body) if body is not None else None, out)


@route("GET", "/subscriptions/{sub}/providers/{ns}/locations/{loc}/operations/{op}", action="")
@route("GET", "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Network/"
              "privateDnsOperationStatuses/{op}", action="")
def operation_status(ctx: Ctx) -> Any:
    op = ctx.world.operation(ctx.params["op"])
    if op is None:
        raise errors.arm_error(404, "NotFound", f"Operation '{ctx.params['op']}' not found.")
    doc = {"id": ctx.path, "name": op["id"], "status": op["status"],
           "startTime": iso(op["startTime"])}
    if op["status"] != "InProgress":
        doc["endTime"] = iso(op.get("endTime", op["done_at"]))
    return Reply(200, doc, {"retry-after-ms": str(ctx.world.settings["retry_after_ms"])})


@route("GET", "/subscriptions/{sub}/providers/{ns}/locations/{loc}/operationresults/{op}",
       action="")
@route("GET", "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Network/"
              "privateDnsOperationResults/{op}", action="")
def operation_result(ctx: Ctx) -> Any:
    op = ctx.world.operation(ctx.params["op"])
    if op is None:
        raise errors.arm_error(404, "NotFound", f"Operation '{ctx.params['op']}' not found.")
    if op["status"] == "InProgress":
        return Reply(202, None, {"Location": ctx.base_url.rstrip("/") + ctx.path + "?" +
                                 ctx.raw_query,
                                 "retry-after-ms": str(ctx.world.settings["retry_after_ms"])})
    res = ctx.world.get(op["resource_id"])
    if op["kind"] == "delete" or res is None:
        return Reply(204)
    return Reply(200, public(res))
