"""Microsoft.ContainerRegistry registries: the management plane.

A registry is a world resource in the shape of the 2025-11-01 ``Registries_Get`` answer.
Private bookkeeping: ``_adminPasswords`` holds the two admin passwords in plaintext, because
``listCredentials`` returns them and the registry data plane checks ``docker login`` against
them (:func:`check_admin_login`). They are never rendered anywhere else.
Private endpoint connections are child resources (``private_endpoints.py``) rendered into
``properties.privateEndpointConnections`` on read (:func:`render`).
"""

from __future__ import annotations

import copy
import secrets
import string
from typing import Any

from simulator.core import errors
from simulator.core.world import World, public
from simulator.monitor.models import iso7

REGISTRY_TYPE = "Microsoft.ContainerRegistry/registries"
PEC_TYPE = REGISTRY_TYPE + "/privateEndpointConnections"
DEFAULT_SUFFIX = "azurecr.io"  # the cloud's acrLoginServer suffix (server.metadata())
SKUS = ("Basic", "Standard", "Premium")
PASSWORD_NAMES = ("password", "password2")
UPDATABLE = ("adminUserEnabled", "networkRuleSet", "policies", "encryption",
             "dataEndpointEnabled", "publicNetworkAccess", "networkRuleBypassOptions",
             "networkRuleBypassAllowedForTasks", "anonymousPullEnabled", "roleAssignmentMode")


def new_password() -> str:
    # ACR admin passwords: 52 characters with the "+ACR" marker service-generated keys carry
    alphabet = string.ascii_letters + string.digits
    pick = "".join(secrets.choice(alphabet) for _ in range(48))
    return pick[:42] + "+ACR" + pick[42:]


def login_server(name: str, suffix: str = DEFAULT_SUFFIX) -> str:
    return f"{name.lower()}.{suffix}"


def registry_id(sub: str, group: str, name: str) -> str:
    return f"/subscriptions/{sub}/resourceGroups/{group}/providers/{REGISTRY_TYPE}/{name}"


def _default_properties(name: str, location: str, suffix: str, now: float) -> dict[str, Any]:
    return {
        "loginServer": login_server(name, suffix),
        "creationDate": iso7(now),
        "provisioningState": "Succeeded",
        "adminUserEnabled": False,
        "networkRuleSet": {"defaultAction": "Allow", "ipRules": []},
        "policies": {
            "quarantinePolicy": {"status": "disabled"},
            "trustPolicy": {"type": "Notary", "status": "disabled"},
            "retentionPolicy": {"days": 7, "lastUpdatedTime": iso7(now), "status": "disabled"},
            "exportPolicy": {"status": "enabled"},
            "azureADAuthenticationAsArmPolicy": {"status": "enabled"},
        },
        "encryption": {"status": "disabled"},
        "status": None,
        "dataEndpointEnabled": False,
        "dataEndpointHostNames": [],
        "publicNetworkAccess": "Enabled",
        "networkRuleBypassOptions": "AzureServices",
        "networkRuleBypassAllowedForTasks": False,
        "zoneRedundancy": "Disabled",
        "anonymousPullEnabled": False,
        "roleAssignmentMode": "LegacyRegistryPermissions",
    }


def _system_data(world: World, who: str | None, created: dict[str, Any] | None = None
                 ) -> dict[str, Any]:
    now = iso7(world.now())
    kind = "Application" if who else None
    base = created or {"createdBy": who, "createdByType": kind, "createdAt": now}
    return {**{k: base.get(k) for k in ("createdBy", "createdByType", "createdAt")},
            "lastModifiedBy": who, "lastModifiedByType": kind, "lastModifiedAt": now}


def _finish(doc: dict[str, Any], suffix: str) -> None:
    """Derived properties, and the SKU rules ACR enforces."""
    props = doc["properties"]
    sku = doc["sku"]["name"]
    rules = props.get("networkRuleSet") or {}
    props["networkRuleSet"] = {"defaultAction": rules.get("defaultAction", "Allow"),
                               "ipRules": [{"action": r.get("action", "Allow"),
                                            "value": r["value"]} for r in
                                           rules.get("ipRules") or []]}
    if sku != "Premium" and (props["networkRuleSet"]["defaultAction"] == "Deny"
                             or props["networkRuleSet"]["ipRules"]):
        raise errors.bad_request(
            "NetworkRuleNotSupported",
            f"Network rules are not supported for the SKU {sku}. For more information, please "
            "visit https://aka.ms/acr/firewall.")
    if sku != "Premium" and props.get("publicNetworkAccess") == "Disabled":
        raise errors.bad_request(
            "DisablingPublicNetworkAccessNotSupported",
            f"Disabling public network access is not supported for the SKU {sku}. For more "
            "information, please visit https://aka.ms/acr/private-link.")
    props["dataEndpointHostNames"] = (
        [f"{doc['name'].lower()}.{doc['location'].lower()}.data.{suffix}"]
        if props.get("dataEndpointEnabled") else [])


def _sku(name: str | None) -> dict[str, str]:
    for s in SKUS:
        if (name or "").lower() == s.lower():
            return {"name": s, "tier": s}
    raise errors.bad_request("InvalidSku", f"The SKU '{name}' is not valid. Allowed values: "
                             f"{', '.join(SKUS)}.")


def name_in_use(world: World, name: str, except_id: str | None = None) -> bool:
    for r in world.of_type(REGISTRY_TYPE):
        if r["name"].lower() == name.lower() and r["id"].lower() != (except_id or "").lower():
            return True
    return False


def build_registry(
    world: World, *, sub: str, group: str, name: str, location: str, sku: str,
    tags: dict[str, str] | None = None, properties: dict[str, Any] | None = None,
    suffix: str = DEFAULT_SUFFIX, created_by: str | None = None,
    admin_passwords: dict[str, str] | None = None, existing: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The registry document a create (PUT) would store; nothing is stored yet."""
    if existing is None and name_in_use(world, name):
        raise errors.bad_request(
            "AlreadyInUse",
            f"The registry DNS name {login_server(name, suffix)} is already in use. You can "
            "check if the name is already claimed using following API: https://docs.microsoft"
            ".com/en-us/rest/api/containerregistry/registries/checknameavailability")
    props = _default_properties(name, location, suffix, world.now())
    if existing:
        props["creationDate"] = existing["properties"]["creationDate"]
    props.update({k: copy.deepcopy(v) for k, v in (properties or {}).items() if k in UPDATABLE})
    doc = {
        "id": registry_id(sub, group, name), "name": name, "type": REGISTRY_TYPE,
        "location": location, "tags": dict(tags or {}), "sku": _sku(sku),
        "systemData": _system_data(world, created_by,
                                   existing.get("systemData") if existing else None),
        "properties": props,
        "_adminPasswords": dict(existing["_adminPasswords"]) if existing else
        {n: (admin_passwords or {}).get(n) or new_password() for n in PASSWORD_NAMES},
    }
    _finish(doc, suffix)
    return doc


def updated(world: World, doc: dict[str, Any], patch: dict[str, Any], *,
            suffix: str = DEFAULT_SUFFIX, who: str | None = None) -> dict[str, Any]:
    """The registry after a PATCH (``RegistryUpdateParameters``); nothing is stored yet.
    ``networkRuleSet`` and ``tags`` are replaced whole, as ACR does."""
    new = copy.deepcopy(doc)
    if "tags" in patch and patch["tags"] is not None:
        new["tags"] = dict(patch["tags"])
    if (patch.get("sku") or {}).get("name"):
        new["sku"] = _sku(patch["sku"]["name"])
    if patch.get("identity") is not None:
        new["identity"] = patch["identity"]
    for k, v in (patch.get("properties") or {}).items():
        if k in UPDATABLE and v is not None:
            if isinstance(v, dict) and k in ("policies", "encryption"):
                new["properties"].setdefault(k, {}).update(copy.deepcopy(v))
            else:
                new["properties"][k] = copy.deepcopy(v)
    new["systemData"] = _system_data(world, who, doc.get("systemData"))
    _finish(new, suffix)
    return new


def render(world: World, doc: dict[str, Any]) -> dict[str, Any]:
    out = public(doc)
    out["properties"]["privateEndpointConnections"] = [
        public(c) for c in world.children(doc["id"], PEC_TYPE)]
    return out


# -- admin credentials -----------------------------------------------------------------------
def credentials(doc: dict[str, Any]) -> dict[str, Any]:
    """``listCredentials``: only while the admin user is enabled, as ACR answers."""
    if not doc["properties"].get("adminUserEnabled"):
        raise errors.bad_request(
            "UnAuthorizedForCredentialOperations",
            f"Cannot perform credential operations for {doc['id']} as admin user is disabled. "
            "Kindly enable admin user as per docs: https://docs.microsoft.com/en-us/azure/"
            "container-registry/container-registry-authentication#admin-account")
    return {"username": doc["name"],
            "passwords": [{"name": n, "value": doc["_adminPasswords"][n]}
                          for n in PASSWORD_NAMES]}


def regenerate(doc: dict[str, Any], which: str | None) -> dict[str, Any]:
    credentials(doc)  # same admin-user rule
    match = next((n for n in PASSWORD_NAMES if n == (which or "").lower()), None)
    if match is None:
        raise errors.bad_request(
            "InvalidRequestContent",
            f"The value '{which}' is not valid for 'name'; expected 'password' or 'password2'.")
    doc["_adminPasswords"][match] = new_password()
    return credentials(doc)


def registry_for_host(world: World, host: str) -> dict[str, Any] | None:
    """The registry a data-plane host name (login server or data endpoint) belongs to."""
    host = host.lower().split(":")[0]
    if host.replace(".", "").isdigit():
        return None  # an address (every ARM, Entra, Kubernetes request): never a registry
    for r in world.of_type(REGISTRY_TYPE):
        p = r["properties"]
        if host == p["loginServer"].lower() or host in [h.lower() for h in
                                                        p.get("dataEndpointHostNames", [])]:
            return r
    return None


def check_admin_login(doc: dict[str, Any], username: str, password: str) -> bool:
    """True when ``docker login`` with the admin user would succeed."""
    if not doc["properties"].get("adminUserEnabled"):
        return False
    if username.lower() != doc["name"].lower():
        return False
    return any(secrets.compare_digest(password, v) for v in doc["_adminPasswords"].values())
