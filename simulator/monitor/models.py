"""Microsoft.Insights activity log: the record of every control-plane write.

Events live in ``world.state["activity_log"]`` in the shape ``ActivityLogs_List`` answers
(2015-04-01 ``EventData``), plus a private ``_ts`` (world time, seconds) used for filtering.
Any provider records its writes with :func:`record_event`; a scenario seeds history with the
``activity-event`` builder. Azure keeps 90 days and refuses queries that start earlier.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any

from simulator.core import authz, errors
from simulator.core.ids import parse
from simulator.core.world import World, public

RETENTION_DAYS = 90
SELECTABLE = (
    "authorization", "claims", "correlationId", "description", "eventDataId", "eventName",
    "eventTimestamp", "httpRequest", "level", "operationId", "operationName", "properties",
    "resourceGroupName", "resourceProviderName", "resourceId", "status", "submissionTimestamp",
    "subStatus", "subscriptionId",
)
_HTTP_TEXT = {200: "OK", 201: "Created", 202: "Accepted", 204: "NoContent", 400: "BadRequest",
              403: "Forbidden", 404: "NotFound", 409: "Conflict"}
_EPOCH_TICKS = 621355968000000000  # .NET ticks at 1970-01-01, as ARM puts them in event ids


def iso7(ts: float) -> str:
    """ARM's timestamp form: seven fractional digits and a Z."""
    d = dt.datetime.fromtimestamp(ts, dt.UTC)
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + f"{d.microsecond:06d}0Z"


def _localized(value: str, localized: str | None = None) -> dict[str, str]:
    return {"value": value, "localizedValue": localized or value}


def _caller_claims(world: World, caller: Any) -> tuple[str, dict[str, Any]]:
    """The event's ``caller`` and ``claims`` from a request's caller (``routing.Caller``), a
    claims dict or a bare object id. ARM names users by UPN and applications and managed
    identities by their object id; the token's claims are kept under ARM's long names."""
    if caller is None:
        return "", {}
    if isinstance(caller, str):  # seeded history: rebuild what the token would have said
        raw: dict[str, Any] = {"oid": caller, "tid": world.tenant_id, "ver": "1.0"}
        sp = world.graph["servicePrincipals"].get(caller)
        user = world.graph["users"].get(caller)
        if sp:
            raw["appid"] = sp.get("appId")
        elif user:
            raw["upn"] = user["userPrincipalName"]
    else:
        raw = dict(getattr(caller, "claims", None) or caller)
    claims = {
        "aud": raw.get("aud", ""), "iss": raw.get("iss", ""), "iat": str(raw.get("iat", "")),
        "nbf": str(raw.get("nbf", "")), "exp": str(raw.get("exp", "")),
        "ver": str(raw.get("ver", "")),
        "http://schemas.microsoft.com/identity/claims/tenantid": raw.get("tid", world.tenant_id),
        "http://schemas.microsoft.com/identity/claims/objectidentifier": raw.get("oid", ""),
        "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/nameidentifier":
            raw.get("sub", raw.get("oid", "")),
    }
    if raw.get("appid"):
        claims.update({"appid": raw["appid"], "appidacr": "1", "idtyp": raw.get("idtyp", "app")})
    upn = raw.get("upn")
    if upn:
        claims["http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn"] = upn
        claims["name"] = raw.get("name", upn)
    return upn or raw.get("oid", ""), claims


def _role_name(world: World, principal_id: str, action: str, scope: str) -> str | None:
    for assignment in authz.effective_assignments(world, principal_id, scope):
        definition = authz.role_definition(world, assignment["properties"]["roleDefinitionId"])
        if definition and authz.permits(definition["properties"]["permissions"], action):
            return definition["properties"].get("roleName")
    return None


def record_event(
    world: World,
    *,
    operation_name: str,
    resource_id: str,
    caller: Any,
    status: str = "Succeeded",
    http_method: str = "PUT",
    http_status: int = 200,
    when: float | None = None,
    correlation_id: str | None = None,
    category: str = "Administrative",
    level: str = "Informational",
    description: str = "",
    properties: dict[str, Any] | None = None,
    client_ip: str = "127.0.0.1",
) -> dict[str, Any]:
    """Append one activity-log event (an ``EndRequest``) and return it.

    ``caller`` is the request's ``Caller`` (as handlers have it in ``ctx.caller``), a token
    claims dict, or an object id (seeded history).
    """
    ts = world.now() if when is None else when
    p = parse(resource_id)
    event_id = str(uuid.uuid4())
    correlation = correlation_id or str(uuid.uuid4())
    who, claims = _caller_claims(world, caller)
    oid = claims.get("http://schemas.microsoft.com/identity/claims/objectidentifier", "")
    auth: dict[str, Any] = {"action": operation_name, "scope": resource_id}
    role = _role_name(world, oid, operation_name, resource_id) if oid else None
    if role:
        auth["role"] = role
    provider = p.namespace or "Microsoft.Resources"
    rtype = p.resource_type if p.namespace else "Microsoft.Resources/subscriptions/resourceGroups"
    status_text = _HTTP_TEXT.get(http_status, str(http_status))
    ticks = _EPOCH_TICKS + int(ts * 10_000_000)
    event = {
        "authorization": auth,
        "caller": who,
        "channels": "Operation",
        "claims": claims,
        "correlationId": correlation,
        "description": description,
        "eventDataId": event_id,
        "eventName": _localized("EndRequest", "End request"),
        "category": _localized(category),
        "httpRequest": {"clientRequestId": str(uuid.uuid4()), "clientIpAddress": client_ip,
                        "method": http_method},
        "id": f"{resource_id}/events/{event_id}/ticks/{ticks}",
        "level": level,
        "resourceGroupName": p.resource_group or "",
        "resourceProviderName": _localized(provider),
        "resourceId": resource_id,
        "resourceType": _localized(rtype),
        "operationId": correlation,
        "operationName": _localized(operation_name),
        "properties": {"statusCode": status_text, "serviceRequestId": str(uuid.uuid4()),
                       "eventCategory": category, "entity": resource_id,
                       "message": operation_name, **(properties or {})},
        "status": _localized(status),
        "subStatus": _localized(status_text, f"{status_text} (HTTP Status Code: {http_status})"),
        "eventTimestamp": iso7(ts),
        "submissionTimestamp": iso7(ts + 12),
        "subscriptionId": p.subscription or "",
        "tenantId": world.tenant_id,
        "_ts": ts,
    }
    with world.lock:
        world.state.setdefault("activity_log", []).append(event)
    return event


# -- ActivityLogs_List ---------------------------------------------------------------------
_CLAUSE = re.compile(r"^\s*(?P<field>\w+)\s+(?P<op>eq|ge|le)\s+'(?P<value>[^']*)'\s*$",
                     re.IGNORECASE)
_FIELDS = {"resourceuri", "resourceid", "resourcegroupname", "resourceprovider",
           "correlationid", "eventchannels", "levels"}


def _invalid_filter() -> errors.CloudError:
    return errors.arm_error(400, "BadRequest", "$filter searching parameters invalid.")


def _time(value: str) -> float:
    try:
        d = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise errors.arm_error(400, "BadRequest", f"The timestamp '{value}' in $filter is not a "
                               "valid ISO 8601 date/time.") from None
    return (d if d.tzinfo else d.replace(tzinfo=dt.UTC)).timestamp()


def parse_filter(expr: str | None) -> dict[str, Any]:
    """The restricted ``$filter`` grammar ActivityLogs_List accepts: ``and`` of ``eventTimestamp
    ge`` (required), ``eventTimestamp le`` and one ``eq`` clause on a supported field."""
    if not expr or not expr.strip():
        raise _invalid_filter()
    out: dict[str, Any] = {}
    for clause in re.split(r"\s+and\s+", expr.strip(), flags=re.IGNORECASE):
        m = _CLAUSE.match(clause)
        if not m:
            raise _invalid_filter()
        field, op, value = m["field"].lower(), m["op"].lower(), m["value"]
        if field == "eventtimestamp" and op in ("ge", "le"):
            out["start" if op == "ge" else "end"] = _time(value)
        elif field in _FIELDS and op == "eq":
            out["resourceuri" if field == "resourceid" else field] = value
        else:
            raise _invalid_filter()
    if "start" not in out:
        raise _invalid_filter()
    return out


def list_events(world: World, subscription_id: str, filter_expr: str | None,
                select: str | None = None) -> list[dict[str, Any]]:
    f = parse_filter(filter_expr)
    now = world.now()
    horizon = now - RETENTION_DAYS * 86400
    if f["start"] < horizon - 60:  # a minute of slack for clocks that disagree slightly
        raise errors.arm_error(
            400, "BadRequest",
            f"The start time '{iso7(f['start'])}' is more than {RETENTION_DAYS} days in the "
            f"past. Activity log events are kept for {RETENTION_DAYS} days; query a start time "
            f"after '{iso7(horizon)}'.",
        )
    end = f.get("end", now)
    if end < f["start"]:
        raise errors.arm_error(400, "BadRequest", "The end time of the $filter is earlier than "
                               "its start time.")
    out = []
    for ev in world.state.get("activity_log", []):
        if ev["subscriptionId"].lower() != subscription_id.lower():
            continue
        if not (max(f["start"], horizon) <= ev["_ts"] <= end):
            continue
        if "resourceuri" in f and ev["resourceId"].lower() != f["resourceuri"].lower().rstrip("/"):
            continue
        if "resourcegroupname" in f and \
                ev["resourceGroupName"].lower() != f["resourcegroupname"].lower():
            continue
        if "resourceprovider" in f and \
                ev["resourceProviderName"]["value"].lower() != f["resourceprovider"].lower():
            continue
        if "correlationid" in f and ev["correlationId"].lower() != f["correlationid"].lower():
            continue
        if "levels" in f and ev["level"].lower() not in {
            v.strip().lower() for v in f["levels"].split(",")
        }:
            continue
        out.append(ev)
    out.sort(key=lambda e: e["_ts"], reverse=True)  # newest first, as Azure answers
    docs = [public(e) for e in out]
    if select:
        wanted = {s.strip().lower() for s in select.split(",") if s.strip()}
        docs = [{k: v for k, v in d.items() if k.lower() in wanted} for d in docs]
    return docs
