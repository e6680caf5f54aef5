"""Who approved: the flow (not the CLI) verifies an approval.

Prefect OSS has no user identity, so the approval carries the approver's Entra access token.
The flow validates it against the cloud's signing keys (OpenID configuration → JWKS), checks
the tenant, then checks the approver — or a group they belong to, via Graph — against the
policy's approvers. Only the verified identity (object id, name) is recorded; the token itself
is removed from Prefect's stored run input by the flow.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
import ssl
import urllib.request
from typing import Any

import jwt

from tasks.contract import Frozen
from tasks.errors import PermanentError
from tasks.reads import Reads


class ApprovalError(PermanentError):
    """The approval cannot be accepted; the message says why (it is recorded)."""


class Approver(Frozen):
    object_id: str
    name: str
    tenant_id: str
    kind: str  # user | servicePrincipal


def _get_json(url: str, ca: str | None) -> Any:
    ctx = ssl.create_default_context(cafile=ca) if ca else ssl.create_default_context()
    with urllib.request.urlopen(url, timeout=15, context=ctx) as resp:  # noqa: S310 - https only
        return json.loads(resp.read())


def verify_token(reads: Reads, token: str, tenant_id: str) -> dict[str, Any]:
    """The token's claims, if Entra for this tenant signed it for this cloud's ARM."""
    profile = reads.clients.profile
    if not token:
        raise ApprovalError("the approval carries no identity token: approve with "
                            "`pullfix approve`, which signs in as you")
    config_url = f"{profile.authority_host.rstrip('/')}/{tenant_id}/v2.0/.well-known/" \
                 "openid-configuration"
    try:
        config = reads.memo(("openid", tenant_id), lambda: _get_json(config_url,
                                                                     profile.ca_bundle))
        keys = reads.memo(("jwks", tenant_id), lambda: _get_json(config["jwks_uri"],
                                                                 profile.ca_bundle))
    except OSError as exc:
        raise ApprovalError(f"cannot read the signing keys ({config_url}): {exc}") from exc
    try:
        header = jwt.get_unverified_header(token)
        jwk = next(k for k in keys["keys"] if k.get("kid") == header.get("kid"))
        key = jwt.PyJWK.from_dict(jwk).key
        claims: dict[str, Any] = jwt.decode(
            token, key, algorithms=["RS256"], audience=[profile.arm_audience,
                                                        profile.arm_audience.rstrip("/")],
            options={"require": ["exp", "tid", "oid"]}, leeway=30)
    except StopIteration:
        raise ApprovalError("the approval token is not signed by this tenant's keys") from None
    except jwt.PyJWTError as exc:
        raise ApprovalError(f"the approval token is not valid: {exc}") from exc
    if claims["tid"].lower() != tenant_id.lower():
        raise ApprovalError(f"the approval token is from tenant {claims['tid']}, not "
                            f"{tenant_id}")
    return claims


def _graph_groups(reads: Reads, object_id: str) -> list[str]:
    from msgraph.generated.directory_objects.item.get_member_groups.get_member_groups_post_request_body import (  # noqa: E501
        GetMemberGroupsPostRequestBody,
    )

    graph = reads.clients.graph()
    body = GetMemberGroupsPostRequestBody(security_enabled_only=False)
    result = asyncio.run(graph.directory_objects.by_directory_object_id(object_id)
                         .get_member_groups.post(body))
    return [g.lower() for g in (result.value if result and result.value else [])]


_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                   r"[0-9a-fA-F]{12}$")


class Approvers(Frozen):
    """A policy's approvers as Entra object ids: what an approval is checked against.

    Display names are not unique in Entra (anyone who may create a group can create another
    ``pullfix-approvers``), so nothing is ever matched by name: ``group:NAME`` is resolved to
    the one group that has it, and a name that two groups share is an error listing their ids.
    """

    users: frozenset[str] = frozenset()
    groups: frozenset[str] = frozenset()
    entries: tuple[str, ...] = ()


def _groups_named(reads: Reads, name: str) -> list[tuple[str, str]]:
    from kiota_abstractions.base_request_configuration import RequestConfiguration
    from msgraph.generated.groups.groups_request_builder import GroupsRequestBuilder

    q = GroupsRequestBuilder.GroupsRequestBuilderGetQueryParameters(
        filter=f"displayName eq '{name.replace(chr(39), chr(39) * 2)}'",
        select=["id", "displayName", "description"])
    found = asyncio.run(reads.clients.graph().groups.get(RequestConfiguration(query_parameters=q)))
    return [(g.id.lower(), g.description or "") for g in (found.value or []) if g.id]


def _user_id(reads: Reads, upn: str) -> str | None:
    from kiota_abstractions.api_error import APIError

    try:
        user = asyncio.run(reads.clients.graph().users.by_user_id(upn).get())
    except APIError as exc:
        if exc.response_status_code == 404:
            return None
        raise
    return user.id.lower() if user and user.id else None


def resolve_approvers(reads: Reads, approvers: list[str] | tuple[str, ...]) -> Approvers:
    """Each ``user:``/``group:`` entry as the object id it names; raise ``ApprovalError`` when a
    display name is ambiguous (listing the ids to choose from) or names nothing."""
    if not approvers:
        raise ApprovalError("the policy names no approvers for this fix: nobody may approve it")
    users: set[str] = set()
    groups: set[str] = set()
    problems: list[str] = []
    for entry in approvers:
        kind, _, value = entry.partition(":")
        if _GUID.match(value):
            (users if kind == "user" else groups).add(value.lower())
        elif kind == "user":
            oid = _user_id(reads, value)
            if oid is None:
                problems.append(f"approver '{entry}': no user has that userPrincipalName")
            else:
                users.add(oid)
        else:
            found = _groups_named(reads, value)
            if len(found) == 1:
                groups.add(found[0][0])
            elif not found:
                problems.append(f"approver '{entry}': no group has that display name")
            else:
                ids = ", ".join(f"group:{gid}" + (f" ({d})" if d else "") for gid, d in found)
                problems.append(f"approver '{entry}': {len(found)} groups have that display name "
                                f"(Entra does not keep names unique); name the one you mean by "
                                f"object id: {ids}")
    if problems:
        raise ApprovalError("; ".join(problems))
    return Approvers(users=frozenset(users), groups=frozenset(groups), entries=tuple(approvers))


def approver_allowed(reads: Reads, claims: dict[str, Any], approvers: Approvers) -> Approver:
    """The verified approver if the policy allows them, by object id (directly or through a
    group they belong to, transitively, per Graph)."""
    oid = claims["oid"].lower()
    name = claims.get("upn") or claims.get("preferred_username") or claims.get("appid") or oid
    kind = "servicePrincipal" if claims.get("idtyp") == "app" else "user"
    approver = Approver(object_id=oid, name=str(name), tenant_id=claims["tid"], kind=kind)
    if oid in approvers.users:
        return approver
    if approvers.groups and approvers.groups & set(_graph_groups(reads, oid)):
        return approver
    raise ApprovalError(f"{name} ({oid}) is not an approver for this fix: the policy allows "
                        f"{', '.join(approvers.entries)}")


# Entra sets a token's iat (and nbf) five minutes before it is issued
ENTRA_BACKDATE_SECONDS = 300


def bind_token(claims: dict[str, Any], *, asked_at: dt.datetime, run_id: str, plan_hash: str,
               approver: str) -> str:
    """Make a verified token approve this one request, once: it must have been issued after
    the request was made (allowing for Entra's backdating), and its unique id (``uti``) is
    recorded in the audit store and refused if it was ever seen. Returns the token id."""
    from tasks.audit import store

    issued = dt.datetime.fromtimestamp(int(claims.get("iat", 0)), dt.UTC)
    earliest = asked_at - dt.timedelta(seconds=ENTRA_BACKDATE_SECONDS + 30)
    if issued < earliest:
        raise ApprovalError(f"the approval token was issued at {issued:%Y-%m-%dT%H:%M:%SZ}, "
                            f"before this sign-off was requested ({asked_at:%Y-%m-%dT%H:%M:%SZ}): "
                            "sign in again to approve it")
    token_id = str(claims.get("uti") or claims.get("jti") or "")
    if not token_id:
        raise ApprovalError("the approval token has no unique token id (uti): it cannot be "
                            "bound to one approval")
    audit = store()
    if not audit.claim_token(token_id, run_id=run_id, plan_hash=plan_hash, approver=approver):
        seen = audit.token_use(token_id) or {}
        raise ApprovalError(f"the approval token {token_id} was already used (run "
                            f"{seen.get('run_id', '?')}, plan {str(seen.get('plan_hash', '?'))[:12]}"
                            f"): an approval token approves one request once; sign in again")
    return token_id
