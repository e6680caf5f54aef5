"""Route table: (method, path template) -> handler, moto's urls.py shape.

A provider package declares its routes in ``urls.py`` with :func:`route`; the template syntax
is ``{name}`` for one path segment and ``{name:path}`` for the rest. ARM paths match
case-insensitively, as ARM does.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from simulator.core import errors

Handler = Callable[["Ctx"], Any]


class Unreachable(Exception):
    """Nothing listens for this request where the client sent it (a stopped cluster's API
    server, a private API server reached from outside): the connection is dropped."""


@dataclass
class Caller:
    object_id: str
    app_id: str | None
    tenant_id: str
    claims: dict[str, Any]
    token: str = ""


@dataclass
class Reply:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json; charset=utf-8"


@dataclass
class Ctx:
    """One request as a handler sees it."""

    world: Any
    method: str
    path: str
    params: dict[str, str]
    raw_query: str
    headers: dict[str, str]  # lower-cased names
    body: bytes
    base_url: str
    server: Any = None
    caller: Caller | None = None
    route: Route | None = None
    inside: bool = False  # sent from inside a cluster (runCommand), not over the network

    @property
    def query(self) -> dict[str, str]:
        return dict(parse_qsl(self.raw_query, keep_blank_values=True))

    def q(self, name: str, default: str | None = None) -> str | None:
        """A query parameter, case-insensitive (ARM treats ``$filter``/``$Filter`` alike)."""
        for k, v in parse_qsl(self.raw_query, keep_blank_values=True):
            if k.lower() == name.lower():
                return v
        return default

    def json(self) -> Any:
        if not self.body:
            return {}
        try:
            return json.loads(self.body)
        except ValueError as exc:
            raise errors.bad_request(
                "InvalidRequestContent", f"The request content was invalid and could not be "
                f"deserialized: '{exc}'."
            ) from exc

    def form(self) -> dict[str, str]:
        return dict(parse_qsl(self.body.decode(), keep_blank_values=True))

    @property
    def api_version(self) -> str:
        return self.q("api-version") or ""


@dataclass
class Route:
    method: str
    template: str
    handler: Handler
    service: str  # arm | graph | entra | public | mi | acr | k8s
    regex: re.Pattern[str]
    write: bool
    action: str | None  # override of the derived RBAC action; "" = no RBAC check


def _compile(template: str, case_insensitive: bool) -> re.Pattern[str]:
    out = ""
    for part in re.split(r"(\{[^}]+\})", template):
        if part.startswith("{"):
            name, _, kind = part[1:-1].partition(":")
            out += f"(?P<{name}>.+)" if kind == "path" else f"(?P<{name}>[^/]+)"
        else:
            out += re.escape(part)
    return re.compile("^" + out + "/?$", re.IGNORECASE if case_insensitive else 0)


# Services reached by host name rather than by path (``acr``: a registry's login server or data
# endpoint): the provider registers a predicate ``(world, host) -> bool``. Their routes match
# only requests whose Host belongs to them; every other route only requests whose Host does not.
HOST_SERVICES: dict[str, Callable[[Any, str], bool]] = {}


class Router:
    def __init__(self) -> None:
        self.routes: list[Route] = []

    def route(
        self,
        method: str,
        template: str,
        *,
        service: str = "arm",
        write: bool | None = None,
        action: str | None = None,
    ) -> Callable[[Handler], Handler]:
        def deco(fn: Handler) -> Handler:
            for m in method.split("|"):
                is_write = write if write is not None else m in ("PUT", "PATCH", "DELETE") or (
                    m == "POST" and not template.rsplit("/", 1)[-1].lower().startswith("list")
                    and service in ("arm", "graph")
                )
                self.routes.append(
                    Route(m, template, fn, service, _compile(template, service == "arm"),
                          is_write, action)
                )
            return fn

        return deco

    def match(self, method: str, path: str, host_service: str | None = None
              ) -> tuple[Route, dict[str, str]] | None:
        allowed = False
        for r in self.routes:
            if (r.service if r.service in HOST_SERVICES else None) != host_service:
                continue
            m = r.regex.match(path)
            if m:
                if r.method == method:
                    return r, m.groupdict()
                allowed = True
        if allowed:
            raise errors.arm_error(405, "MethodNotAllowed",
                                   f"The requested resource does not support http method "
                                   f"'{method}'.")
        return None


ROUTER = Router()
route = ROUTER.route
