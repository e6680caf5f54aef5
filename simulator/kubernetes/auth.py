"""Who is calling a cluster's API and what they may do.

Local accounts: the bearer token of the cluster's kubeconfig (``clusterUser`` / ``clusterAdmin``,
both cluster-admin, as on AKS), refused when ``disableLocalAccounts`` is set. Entra-integrated
clusters (``aadProfile``) also take Entra tokens for the AKS server application; those callers
are then authorized by Azure RBAC data actions (``enableAzureRBAC``) or, with Kubernetes RBAC,
as cluster-admin only through ``adminGroupObjectIDs`` (no RoleBindings are modelled).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Any

import jwt

from simulator.core import authz
from simulator.core.routing import Ctx
from simulator.kubernetes import errors

AKS_SERVER_APP = "6dae42f8-4368-4678-94ff-3960e28e3630"
VERBS = {"get": "read", "list": "read", "watch": "read", "create": "write", "update": "write",
         "patch": "write", "delete": "delete", "deletecollection": "delete"}


@dataclass
class User:
    name: str
    object_id: str | None = None  # Entra callers
    admin: bool = False


def authenticate(ctx: Ctx, cluster: dict[str, Any]) -> User:
    header = ctx.headers.get("authorization", "")
    if not header.lower().startswith("bearer "):
        raise errors.unauthorized()
    token = header[7:].strip()
    props = cluster["properties"]
    local = cluster.get("_kubeconfig") or {}
    if not props.get("disableLocalAccounts"):
        for name, which in (("clusterAdmin", "admin_token"), ("clusterUser", "user_token")):
            if local.get(which) and hmac.compare_digest(token, local[which]):
                return User(name, admin=True)
    aad = props.get("aadProfile")
    if aad:
        try:
            claims = ctx.server.issuer.verify(token, [AKS_SERVER_APP, f"spn:{AKS_SERVER_APP}"])
        except jwt.PyJWTError as exc:
            raise errors.unauthorized() from exc
        if claims.get("tid", "").lower() != (aad.get("tenantID") or ctx.world.tenant_id).lower():
            raise errors.unauthorized()
        oid = claims["oid"]
        groups = authz.principal_set(ctx.world, oid)
        admin = any(g.lower() in groups for g in aad.get("adminGroupObjectIDs") or [])
        return User(claims.get("upn") or claims.get("preferred_username") or oid, oid, admin)
    raise errors.unauthorized()


def authorize(ctx: Ctx, cluster: dict[str, Any], user: User, verb: str, group: str, plural: str,
              namespace: str | None, name: str | None = None) -> None:
    if user.admin:
        return
    aad = cluster["properties"].get("aadProfile") or {}
    if aad.get("enableAzureRBAC") and user.object_id:
        resource = f"{group}/{plural}" if group else plural
        action = f"Microsoft.ContainerService/managedClusters/{resource}/{VERBS.get(verb, 'read')}"
        scopes = [cluster["id"]] + ([f"{cluster['id']}/namespaces/{namespace}"] if namespace
                                    else [])
        if any(authz.is_permitted(ctx.world, user.object_id, action, s, data=True)
               for s in scopes):
            return
        # AKS's webhook authorizer appends its reason to the API server's usual words
        denied = errors.forbidden(user.name, verb, group, plural, namespace, name)
        denied.body["message"] += (": User does not have access to the resource in Azure. "
                                   "Update role assignment to allow access.")
        raise denied
    raise errors.forbidden(user.name, verb, group, plural, namespace, name)
