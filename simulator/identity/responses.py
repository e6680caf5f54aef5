"""Entra endpoints (discovery, OpenID configuration, JWKS, token) and the App Service-style
managed-identity endpoint. Thin: parse, one model call, render."""

from __future__ import annotations

from typing import Any

from simulator.core import errors
from simulator.core.routing import Ctx, Reply
from simulator.identity import models


def metadata_endpoints(ctx: Ctx) -> Any:
    return ctx.server.metadata()


def _tenant_ok(ctx: Ctx) -> str:
    tenant = ctx.params["tenant"]
    world = ctx.world
    if tenant.lower() in ("common", "organizations", world.tenant_id.lower()):
        return world.tenant_id
    domains = [d.lower() for d in world.state["scenario"].get("domains", [])]
    if tenant.lower() in domains:
        return world.tenant_id
    raise models.oauth_error(
        400, "invalid_tenant", 90002,
        f"AADSTS90002: Tenant '{tenant}' not found. Check to make sure you have the correct "
        "tenant ID and are signing into the correct cloud.",
    )


def instance_discovery(ctx: Ctx) -> Any:
    base = ctx.server.login_endpoint.rstrip("/")
    host = base.split("://", 1)[1]
    return {
        "tenant_discovery_endpoint": f"{base}/common/v2.0/.well-known/openid-configuration",
        "api-version": "1.1",
        "metadata": [{"preferred_network": host, "preferred_cache": host, "aliases": [host]}],
    }


def openid_configuration(ctx: Ctx) -> Any:
    tenant = _tenant_ok(ctx)
    base = ctx.server.login_endpoint.rstrip("/")
    t = tenant if ctx.params["tenant"].lower() not in ("common", "organizations") else "{tenantid}"
    return {
        "token_endpoint": f"{base}/{tenant}/oauth2/v2.0/token",
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt",
                                                  "client_secret_basic"],
        "jwks_uri": f"{base}/{tenant}/discovery/v2.0/keys",
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": ctx.server.issuer.issuer(t),
        "request_uri_parameter_supported": False,
        "userinfo_endpoint": f"{base}/oidc/userinfo",
        "authorization_endpoint": f"{base}/{tenant}/oauth2/v2.0/authorize",
        "device_authorization_endpoint": f"{base}/{tenant}/oauth2/v2.0/devicecode",
        "http_logout_supported": True,
        "frontchannel_logout_supported": True,
        "end_session_endpoint": f"{base}/{tenant}/oauth2/v2.0/logout",
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "acr", "nonce",
                             "tid", "oid", "appid", "ver"],
        "kerberos_endpoint": f"{base}/{tenant}/kerberos",
        "tenant_region_scope": "NA",
        "cloud_instance_name": "pullfix.sim",
        "cloud_graph_host_name": "graph.pullfix.sim",
        "msgraph_host": ctx.server.graph_endpoint.split("://", 1)[1].rstrip("/"),
        "rbac_url": ctx.server.base_url,
    }


def keys(ctx: Ctx) -> Any:
    return ctx.server.issuer.jwks()


def _audience(scope_or_resource: str) -> str:
    first = scope_or_resource.split()[0] if scope_or_resource.strip() else ""
    if first.endswith("/.default"):
        first = first[: -len("/.default")]
        if first.endswith("/") is False and first.startswith("https://"):
            # ARM accepts audiences with and without the trailing slash
            return first
    return first


def token(ctx: Ctx) -> Any:
    tenant = _tenant_ok(ctx)
    form = ctx.form()
    grant = form.get("grant_type", "")
    if grant != "client_credentials":
        raise models.oauth_error(
            400, "unsupported_grant_type", 70003,
            f"AADSTS70003: The app requested an unsupported grant type '{grant}'.",
        )
    client_id = form.get("client_id", "")
    secret = form.get("client_secret")
    if not client_id or secret is None:
        auth = ctx.headers.get("authorization", "")
        if auth.lower().startswith("basic "):
            import base64

            raw = base64.b64decode(auth[6:]).decode()
            client_id, _, secret = raw.partition(":")
    if not client_id:
        raise models.oauth_error(
            400, "invalid_request", 900144,
            "AADSTS900144: The request body must contain the following parameter: 'client_id'.",
        )
    if secret is None:
        raise models.oauth_error(
            401, "invalid_client", 7000218,
            "AADSTS7000218: The request body must contain the following parameter: "
            "'client_assertion' or 'client_secret'.",
        )
    sp = models.check_client_secret(ctx.world, client_id, secret)
    audience = _audience(form.get("scope") or form.get("resource") or "")
    if not audience:
        raise models.oauth_error(
            400, "invalid_scope", 1002012,
            "AADSTS1002012: The provided value for scope is not valid. Client credential flows "
            "must have a scope value with /.default suffixed to the resource identifier.",
        )
    access, expires = ctx.server.issuer.issue(
        tenant_id=tenant, audience=audience, object_id=sp["id"], app_id=sp["appId"]
    )
    body: dict[str, Any] = {"token_type": "Bearer", "expires_in": 3599,
                            "ext_expires_in": 3599, "access_token": access}
    if "/oauth2/v2.0/" not in ctx.path:
        body.update({"expires_on": str(expires), "resource": audience, "not_before":
                     str(expires - 3600)})
    return Reply(200, body, {"Cache-Control": "no-store, no-cache", "Pragma": "no-cache"})


def managed_identity_token(ctx: Ctx) -> Any:
    if ctx.headers.get("x-identity-header") != ctx.server.identity_header:
        raise errors.CloudError(
            401, {"statusCode": 401, "message": "The X-IDENTITY-HEADER is missing or invalid."}
        )
    resource = ctx.q("resource") or ""
    if not resource:
        raise errors.CloudError(
            400, {"statusCode": 400, "message": "The 'resource' query parameter is required."}
        )
    op = ctx.world.state["scenario"].get("operator", {})
    allowed = op.get("_host_identities", [])
    wanted = {k: ctx.q(k) for k in ("client_id", "principal_id", "object_id", "mi_res_id")}
    chosen = None
    for ident in allowed:
        if not any(wanted.values()):
            chosen = ident
            break
        if (
            (wanted["client_id"] and wanted["client_id"].lower() == ident["client_id"].lower())
            or (wanted["principal_id"] and wanted["principal_id"].lower()
                == ident["principal_id"].lower())
            or (wanted["object_id"] and wanted["object_id"].lower()
                == ident["principal_id"].lower())
            or (wanted["mi_res_id"] and wanted["mi_res_id"].lower()
                == ident["resource_id"].lower())
        ):
            chosen = ident
            break
    if chosen is None:
        raise errors.CloudError(
            400, {"statusCode": 400, "message": "Unable to load the requested managed identity "
                  "for this host. No identity matches the parameters given."}
        )
    audience = _audience(resource)
    access, expires = ctx.server.issuer.issue(
        tenant_id=ctx.world.tenant_id, audience=audience, object_id=chosen["principal_id"],
        app_id=chosen["client_id"], extra={"idtyp": "app", "xms_mirid": chosen["resource_id"]},
    )
    return {"access_token": access, "expires_on": str(expires), "resource": resource,
            "token_type": "Bearer", "client_id": chosen["client_id"]}
