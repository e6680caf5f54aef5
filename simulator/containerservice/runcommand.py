"""``managedClusters/runCommand`` and ``commandResults``: what ``az aks command invoke`` uses.

POST ``runCommand`` with a ``RunCommandRequest {command, context, clusterToken}`` answers 202
with a ``Location`` of ``commandResults/{id}``; that URL answers 202 with the result so far
(``provisioningState: Running``) until the command's pod finished, then 200 with the
``RunCommandResult {id, properties {provisioningState, exitCode, startedAt, finishedAt, logs,
reason}}``. The command runs when it is submitted (see :mod:`kubectl`); its logs are revealed
when the operation completes, as AKS reveals them when the pod ends.
"""

from __future__ import annotations

import uuid
from typing import Any

from simulator.containerservice import kubectl, models
from simulator.core import errors
from simulator.core.routing import Ctx, Reply
from simulator.identity.models import iso

STATE_KEY = "aks_commands"


def _cluster(ctx: Ctx) -> dict[str, Any]:
    p = ctx.params
    return ctx.world.must_get(models.cluster_id(p["sub"], p["rg"], p["name"]))


def _result_url(ctx: Ctx, cluster: dict[str, Any], command_id: str) -> str:
    return (f"{ctx.base_url.rstrip('/')}{cluster['id']}/commandResults/{command_id}"
            f"?api-version={ctx.api_version}")


def run_command(ctx: Ctx) -> Reply:
    cluster = _cluster(ctx)
    body = ctx.json()
    command = (body or {}).get("command") if isinstance(body, dict) else None
    if not command or not str(command).strip():
        raise errors.bad_request("InvalidParameter", "The value of parameter command is "
                                 "invalid. Command cannot be empty.")
    props = cluster["properties"]
    if (props.get("powerState") or {}).get("code") == "Stopped":
        raise errors.bad_request(
            "BadRequest", "Operation is not allowed because the managed cluster is in stopped "
            "state. Please start the cluster and try again.")
    aad = props.get("aadProfile") or {}
    token = body.get("clusterToken") or None
    if token is None and not aad:
        token = cluster["_kubeconfig"]["admin_token"]  # local accounts: cluster-admin
    session = kubectl.Run(ctx, cluster, token, kubectl.files_of(body.get("context")))
    started = ctx.world.now()
    exit_code = kubectl.run(session, str(command))
    command_id = uuid.uuid4().hex
    op_id = ctx.world.begin_operation(resource_id=f"{cluster['id']}/commandResults/{command_id}",
                                      kind="runCommand")
    ctx.world.state.setdefault(STATE_KEY, {})[command_id] = {
        "cluster": cluster["id"].lower(), "op": op_id, "exitCode": exit_code,
        "logs": "".join(session.out), "startedAt": started}
    return Reply(202, None, {"Location": _result_url(ctx, cluster, command_id),
                             "Retry-After": "1",
                             "retry-after-ms": str(ctx.world.settings["retry_after_ms"])})


def command_result(ctx: Ctx) -> Reply:
    cluster = _cluster(ctx)
    command_id = ctx.params["command"]
    rec = (ctx.world.state.get(STATE_KEY) or {}).get(command_id)
    if rec is None or rec["cluster"] != cluster["id"].lower():
        raise errors.arm_error(404, "NotFound", f"Command result '{command_id}' is not found.")
    op = ctx.world.operation(rec["op"])
    doc: dict[str, Any] = {"id": command_id, "properties": {
        "provisioningState": "Running", "startedAt": iso(rec["startedAt"])}}
    if op is None or op["status"] == "InProgress":
        return Reply(202, doc, {"Location": _result_url(ctx, cluster, command_id),
                                "Retry-After": "1",
                                "retry-after-ms": str(ctx.world.settings["retry_after_ms"])})
    doc["properties"].update(provisioningState="Succeeded", exitCode=rec["exitCode"],
                             finishedAt=iso(op.get("endTime", op["done_at"])),
                             logs=rec["logs"])
    return Reply(200, doc)
