"""Managed cluster and agent pool endpoints: parse, one model call, render."""

from __future__ import annotations

from typing import Any

from simulator.containerservice import kubeconfig, models, operations
from simulator.core import errors, lro
from simulator.core.routing import Ctx, Reply
from simulator.core.world import public
from simulator.resources.models import get_subscription

NS = "Microsoft.ContainerService"


def _id(ctx: Ctx) -> str:
    p = ctx.params
    return models.cluster_id(p["sub"], p["rg"], p["name"])


def _cluster(ctx: Ctx) -> dict[str, Any]:
    return ctx.world.must_get(_id(ctx))


def get_cluster(ctx: Ctx) -> Any:
    return public(_cluster(ctx))


def list_clusters(ctx: Ctx) -> Any:
    get_subscription(ctx.world, ctx.params["sub"])
    scope = f"/subscriptions/{ctx.params['sub']}"
    if ctx.params.get("rg"):
        scope += f"/resourceGroups/{ctx.params['rg']}"
        ctx.world.require_scope(scope)
    return {"value": [public(c) for c in ctx.world.of_type(models.CLUSTER_TYPE, scope)]}


def _set_state(doc: dict[str, Any], state: str) -> None:
    doc["properties"]["provisioningState"] = state
    doc["eTag"] = models.etag()


def put_cluster(ctx: Ctx) -> Any:
    body = ctx.json()
    existing = ctx.world.get(_id(ctx))
    if existing is not None:
        lro.conflict_if_busy(ctx, existing["id"])
        apply = operations.reconcile(ctx.world, existing, body)
        _set_state(existing, "Updating")
        return lro.begin(ctx, resource_id=existing["id"], kind="update", namespace=NS,
                         location=existing["location"], status=200, body=existing, apply=apply)
    ctx.world.require_scope(_id(ctx))
    plan = operations.plan_from_body(ctx.params["sub"], ctx.params["rg"], ctx.params["name"],
                                     body)
    doc = models.create_cluster(ctx.world, plan)
    final = [dict(p) for p in doc["properties"]["agentPoolProfiles"]]
    for p in doc["properties"]["agentPoolProfiles"]:
        p["provisioningState"] = "Creating"
    _set_state(doc, "Creating")
    return lro.begin(ctx, resource_id=doc["id"], kind="create", namespace=NS,
                     location=doc["location"], status=201, body=doc,
                     apply={"properties": {"agentPoolProfiles": final}})


def update_tags(ctx: Ctx) -> Any:
    cluster = _cluster(ctx)
    lro.conflict_if_busy(ctx, cluster["id"])
    cluster["tags"] = dict(ctx.json().get("tags") or {})
    _set_state(cluster, "Updating")
    return lro.begin(ctx, resource_id=cluster["id"], kind="update", namespace=NS,
                     location=cluster["location"], status=200, body=cluster, apply={})


def delete_cluster(ctx: Ctx) -> Any:
    cluster = ctx.world.get(_id(ctx))
    if cluster is None:
        ctx.world.require_scope(_id(ctx))
        return Reply(204)
    lro.conflict_if_busy(ctx, cluster["id"])
    _set_state(cluster, "Deleting")
    sub = ctx.params["sub"]
    # AKS deletes the node resource group (and everything in it) with the cluster
    ctx.world.begin_operation(
        resource_id=f"/subscriptions/{sub}/resourceGroups/"
                    f"{cluster['properties']['nodeResourceGroup']}", kind="delete")
    return lro.begin(ctx, resource_id=cluster["id"], kind="delete", namespace=NS,
                     location=cluster["location"], status=202,
                     headers=("Azure-AsyncOperation", "Location"))


def reset_service_principal_profile(ctx: Ctx) -> Any:
    cluster = _cluster(ctx)
    lro.conflict_if_busy(ctx, cluster["id"])
    apply = operations.reset_service_principal(cluster, ctx.json())
    _set_state(cluster, "Updating")
    return lro.begin(ctx, resource_id=cluster["id"], kind="update", namespace=NS,
                     location=cluster["location"], status=202, headers=("Location",),
                     apply=apply)


def _credentials(ctx: Ctx, admin: bool) -> Any:
    cluster = _cluster(ctx)
    if cluster["properties"].get("disableLocalAccounts") and admin:
        raise errors.bad_request(
            "BadRequest", "Getting static credential is not allowed because this cluster is "
            "set to disable local accounts.")
    return kubeconfig.credential_results(cluster, base_url=ctx.base_url,
                                         ca_cert=ctx.server.tls.ca_cert, admin=admin)


def list_user_credentials(ctx: Ctx) -> Any:
    return _credentials(ctx, admin=False)


def list_admin_credentials(ctx: Ctx) -> Any:
    return _credentials(ctx, admin=True)


def list_agent_pools(ctx: Ctx) -> Any:
    cluster = _cluster(ctx)
    return {"value": [public(models.agent_pool_doc(cluster, p))
                      for p in cluster["properties"]["agentPoolProfiles"]]}


def get_agent_pool(ctx: Ctx) -> Any:
    cluster = _cluster(ctx)
    profile = models.find_pool(cluster, ctx.params["pool"])
    if profile is None:
        raise errors.not_found(models.POOL_TYPE, f"{cluster['name']}/{ctx.params['pool']}",
                               ctx.params["rg"])
    return public(models.agent_pool_doc(cluster, profile))
