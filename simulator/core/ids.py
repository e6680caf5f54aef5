"""ARM resource ids: parsing, scopes and the action a request needs.

ARM ids are case-insensitive; the world keys everything by the lower-cased id and keeps the
casing the resource was created with for rendering.
"""

from __future__ import annotations

from dataclasses import dataclass


def key(resource_id: str) -> str:
    return "/" + resource_id.strip("/").lower()


def segments(resource_id: str) -> list[str]:
    return [s for s in resource_id.split("/") if s]


def is_within(scope: str, target: str) -> bool:
    """True when ``scope`` is ``target`` or one of its parent scopes (segment-wise)."""
    s, t = segments(key(scope)), segments(key(target))
    return t[: len(s)] == s


@dataclass(frozen=True)
class ParsedId:
    subscription: str | None
    resource_group: str | None
    namespace: str | None
    types: tuple[str, ...]
    names: tuple[str, ...]

    @property
    def resource_type(self) -> str:
        return "/".join((self.namespace or "", *self.types))

    @property
    def name(self) -> str:
        return self.names[-1] if self.names else ""


def parse(resource_id: str) -> ParsedId:
    segs = segments(resource_id)
    sub = rg = ns = None
    low = [s.lower() for s in segs]
    if len(segs) >= 2 and low[0] == "subscriptions":
        sub = segs[1]
    if len(segs) >= 4 and low[2] == "resourcegroups":
        rg = segs[3]
    types: list[str] = []
    names: list[str] = []
    if "providers" in low:
        i = len(low) - 1 - low[::-1].index("providers")
        if i + 1 < len(segs):
            ns = segs[i + 1]
            rest = segs[i + 2 :]
            types = rest[0::2]
            names = rest[1::2]
    return ParsedId(sub, rg, ns, tuple(types), tuple(names))


def required_action(method: str, path: str) -> tuple[str, str]:
    """The RBAC action and scope an ARM request needs, derived the way ARM derives it."""
    segs = segments(path)
    low = [s.lower() for s in segs]
    verb = {"GET": "read", "HEAD": "read", "PUT": "write", "PATCH": "write", "DELETE": "delete"}
    if "providers" not in low:
        # /subscriptions/{s}[/resourceGroups/{g}[/resources]] or /subscriptions/{s}/resources
        if len(segs) <= 2:
            return ("Microsoft.Resources/subscriptions/read", "/" + "/".join(segs))
        if low[2] == "resourcegroups":
            if len(segs) >= 5:
                return ("Microsoft.Resources/subscriptions/resourceGroups/resources/read",
                        "/" + "/".join(segs[:4]))
            scope = "/" + "/".join(segs[:4]) if len(segs) >= 4 else "/" + "/".join(segs[:2])
            return (f"Microsoft.Resources/subscriptions/resourceGroups/{verb.get(method, 'read')}",
                    scope)
        return ("Microsoft.Resources/subscriptions/resources/read", "/" + "/".join(segs[:2]))
    i = len(low) - 1 - low[::-1].index("providers")
    scope_prefix = segs[:i]
    ns = segs[i + 1] if i + 1 < len(segs) else ""
    rest = segs[i + 2 :]
    types = rest[0::2]
    if len(rest) % 2 == 1 and method == "POST" and len(rest) > 1:
        action = "/".join((ns, *rest[0:-1:2], rest[-1], "action"))
        scope = "/" + "/".join(segs[:-1])
        return action, scope
    action = "/".join((ns, *types, verb.get(method, "action")))
    if len(rest) % 2 == 1:  # a collection: the scope is its parent
        scope = "/" + "/".join(scope_prefix + [segs[i], ns] + rest[:-1]) if len(rest) > 1 else (
            "/" + "/".join(scope_prefix) or "/"
        )
    else:
        scope = "/" + "/".join(segs)
    return action, scope
