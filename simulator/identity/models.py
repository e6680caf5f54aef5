"""Entra ID directory objects and credentials: applications, service principals, managed
identities, users and groups.

Secrets are stored as SHA-256 hashes with Entra's three-character ``hint``; the plaintext is
returned once, when created (``addPassword``), exactly as Entra does.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import uuid
from typing import Any

from simulator.core import errors
from simulator.core.world import World


def iso(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value: str) -> float:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def secret_hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def new_secret() -> str:
    # Entra secrets are 40 characters from this alphabet, with a '~' or '8Q~' marker
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.~"
    return "".join(secrets.choice(alphabet) for _ in range(3)) + "8Q~" + "".join(
        secrets.choice(alphabet) for _ in range(34)
    )


def make_password_credential(
    world: World, *, display_name: str | None, end: float, value: str | None = None,
    start: float | None = None,
) -> tuple[dict[str, Any], str]:
    value = value or new_secret()
    cred = {
        "customKeyIdentifier": None,
        "displayName": display_name,
        "endDateTime": iso(end),
        "hint": value[:3],
        "keyId": str(uuid.uuid4()),
        "secretText": None,
        "startDateTime": iso(start if start is not None else world.now()),
        "_hash": secret_hash(value),
    }
    return cred, value


def create_application(
    world: World, display_name: str, *, app_id: str | None = None, object_id: str | None = None,
    sp_object_id: str | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """An app registration and its service principal in the home tenant."""
    app_id = app_id or str(uuid.uuid4())
    app = {
        "id": object_id or str(uuid.uuid4()),
        "appId": app_id,
        "displayName": display_name,
        "createdDateTime": iso(world.now()),
        "signInAudience": "AzureADMyOrg",
        "passwordCredentials": [],
        "keyCredentials": [],
        "identifierUris": [],
        "tags": [],
    }
    sp = {
        "id": sp_object_id or str(uuid.uuid4()),
        "appId": app_id,
        "displayName": display_name,
        "accountEnabled": True,
        "appOwnerOrganizationId": world.tenant_id,
        "servicePrincipalType": "Application",
        "servicePrincipalNames": [app_id],
        "alternativeNames": [],
        "passwordCredentials": [],
        "keyCredentials": [],
        "tags": [],
    }
    world.graph["applications"][app["id"]] = app
    world.graph["servicePrincipals"][sp["id"]] = sp
    return app, sp


def create_managed_identity_principal(
    world: World, *, name: str, resource_id: str, client_id: str, principal_id: str
) -> dict[str, Any]:
    sp = {
        "id": principal_id,
        "appId": client_id,
        "displayName": name,
        "accountEnabled": True,
        "appOwnerOrganizationId": None,
        "servicePrincipalType": "ManagedIdentity",
        "servicePrincipalNames": [client_id, f"https://identity.azure.net/{uuid.uuid4().hex}"],
        "alternativeNames": ["isExplicit=True", resource_id],
        "passwordCredentials": [],
        "keyCredentials": [],
        "tags": [],
    }
    world.graph["servicePrincipals"][principal_id] = sp
    return sp


def app_by_app_id(world: World, app_id: str) -> dict[str, Any] | None:
    for app in world.graph["applications"].values():
        if app["appId"].lower() == app_id.lower():
            return app
    return None


def sp_by_app_id(world: World, app_id: str) -> dict[str, Any] | None:
    for sp in world.graph["servicePrincipals"].values():
        if sp["appId"].lower() == app_id.lower():
            return sp
    return None


def check_client_secret(world: World, client_id: str, secret: str) -> dict[str, Any]:
    """Return the service principal a client-credentials request authenticates as, or raise
    the OAuth error Entra returns."""
    tenant = world.tenant_id
    app = app_by_app_id(world, client_id)
    sp = sp_by_app_id(world, client_id)
    if app is None or sp is None:
        raise oauth_error(
            400, "unauthorized_client", 700016,
            f"AADSTS700016: Application with identifier '{client_id}' was not found in the "
            f"directory '{tenant}'. This can happen if the application has not been installed "
            "by the administrator of the tenant or consented to by any user in the tenant. You "
            "may have sent your authentication request to the wrong tenant.",
        )
    digest = secret_hash(secret)
    # Entra accepts secrets added to the application and, for sign-in, those added to its
    # service principal (``az ad sp credential reset`` relies on that)
    matching = [c for c in app["passwordCredentials"] + sp.get("passwordCredentials", [])
                if c.get("_hash") == digest]
    if not matching:
        raise oauth_error(
            401, "invalid_client", 7000215,
            "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in "
            "the request is the client secret value, not the client secret ID, for a secret "
            f"added to app '{client_id}'.",
        )
    now = world.now()
    if all(parse_time(c["endDateTime"]) <= now for c in matching):
        raise oauth_error(
            401, "invalid_client", 7000222,
            f"AADSTS7000222: The provided client secret keys for app '{client_id}' are "
            "expired. Visit the Azure portal to create new keys for your app: "
            "https://aka.ms/NewClientSecret, or consider using certificate credentials for "
            "added security: https://aka.ms/certCreds.",
        )
    if not sp.get("accountEnabled", True):
        raise oauth_error(
            400, "unauthorized_client", 7000112,
            f"AADSTS7000112: Application '{client_id}'({app['displayName']}) is disabled.",
        )
    return sp


def oauth_error(status: int, error: str, code: int, description: str) -> errors.CloudError:
    trace = str(uuid.uuid4())
    return errors.CloudError(
        status,
        {
            "error": error,
            "error_description": f"{description}\r\nTrace ID: {trace}\r\nCorrelation ID: "
            f"{uuid.uuid4()}\r\nTimestamp: {iso(dt.datetime.now(dt.UTC).timestamp())}",
            "error_codes": [code],
            "timestamp": iso(dt.datetime.now(dt.UTC).timestamp()),
            "trace_id": trace,
            "correlation_id": str(uuid.uuid4()),
            "error_uri": "https://login.microsoftonline.com/error?code=" + str(code),
        },
    )


def operator_credentials(world: World) -> dict[str, str]:
    """The credentials of the identity pullfix runs as on this simulated cloud."""
    return dict(world.state["scenario"].get("operator", {}).get("_credentials", {}))
