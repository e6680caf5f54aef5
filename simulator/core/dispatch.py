"""The request pipeline: faults → route → authenticate → throttle → authorize → handler →
faults that strike after the handler (the write is made, the answer lost).

Everything a client sees passes through here, so the cloud's cross-cutting behaviour lives in
one place: the error envelopes, the RBAC check on every ARM call, the write journal, fault
injection and the ARM throttling model.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import uuid
from typing import Any

import jwt

from simulator.core import apiversions, authz, errors, faults, throttling
from simulator.core.ids import key, parse, required_action
from simulator.core.routing import HOST_SERVICES, ROUTER, Caller, Ctx, Reply, Route, Unreachable

log = logging.getLogger("simulator")


class Dispatcher:
    def __init__(self, server: Any) -> None:
        self.server = server  # simulator.server.SimServer: world, issuer, endpoints
        self.buckets = throttling.Buckets()
        # requests served per route ("METHOD template"), so tests and benchmarks can prove a
        # sweep lists once per subscription instead of calling once per cluster
        self.stats: dict[str, int] = {}

    @property
    def world(self) -> Any:
        return self.server.world

    # -- faults ----------------------------------------------------------------------------
    def _fault(self, method: str, path: str, host: str = "", phase: str = "before"
               ) -> dict[str, Any] | None:
        if path.startswith("/_sim/"):
            return None  # the control API is the operator's, not the cloud's: never faulted
        with self.world.lock:
            return faults.pick(self.world.state["faults"], method=method, path=path, host=host,
                               phase=phase)

    @staticmethod
    def _fault_reply(fault: dict[str, Any], method: str, path: str) -> Reply:
        if fault.get("drop"):
            return Reply(status=500)  # the server hangs up mid-answer (see SimServer.app)
        return Reply(status=int(fault["status"]), body=faults.error_body(fault, method, path))

    # -- authentication --------------------------------------------------------------------
    def _authenticate(self, ctx: Ctx, audiences: list[str]) -> Caller:
        header = ctx.headers.get("authorization", "")
        challenge = (
            f'Bearer authorization_uri="{self.server.login_endpoint}{self.world.tenant_id}", '
            'error="invalid_token", error_description="The authentication failed because of '
            "missing 'Authorization' header.\""
        )
        if not header.lower().startswith("bearer "):
            raise errors.arm_error(
                401, "AuthenticationFailed",
                "Authentication failed. The 'Authorization' header is missing.",
                **{"WWW-Authenticate": challenge},
            )
        token = header[7:].strip()
        try:
            claims = self.server.issuer.verify(token, audiences)
        except jwt.ExpiredSignatureError as exc:
            raise errors.arm_error(
                401, "ExpiredAuthenticationToken",
                "The access token expiry UTC time is earlier than current UTC time.",
            ) from exc
        except jwt.InvalidAudienceError as exc:
            raise errors.arm_error(
                401, "InvalidAuthenticationTokenAudience",
                "The access token has been obtained for wrong audience or resource. It should "
                f"exactly match with one of the allowed audiences {audiences}.",
            ) from exc
        except jwt.PyJWTError as exc:
            raise errors.arm_error(
                401, "InvalidAuthenticationToken",
                "The access token is invalid.",
            ) from exc
        if claims["tid"].lower() != self.world.tenant_id.lower():
            raise errors.arm_error(
                401, "InvalidAuthenticationTokenTenant",
                f"The access token is from the wrong issuer '{claims.get('iss')}'.",
            )
        return Caller(claims["oid"], claims.get("appid"), claims["tid"], claims, token)

    # -- throttling ------------------------------------------------------------------------
    def _throttle(self, ctx: Ctx) -> dict[str, str]:
        try:
            return throttling.take(self.world, self.buckets, method=ctx.method,
                                   subscription=parse(ctx.path).subscription,
                                   principal=ctx.caller.object_id if ctx.caller else "-")
        except errors.CloudError:
            self.stats["429"] = self.stats.get("429", 0) + 1
            raise

    # -- authorization ---------------------------------------------------------------------
    def _authorize(self, ctx: Ctx, route: Route) -> None:
        if route.action == "":
            return
        action, scope = required_action(ctx.method, ctx.path)
        if route.action:
            action = route.action
        assert ctx.caller is not None
        if scope in ("", "/"):
            return
        if not authz.is_permitted(self.world, ctx.caller.object_id, action, scope):
            p = parse(scope)
            if p.subscription and p.subscription.lower() not in {
                s.lower() for s in self.world.state["subscriptions"]
            }:
                raise errors.subscription_not_found(p.subscription)
            oid = ctx.caller.object_id
            raise errors.arm_error(
                403, "AuthorizationFailed",
                f"The client '{ctx.caller.app_id or oid}' with object id '{oid}' does not have "
                f"authorization to perform action '{action}' over scope '{scope}' or the scope "
                "is invalid. If access was recently granted, please refresh your credentials.",
            )

    # -- entry -----------------------------------------------------------------------------
    async def handle(self, method: str, path: str, raw_query: str, headers: dict[str, str],
                     body: bytes, base_url: str) -> tuple[Reply, dict[str, Any] | None]:
        path = re.sub(r"/{2,}", "/", path)
        host = headers.get("host", "")
        latency = 0.0 if path.startswith("/_sim/") else float(
            self.world.settings.get("latency_ms") or 0)
        if latency > 0:
            self.world.counters["delayed_requests"] += 1
            await asyncio.sleep(latency / 1000)  # the network between client and cloud
        fault = self._fault(method, path, host)
        if fault:
            if fault.get("latency_ms"):
                await asyncio.sleep(fault["latency_ms"] / 1000)
            if fault.get("drop") or fault.get("status"):
                return self._fault_reply(fault, method, path), fault
        ctx = Ctx(self.world, method, path, {}, raw_query, headers, body, base_url, self.server)
        try:
            reply = self._dispatch(ctx)
        except errors.CloudError as exc:
            reply = Reply(exc.status, exc.body, dict(exc.headers))
        except Unreachable:
            return Reply(status=500), {"drop": True}
        # the request was handled (a write is made and persisted); now its answer may be lost
        after = self._fault(method, path, host, phase="after")
        if after:
            if after.get("latency_ms"):
                await asyncio.sleep(after["latency_ms"] / 1000)
            return self._fault_reply(after, method, path), after
        return reply, None

    def _dispatch(self, ctx: Ctx) -> Reply:
        host = ctx.headers.get("host", "")
        with self.world.lock:
            host_service = next((s for s, owns in HOST_SERVICES.items() if owns(self.world, host)),
                                None)
        found = ROUTER.match(ctx.method, ctx.path, host_service)
        if not found and host_service:
            # a registry host answers unknown paths as its Go HTTP server does
            return Reply(404, "404 page not found\n", content_type="text/plain; charset=utf-8")
        if not found:
            if ctx.path.lower().startswith("/v1.0/") or ctx.path.lower().startswith("/beta/"):
                raise errors.graph_error(400, "BadRequest",
                                         f"Resource not found for the segment "
                                         f"'{ctx.path.strip('/').split('/')[1]}'.")
            raise errors.arm_error(
                404, "InvalidResourceType" if "/providers/" in ctx.path.lower() else "NotFound",
                f"The resource type could not be found for path '{ctx.path}'.",
            )
        route, params = found
        ctx.params, ctx.route = params, route
        label = f"{route.method} {route.template}"
        self.stats[label] = self.stats.get(label, 0) + 1
        extra: dict[str, str] = {}
        if route.service == "arm":
            ctx.caller = self._authenticate(ctx, self.server.arm_audiences)
            if not ctx.api_version and not ctx.path.lower().startswith("/metadata"):
                raise errors.arm_error(
                    400, "MissingApiVersionParameter",
                    "The api-version query parameter (?api-version=) is required for all "
                    "requests.",
                )
            if ctx.api_version:
                apiversions.check(ctx.path, ctx.api_version, world=self.world)
            extra = self._throttle(ctx)
            self._authorize(ctx, route)
        elif route.service == "graph":
            try:
                ctx.caller = self._authenticate(ctx, self.server.graph_audiences)
            except errors.CloudError as exc:
                raise _graph_auth_error(exc) from exc
        elif route.service == "control":
            if ctx.headers.get("x-sim-control") != self.server.control_key:
                raise errors.arm_error(401, "Unauthorized", "Missing or wrong x-sim-control.")
        with self.world.lock:
            self.world.settle()
            result = route.handler(ctx)
        reply = result if isinstance(result, Reply) else Reply(200, result)
        reply.headers.update(extra)
        if route.write and 200 <= reply.status < 300:
            self.world.record_write({
                "method": ctx.method, "path": ctx.path, "service": route.service,
                "status": reply.status,
                "caller": ctx.caller.object_id if ctx.caller else None,
                "resource": key(ctx.path) if route.service == "arm" else ctx.path,
            })
            self.world.changed()
            self.server.persist()
        return reply


_GRAPH_AUTH_MESSAGES = {
    "AuthenticationFailed": "Access token is empty.",
    "ExpiredAuthenticationToken": "Lifetime validation failed, the token is expired.",
    "InvalidAuthenticationTokenAudience": "Access token validation failure. Invalid audience.",
    "InvalidAuthenticationTokenTenant": "Access token validation failure. Invalid issuer.",
}


def _graph_auth_error(exc: errors.CloudError) -> errors.CloudError:
    """Graph words every authentication failure as 401 ``InvalidAuthenticationToken`` in its
    own envelope, not ARM's codes."""
    code = exc.body.get("error", {}).get("code", "")
    err = errors.graph_error(401, "InvalidAuthenticationToken",
                             _GRAPH_AUTH_MESSAGES.get(code, "Access token validation failure."))
    err.headers.update(exc.headers)
    return err


def render(reply: Reply) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    body = reply.body
    if body is None:
        data = b""
    elif isinstance(body, bytes):
        data = body
    elif isinstance(body, str):
        data = body.encode()
    else:
        data = json.dumps(body).encode()
    headers = {"x-ms-request-id": str(uuid.uuid4()),
               "x-ms-correlation-request-id": str(uuid.uuid4())}
    if data:
        headers["content-type"] = reply.content_type
    headers.update(reply.headers)
    raw = [(k.lower().encode(), str(v).encode()) for k, v in headers.items()]
    raw.append((b"content-length", str(len(data)).encode()))
    return reply.status, raw, data
