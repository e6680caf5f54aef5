"""The entry point of every ``/k8s/<cluster key>/...`` request: find the cluster,
authenticate, bring the cluster up to date (``sync``), route to discovery or a resource verb,
authorize, and after a write let the controllers react before answering the next request."""

from __future__ import annotations

from typing import Any

from simulator.core.routing import Ctx, Reply, Unreachable
from simulator.kubernetes import api, auth, discovery, errors, sync
from simulator.kubernetes.resources import ResourceType, lookup

NOT_FOUND = "the server could not find the requested resource"


def _cluster(ctx: Ctx) -> tuple[str, dict[str, Any]]:
    from simulator.containerservice.models import by_k8s_key

    key = ctx.params["key"]
    cluster = by_k8s_key(ctx.world, key)
    if cluster is None:
        raise errors.status_error(404, NOT_FOUND, "NotFound")
    return key, cluster


def _reachable(ctx: Ctx, cluster: dict[str, Any]) -> None:
    """A stopped cluster has no API server; a private one listens only inside its VNet."""
    props = cluster["properties"]
    if (props.get("powerState") or {}).get("code") == "Stopped":
        raise Unreachable(f"cluster {cluster['name']} is stopped")
    if (props.get("apiServerAccessProfile") or {}).get("enablePrivateCluster") and \
            not ctx.inside:
        raise Unreachable(f"cluster {cluster['name']} has a private API server")


def handle(ctx: Ctx) -> Any:
    key, cluster = _cluster(ctx)
    _reachable(ctx, cluster)
    user = auth.authenticate(ctx, cluster)
    sync.sync(ctx.world, key, cluster)
    parts = [p for p in ctx.params.get("rest", "").split("/") if p]
    doc = _discovery(ctx, cluster, parts)
    if doc is not None:
        return doc
    reply = _resource(ctx, key, cluster, user, parts)
    if ctx.method != "GET":
        sync.sync(ctx.world, key, cluster)
    return reply


def _discovery(ctx: Ctx, cluster: dict[str, Any], parts: list[str]) -> Any:
    if ctx.method != "GET":
        return None
    path = "/".join(parts)
    if path == "":
        return {"paths": ["/api", "/api/v1", "/apis", "/apis/apps", "/apis/apps/v1", "/apis/batch",
                          "/apis/batch/v1", "/version"]}
    if path == "version":
        return discovery.version(cluster["properties"].get("currentKubernetesVersion")
                                 or cluster["properties"]["kubernetesVersion"])
    if path == "api":
        return discovery.api_versions(ctx.headers.get("host", ""))
    if path == "apis":
        return discovery.api_groups()
    if path == "api/v1":
        return discovery.resource_list("", "v1")
    if parts[0] == "apis" and len(parts) in (2, 3):
        doc = discovery.api_group(parts[1]) if len(parts) == 2 else \
            discovery.resource_list(parts[1], parts[2])
        if doc is None:
            raise errors.status_error(404, NOT_FOUND, "NotFound")
        return doc
    if parts[0] in ("openapi", "healthz", "livez", "readyz"):
        if parts[0] != "openapi":
            return Reply(200, b"ok", content_type="text/plain")
        raise errors.status_error(404, NOT_FOUND, "NotFound")
    return None


def _parse(parts: list[str]) -> tuple[ResourceType, str | None, str | None, str | None]:
    """(type, namespace, name, subresource) of a resource path."""
    if parts[:2] == ["api", "v1"]:
        group, version, rest = "", "v1", parts[2:]
    elif parts[:1] == ["apis"] and len(parts) >= 4:
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        raise errors.status_error(404, NOT_FOUND, "NotFound")
    ns = None
    if len(rest) >= 3 and rest[0] == "namespaces" and (t := lookup(group, version, rest[2])) \
            and t.namespaced:
        ns, rest = rest[1], rest[2:]
    t = lookup(group, version, rest[0])
    if t is None or len(rest) > 3 or (ns is None and t.namespaced and len(rest) > 1):
        raise errors.status_error(404, NOT_FOUND, "NotFound")
    name = rest[1] if len(rest) > 1 else None
    sub = rest[2] if len(rest) > 2 else None
    if sub and sub not in ("status", "scale", "log"):
        raise errors.status_error(404, NOT_FOUND, "NotFound")
    return t, ns, name, sub


VERBS = {("GET", False): "list", ("GET", True): "get", ("POST", False): "create",
         ("PUT", True): "update", ("PATCH", True): "patch", ("DELETE", True): "delete",
         ("DELETE", False): "deletecollection"}


def _resource(ctx: Ctx, key: str, cluster: dict[str, Any], user: auth.User,
              parts: list[str]) -> Reply:
    t, ns, name, sub = _parse(parts)
    verb = VERBS.get((ctx.method, name is not None))
    if verb is None or (verb == "list" and ctx.q("watch") in ("true", "1")):
        raise errors.status_error(405, "the server does not allow this method on the requested "
                                  "resource", "MethodNotAllowed")
    auth.authorize(ctx, cluster, user, verb, t.group, t.plural if not sub else f"{t.plural}/{sub}",
                   ns, name)
    if verb == "list":
        return api.list_objects(ctx, key, t, ns)
    if verb == "create":
        if t.namespaced and ns is None:
            raise errors.status_error(405, "the server does not allow this method on the "
                                      "requested resource", "MethodNotAllowed")
        return api.create_object(ctx, key, t, ns)
    if verb == "deletecollection":
        return api.delete_collection(ctx, key, t, ns)
    assert name is not None
    if sub == "log":
        if t.plural != "pods" or verb != "get":
            raise errors.status_error(404, NOT_FOUND, "NotFound")
        return api.pod_log(ctx, key, ns or "default", name)
    if sub == "scale" and t.plural not in ("deployments", "replicasets", "statefulsets"):
        raise errors.status_error(404, NOT_FOUND, "NotFound")
    if verb == "get":
        if sub == "scale":
            return Reply(200, api.scale_of(api.must_get(ctx.world, key, t, ns, name)))
        return api.get_object(ctx, key, t, ns, name)
    if verb == "update":
        return api.update_object(ctx, key, t, ns, name, sub)
    if verb == "patch":
        return api.patch_object(ctx, key, t, ns, name, sub)
    if sub:
        raise errors.status_error(405, "the server does not allow this method on the requested "
                                  "resource", "MethodNotAllowed")
    return api.delete_object(ctx, key, t, ns, name)
