"""Who a registry request comes from and what it may do: the firewall, credentials, ACR tokens
and the RBAC/ABAC check, all from world state.

ACR's own token service: an Entra token (audience ``https://containerregistry.azure.net``, or
ARM's while ``azureADAuthenticationAsArmPolicy`` is enabled) is exchanged for a registry refresh
token, which buys access tokens for ``repository:<repo>:<actions>`` scopes. Admin user,
service-principal secret (basic auth) and anonymous pull reach the same access tokens.
Permissions are evaluated again on every request, so revoking a role takes effect at once.
"""

from __future__ import annotations

import base64
import ipaddress
import re
from dataclasses import dataclass
from typing import Any

import jwt

from simulator.containerregistry.models import check_admin_login
from simulator.core import authz
from simulator.core.errors import CloudError
from simulator.core.routing import Ctx

ZERO_GUID = "00000000-0000-0000-0000-000000000000"  # the user name that carries a refresh token
ACR_AUDIENCE = "https://containerregistry.azure.net"
AUTH_MESSAGE = "authentication required, visit https://aka.ms/acr/authorization for more information."
REFRESH_LIFETIME = 3 * 3600
ACCESS_LIFETIME = 75 * 60

_REG = "Microsoft.ContainerRegistry/registries"
# scope action -> (legacy RBAC action, ABAC data action)
ACTIONS = {
    "pull": (f"{_REG}/pull/read", f"{_REG}/repositories/content/read"),
    "metadata_read": (f"{_REG}/pull/read", f"{_REG}/repositories/metadata/read"),
    "push": (f"{_REG}/push/write", f"{_REG}/repositories/content/write"),
    "metadata_write": (f"{_REG}/push/write", f"{_REG}/repositories/metadata/write"),
    "delete": (f"{_REG}/artifacts/delete", f"{_REG}/repositories/content/delete"),
    "catalog": (f"{_REG}/pull/read", f"{_REG}/catalog/read"),
}


def acr_error(status: int, code: str, message: str, detail: Any = None,
              headers: dict[str, str] | None = None) -> CloudError:
    return CloudError(status, {"errors": [{"code": code, "message": message, "detail": detail}]},
                      {"Docker-Distribution-Api-Version": "registry/2.0", **(headers or {})})


def challenge(host: str, scope: str | None = None, error: str | None = None) -> str:
    value = f'Bearer realm="https://{host}/oauth2/token",service="{host}"'
    if scope:
        value += f',scope="{scope}"'
    if error:
        value += f',error="{error}"'
    return value


def unauthorized(host: str, scope: str | None = None, detail: Any = None,
                 error: str | None = None) -> CloudError:
    return acr_error(401, "UNAUTHORIZED", AUTH_MESSAGE, detail,
                     {"WWW-Authenticate": challenge(host, scope, error)})


# -- network rules -------------------------------------------------------------------------------
def client_ip(world: Any) -> str:
    return str(world.settings.get("client_public_ip") or "198.51.100.7")


def check_firewall(world: Any, doc: dict[str, Any]) -> None:
    """Public access as seen from the client's public egress address."""
    ip = client_ip(world)
    props = doc["properties"]
    rules = props.get("networkRuleSet") or {}
    if props.get("publicNetworkAccess") == "Disabled":
        allowed = False
    elif rules.get("defaultAction", "Allow") == "Allow":
        allowed = True
    else:
        addr = ipaddress.ip_address(ip)
        allowed = any(addr in ipaddress.ip_network(r["value"], strict=False)
                      for r in rules.get("ipRules") or [] if r.get("action", "Allow") == "Allow")
    if not allowed:
        raise acr_error(403, "DENIED", f"client with IP '{ip}' is not allowed access. Refer "
                        "https://aka.ms/acr/firewall to grant access.")


# -- identities and permissions --------------------------------------------------------------------
@dataclass(frozen=True)
class Identity:
    kind: str  # aad | admin | anonymous
    subject: str  # object id (aad), registry name (admin) or "anonymous"
    app_id: str | None = None


def parse_scope(scope: str) -> dict[str, Any] | None:
    """``repository:<name>:<a,b>`` / ``registry:catalog:*`` → {type, name, actions}."""
    m = re.fullmatch(r"(repository|registry):(.+):([a-z_*,]+)", scope.strip())
    if not m:
        return None
    return {"type": m[1], "name": m[2], "actions": m[3].split(",")}


def _allows(world: Any, doc: dict[str, Any], who: Identity, action: str) -> bool:
    props = doc["properties"]
    if who.kind == "admin":
        return bool(props.get("adminUserEnabled"))
    if who.kind == "anonymous":
        # anonymous pull is pull only: no catalog, no metadata API
        return bool(props.get("anonymousPullEnabled")) and action == "pull"
    legacy, data_action = ACTIONS[action]
    if props.get("roleAssignmentMode") == "AbacRepositoryPermissions":
        # ABAC mode honours only the ABAC-enabled roles' data actions (AcrPull is ignored)
        return authz.is_permitted(world, who.subject, data_action, doc["id"], data=True)
    return authz.is_permitted(world, who.subject, legacy, doc["id"])


def granted(world: Any, doc: dict[str, Any], who: Identity, item: dict[str, Any]) -> list[str]:
    """The subset of the scope item's actions the identity holds now."""
    if item["type"] == "registry":
        ok = item["name"] == "catalog" and _allows(world, doc, who, "catalog")
        return ["*"] if ok else []
    out = []
    for a in item["actions"]:
        names = ["pull", "push", "delete"] if a == "*" else [a]
        if all(n in ACTIONS and _allows(world, doc, who, n) for n in names):
            out.append(a)
    return out


def can_pull(world: Any, doc: dict[str, Any], who: Identity, repo: str) -> bool:
    """Would ``who`` get a pull token for ``repo`` now (the kubelet's question)?"""
    item = {"type": "repository", "name": repo, "actions": ["pull"]}
    return still_valid(world, doc, who) and granted(world, doc, who, item) == ["pull"]


def covers(access: list[dict[str, Any]], needed: dict[str, Any]) -> bool:
    for a in access:
        if a["type"] == needed["type"] and a["name"] == needed["name"]:
            if "*" in a["actions"] or set(needed["actions"]) <= set(a["actions"]):
                return True
    return False


# -- ACR tokens ------------------------------------------------------------------------------------
def issue(ctx: Ctx, doc: dict[str, Any], who: Identity, *, refresh: bool,
          access: list[dict[str, Any]] | None = None) -> str:
    host = doc["properties"]["loginServer"]
    extra: dict[str, Any] = {"iss": "Azure Container Registry", "version": "1.0",
                             "grant_type": "refresh_token" if refresh else "access_token",
                             "kind": who.kind, "tenant": ctx.world.tenant_id}
    if not refresh:
        extra["access"] = access or []
    token, _ = ctx.server.issuer.issue(
        tenant_id=ctx.world.tenant_id, audience=host, object_id=who.subject, app_id=who.app_id,
        lifetime=REFRESH_LIFETIME if refresh else ACCESS_LIFETIME, extra=extra)
    return token


def verify(ctx: Ctx, doc: dict[str, Any], token: str, grant: str) -> tuple[Identity, dict[str, Any]]:
    """An ACR token of kind ``grant`` issued for this registry, or raise 401."""
    host = doc["properties"]["loginServer"]
    try:
        claims = ctx.server.issuer.verify(token, [host])
    except jwt.PyJWTError as exc:
        raise unauthorized(host) from exc
    if claims.get("grant_type") != grant or claims.get("iss") != "Azure Container Registry":
        raise unauthorized(host)
    return Identity(claims["kind"], claims["oid"], claims.get("appid")), claims


def from_entra_token(ctx: Ctx, doc: dict[str, Any], token: str) -> Identity:
    host = doc["properties"]["loginServer"]
    audiences = [ACR_AUDIENCE, ACR_AUDIENCE + "/"]
    policy = (doc["properties"].get("policies") or {}).get("azureADAuthenticationAsArmPolicy")
    if (policy or {}).get("status", "enabled") == "enabled":
        audiences += list(ctx.server.arm_audiences)
    try:
        claims = ctx.server.issuer.verify(token, audiences)
    except jwt.PyJWTError as exc:
        raise unauthorized(host) from exc
    if claims["tid"].lower() != ctx.world.tenant_id.lower():
        raise unauthorized(host)
    return Identity("aad", claims["oid"], claims.get("appid"))


def from_basic(ctx: Ctx, doc: dict[str, Any], header: str) -> Identity:
    host = doc["properties"]["loginServer"]
    try:
        user, _, password = base64.b64decode(header.split(" ", 1)[1]).decode().partition(":")
    except (ValueError, IndexError) as exc:
        raise unauthorized(host) from exc
    return login(ctx, doc, user, password)


def login(ctx: Ctx, doc: dict[str, Any], user: str, password: str) -> Identity:
    """``docker login`` credentials: the admin user, an SP appId + secret, or the zero GUID with
    a refresh token (what the kubelet's credential provider hands containerd)."""
    from simulator.identity.models import check_client_secret

    host = doc["properties"]["loginServer"]
    if user == ZERO_GUID:
        return verify(ctx, doc, password, "refresh_token")[0]
    if user.lower() == doc["name"].lower():
        if check_admin_login(doc, user, password):
            return Identity("admin", doc["name"])
        raise unauthorized(host)
    try:
        sp = check_client_secret(ctx.world, user, password)
    except CloudError as exc:
        raise unauthorized(host) from exc
    return Identity("aad", sp["id"], sp["appId"])


def still_valid(world: Any, doc: dict[str, Any], who: Identity) -> bool:
    """Does the identity a token was issued to still exist (admin user still enabled...)?"""
    props = doc["properties"]
    if who.kind == "admin":
        return bool(props.get("adminUserEnabled"))
    if who.kind == "anonymous":
        return bool(props.get("anonymousPullEnabled"))
    return True
