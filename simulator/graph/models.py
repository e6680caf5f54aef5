"""The directory as Microsoft Graph serves it: lookups (by object id, alternate key ``appId``,
user principal name), password credentials, and group membership.

The objects themselves live in ``world.graph`` and are created by ``simulator.identity``
(applications, service principals, managed identities, users, groups); this module only reads
and changes them the way Graph's operations do. Group membership is each group's private
``_members`` list of object ids (users, groups, service principals), nested groups included.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from simulator.core import errors
from simulator.core.authz import principal_set
from simulator.core.world import World, public
from simulator.graph.shapes import BY_TYPE, SHAPES, Shape
from simulator.identity.models import make_password_credential, parse_time

_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
MAX_IDS = 1000  # getByIds accepts up to 1000 ids per request


def not_found(ident: str) -> errors.CloudError:
    return errors.graph_error(404, "Request_ResourceNotFound",
                              f"Resource '{ident}' does not exist or one of its queried "
                              "reference-property objects are not present.")


def invalid_id(ident: str) -> errors.CloudError:
    return errors.graph_error(400, "Request_BadRequest", f"Invalid object identifier '{ident}'.")


def bad_request(message: str) -> errors.CloudError:
    return errors.graph_error(400, "Request_BadRequest", message)


# -- lookups ------------------------------------------------------------------------------------
def objects(world: World, collection: str) -> list[dict[str, Any]]:
    return list(world.graph[collection].values())


def get_object(world: World, collection: str, ident: str) -> dict[str, Any]:
    """``GET /{collection}/{id}``; users may also be addressed by userPrincipalName."""
    if collection == "users" and "@" in ident:
        for user in world.graph["users"].values():
            if user["userPrincipalName"].lower() == ident.lower():
                return user
        raise not_found(ident)
    if not _GUID.match(ident):
        raise invalid_id(ident)
    for oid, doc in world.graph[collection].items():
        if oid.lower() == ident.lower():
            return doc
    raise not_found(ident)


def get_by_app_id(world: World, collection: str, app_id: str) -> dict[str, Any]:
    """``/{applications|servicePrincipals}(appId='…')``, Graph's alternate key."""
    for doc in world.graph[collection].values():
        if doc["appId"].lower() == app_id.lower():
            return doc
    raise not_found(app_id)


def find(world: World, ident: str) -> tuple[Shape, dict[str, Any]] | None:
    """Any directory object by object id, with its type."""
    for collection, shape in SHAPES.items():
        for oid, doc in world.graph[collection].items():
            if oid.lower() == ident.lower():
                return shape, doc
    return None


def get_directory_object(world: World, ident: str) -> tuple[Shape, dict[str, Any]]:
    if not _GUID.match(ident):
        raise invalid_id(ident)
    found = find(world, ident)
    if found is None:
        raise not_found(ident)
    return found


def get_by_ids(world: World, ids: Any, types: Any) -> list[tuple[Shape, dict[str, Any]]]:
    """``POST /directoryObjects/getByIds``: the objects that exist, of the types asked for;
    ids that do not exist are left out, not errors."""
    if not isinstance(ids, list) or not ids:
        raise bad_request("Invalid request: the 'ids' parameter is required and must contain "
                          "at least one object id.")
    if len(ids) > MAX_IDS:
        raise bad_request(f"Invalid request: too many ids ({len(ids)}); the maximum is "
                          f"{MAX_IDS}.")
    wanted = {t.lower() for t in types or []}
    unknown = wanted - set(BY_TYPE) - {"device", "directoryobjectpartnerreference", "orgcontact",
                                       "directoryrole", "administrativeunit"}
    if unknown:
        raise bad_request(f"Invalid type '{sorted(unknown)[0]}' specified in 'types'.")
    out = []
    for ident in ids:
        if not isinstance(ident, str) or not _GUID.match(ident):
            raise invalid_id(str(ident))
        found = find(world, ident)
        if found and (not wanted or found[0].type_name.lower() in wanted):
            out.append(found)
    return out


# -- password credentials -----------------------------------------------------------------------
def _plus_years(ts: float, years: int) -> float:
    start = dt.datetime.fromtimestamp(ts, dt.UTC)
    try:
        return start.replace(year=start.year + years).timestamp()
    except ValueError:  # 29 February
        return start.replace(year=start.year + years, day=28).timestamp()


def _time(body: dict[str, Any], name: str) -> float | None:
    value = body.get(name)
    if value is None:
        return None
    try:
        return parse_time(str(value))
    except ValueError as exc:
        raise bad_request(f"Invalid value specified for property '{name}' of resource "
                          "'PasswordCredential'.") from exc


def add_password(world: World, owner: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """``addPassword`` on an application or service principal: a new credential whose
    ``secretText`` is returned this once; the directory keeps only its hash and hint."""
    spec = body.get("passwordCredential") or {}
    if not isinstance(spec, dict):
        raise bad_request("Invalid value specified for property 'passwordCredential'.")
    start = _time(spec, "startDateTime")
    start = world.now() if start is None else start
    end = _time(spec, "endDateTime")
    # Graph's documented default lifetime: startDateTime + 2 years
    end = _plus_years(start, 2) if end is None else end
    cred, secret = make_password_credential(world, display_name=spec.get("displayName"),
                                            end=end, start=start)
    owner["passwordCredentials"].append(cred)
    return dict(public(cred), secretText=secret)


def remove_password(world: World, owner: dict[str, Any], body: dict[str, Any]) -> None:
    key_id = body.get("keyId")
    if not isinstance(key_id, str) or not _GUID.match(key_id):
        raise bad_request("Invalid value specified for property 'keyId' of resource "
                          "'PasswordCredential'.")
    creds = owner["passwordCredentials"]
    kept = [c for c in creds if c["keyId"].lower() != key_id.lower()]
    if len(kept) == len(creds):
        raise errors.graph_error(404, "Request_ResourceNotFound",
                                 f"No password credential found with keyId '{key_id}'.")
    owner["passwordCredentials"] = kept


# -- membership ---------------------------------------------------------------------------------
def member_of(world: World, object_id: str, *, transitive: bool) -> list[dict[str, Any]]:
    """The groups ``object_id`` is a member of (through nested groups when transitive)."""
    groups = world.graph["groups"]
    if transitive:
        ids = principal_set(world, object_id) - {object_id.lower()}
        return [g for gid, g in groups.items() if gid.lower() in ids]
    return [g for g in groups.values()
            if object_id.lower() in {m.lower() for m in g.get("_members", [])}]


def members(world: World, group: dict[str, Any], *, transitive: bool
            ) -> list[tuple[Shape, dict[str, Any]]]:
    """A group's members; transitively, nested groups and their members too."""
    seen: set[str] = set()
    out: list[tuple[Shape, dict[str, Any]]] = []
    queue = list(group.get("_members", []))
    while queue:
        ident = queue.pop(0).lower()
        if ident in seen or ident == group["id"].lower():
            continue
        seen.add(ident)
        found = find(world, ident)
        if found is None:
            continue
        out.append(found)
        if transitive and found[0].type_name == "group":
            queue.extend(found[1].get("_members", []))
    return out


def check_member_groups(world: World, object_id: str, group_ids: Any) -> list[str]:
    """The subset of ``group_ids`` the object belongs to, directly or through nesting."""
    if not isinstance(group_ids, list):
        raise bad_request("Invalid request: the 'groupIds' parameter is required.")
    for gid in group_ids:
        if not isinstance(gid, str) or not _GUID.match(gid):
            raise invalid_id(str(gid))
    mine = {g["id"].lower() for g in member_of(world, object_id, transitive=True)}
    return [gid for gid in group_ids if gid.lower() in mine]


def get_member_groups(world: World, object_id: str, security_enabled_only: Any) -> list[str]:
    if not isinstance(security_enabled_only, bool):
        raise bad_request("Invalid request: the 'securityEnabledOnly' parameter is required "
                          "and must be a boolean.")
    return [g["id"] for g in member_of(world, object_id, transitive=True)
            if g.get("securityEnabled") or not security_enabled_only]
