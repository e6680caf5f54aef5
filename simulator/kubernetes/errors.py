"""Kubernetes ``Status`` errors (kind Status, status Failure, reason, code), the API server's
own words, so kubectl and the python client raise what a real cluster makes them raise."""

from __future__ import annotations

from typing import Any

from simulator.core.errors import CloudError

REASONS = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound",
           405: "MethodNotAllowed", 409: "AlreadyExists", 410: "Expired", 415: "UnsupportedMediaType",
           422: "Invalid", 500: "InternalError"}


def status_error(code: int, message: str, reason: str | None = None,
                 details: dict[str, Any] | None = None) -> CloudError:
    body: dict[str, Any] = {"kind": "Status", "apiVersion": "v1", "metadata": {},
                            "status": "Failure", "message": message,
                            "reason": reason or REASONS.get(code, ""), "code": code}
    if details:
        body["details"] = details
    return CloudError(code, body)


def _details(name: str, group: str, plural: str) -> dict[str, Any]:
    return {"name": name, "group": group, "kind": plural} if group else {"name": name,
                                                                         "kind": plural}


def _qualified(group: str, plural: str) -> str:
    return f"{plural}.{group}" if group else plural


def not_found(group: str, plural: str, name: str) -> CloudError:
    return status_error(404, f'{_qualified(group, plural)} "{name}" not found', "NotFound",
                        _details(name, group, plural))


def already_exists(group: str, plural: str, name: str) -> CloudError:
    return status_error(409, f'{_qualified(group, plural)} "{name}" already exists',
                        "AlreadyExists", _details(name, group, plural))


def conflict(group: str, plural: str, name: str) -> CloudError:
    return status_error(409, f'Operation cannot be fulfilled on {_qualified(group, plural)} '
                        f'"{name}": the object has been modified; please apply your changes to '
                        "the latest version and try again", "Conflict",
                        _details(name, group, plural))


def invalid(kind: str, name: str, causes: list[tuple[str, str]]) -> CloudError:
    """422 ``Invalid``: causes are (field, message) like ``("spec.containers", "Required
    value")``."""
    text = ", ".join(f"{f}: {m}" for f, m in causes)
    msg = f'{kind} "{name}" is invalid: {text}' if len(causes) == 1 else \
        f'{kind} "{name}" is invalid: [{text}]'
    return status_error(422, msg, "Invalid", {
        "name": name, "kind": kind.lower(),
        "causes": [{"reason": "FieldValueInvalid", "message": m, "field": f} for f, m in causes]})


def bad_request(message: str) -> CloudError:
    return status_error(400, message, "BadRequest")


def unauthorized() -> CloudError:
    return status_error(401, "Unauthorized", "Unauthorized")


def forbidden(user: str, verb: str, group: str, plural: str, namespace: str | None,
              name: str | None = None) -> CloudError:
    what = f'{_qualified(group, plural)} "{name}"' if name else _qualified(group, plural)
    where = f' in the namespace "{namespace}"' if namespace else " at the cluster scope"
    return status_error(403, f'{what} is forbidden: User "{user}" cannot {verb} resource '
                        f'"{plural}" in API group "{group}"{where}', "Forbidden",
                        _details(name or "", group, plural))
