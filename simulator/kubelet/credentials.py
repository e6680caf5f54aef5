"""The credentials a pull tries, in kubelet order, and whether each can authorize: the pod's
image pull secrets (its service account's when it names none), then what the node's credential
provider returns (see :mod:`simulator.kubelet.pull`)."""

from __future__ import annotations

import base64
import fnmatch
import json
from dataclasses import dataclass
from typing import Any

from simulator.core import authz
from simulator.core.errors import CloudError
from simulator.core.world import World
from simulator.kubelet.reference import ImageRef

PULL_ACTION = "Microsoft.ContainerRegistry/registries/pull/read"
CONTENT_READ = "Microsoft.ContainerRegistry/registries/repositories/content/read"
TOKEN_USER = "00000000-0000-0000-0000-000000000000"


def repo_exists(registry: dict[str, Any], repo: str) -> bool:
    return repo in (registry.get("_repositories") or {})


@dataclass
class Attempt:
    kind: str  # secret | identity | service-principal | anonymous
    cause: str = ""  # why this credential cannot authorize ("" when it can)
    fallback_cause: str = ""  # for anonymous: why the node's credential was not there


# -- credentials -------------------------------------------------------------------------------
def secret_entries(world: World, cluster: dict[str, Any], pod: dict[str, Any], host: str
                    ) -> list[tuple[str, str]]:
    """(username, password) of each image pull secret entry matching ``host``, in kubelet
    order; the service account's secrets stand in when the pod names none (admission copies
    them at creation)."""
    from simulator.kubernetes import store

    key, ns = cluster.get("_k8s_key", ""), pod["metadata"].get("namespace", "default")
    refs = pod["spec"].get("imagePullSecrets") or []
    if not refs:
        sa = store.get(world, key, "serviceaccounts", pod["spec"].get("serviceAccountName")
                       or "default", ns) or {}
        refs = sa.get("imagePullSecrets") or []
    out = []
    for ref in refs:
        secret = store.get(world, key, "secrets", ref.get("name", ""), ns)
        data = (secret or {}).get("data") or {}
        try:
            if ".dockerconfigjson" in data:
                auths = json.loads(base64.b64decode(data[".dockerconfigjson"])).get("auths", {})
            elif ".dockercfg" in data:
                auths = json.loads(base64.b64decode(data[".dockercfg"]))
            else:
                continue
        except ValueError:
            continue
        for server, entry in auths.items():
            if not _server_matches(server, host):
                continue
            user, password = entry.get("username"), entry.get("password")
            if (not user or password is None) and entry.get("auth"):
                user, _, password = base64.b64decode(entry["auth"]).decode().partition(":")
            out.append((user or "", password or ""))
    return out


def _server_matches(server: str, host: str) -> bool:
    s = server.lower().removeprefix("https://").removeprefix("http://").split("/")[0]
    return fnmatch.fnmatch(host.lower(), s)


def _allowed(world: World, principal: str, registry: dict[str, Any]) -> str:
    """"" when the principal may pull, else the cause."""
    if registry["properties"].get("roleAssignmentMode") == "AbacRepositoryPermissions":
        if authz.is_permitted(world, principal, CONTENT_READ, registry["id"], data=True):
            return ""
        return "abac_repository_role_missing"
    return "" if authz.is_permitted(world, principal, PULL_ACTION, registry["id"]) else \
        "pull_role_missing"


def secret_attempt(world: World, registry: dict[str, Any], user: str, password: str) -> Attempt:
    from simulator.containerregistry.models import check_admin_login
    from simulator.identity.models import check_client_secret

    if user.lower() == registry["name"].lower():
        ok = check_admin_login(registry, user, password)
        return Attempt("secret", "" if ok else "pull_secret_admin_invalid")
    if user == TOKEN_USER:  # an ACR token pasted into a secret: long expired
        return Attempt("secret", "pull_secret_token_expired")
    try:
        sp = check_client_secret(world, user, password)
    except CloudError as exc:
        codes = exc.body.get("error_codes") or [0]
        return Attempt("secret", "pull_secret_sp_expired" if codes[0] == 7000222
                       else "pull_secret_sp_invalid")
    denied = _allowed(world, sp["id"], registry)
    return Attempt("secret", denied and "pull_secret_sp_" + denied)


def _cluster_sp(world: World, cluster: dict[str, Any]) -> tuple[str | None, str]:
    """(the SP's object id, why its secret does not sign in)."""
    from simulator.identity.models import app_by_app_id, parse_time, sp_by_app_id

    client_id = cluster["properties"]["servicePrincipalProfile"]["clientId"]
    sp, app = sp_by_app_id(world, client_id), app_by_app_id(world, client_id)
    if sp is None or app is None:
        return None, "cluster_sp_missing"
    digest = (cluster.get("_service_principal") or {}).get("secret_hash")
    creds = [c for c in app["passwordCredentials"] + sp.get("passwordCredentials", [])
             if c.get("_hash") == digest]
    if not creds:
        return sp["id"], "cluster_sp_secret_invalid"
    if all(parse_time(c["endDateTime"]) <= world.now() for c in creds):
        return sp["id"], "cluster_sp_secret_expired"
    if not sp.get("accountEnabled", True):
        return sp["id"], "cluster_sp_disabled"
    return sp["id"], ""


def node_credential(world: World, cluster: dict[str, Any], profile: dict[str, Any],
                     registry: dict[str, Any], ref: ImageRef, blocked: bool
                     ) -> tuple[Attempt | None, str]:
    """What the node's credential provider returns: an attempt, or None and why."""
    from simulator.compute.models import has_identity
    from simulator.containerservice.models import pool_vmss_id

    kubelet = (cluster["properties"].get("identityProfile") or {}).get("kubeletidentity")
    if kubelet is None:
        sp_id, problem = _cluster_sp(world, cluster)
        denied = _allowed(world, sp_id, registry) if sp_id and not problem else ""
        return Attempt("service-principal", problem or denied), ""
    vmss = world.get(pool_vmss_id(cluster, profile))
    if vmss is None or not has_identity(vmss, kubelet["resourceId"]):
        return None, "kubelet_identity_not_on_vmss"
    if blocked:  # the AAD -> ACR token exchange goes through the same network
        return None, ""
    denied = _allowed(world, kubelet["objectId"], registry)
    if denied:
        return None, denied  # ACR refuses the exchange
    if not repo_exists(registry, ref.repository):
        return None, "repository_not_found"
    return Attempt("identity"), ""


