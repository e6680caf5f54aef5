"""Turning a failed read into an ERROR finding's reason (shared by the network and image
checks): which read failed, and what pullfix needs to be allowed to do it."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TypeVar

from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError

from tasks.contract import Finding, Group, Status
from tasks.errors import describe

T = TypeVar("T")


class CannotRead(Exception):
    """A read the check needs failed; ``str(exc)`` is the operator-facing reason."""


def _body(exc: BaseException) -> str:
    """The registry's own error message (ACR's ``{"errors": [{code, message}]}``)."""
    try:
        text = exc.response.text()  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 - no body to show is fine
        return ""
    try:
        err = json.loads(text)["errors"][0]
        return f"{err.get('code')}: {err.get('message')}"
    except (ValueError, KeyError, IndexError, TypeError):
        return ""  # ARM errors: describe() already shows code and message


def firewall_reason(host: str, detail: str) -> str:
    return (f"the registry's firewall blocks pullfix's address ({detail}) — {host} "
            "cannot be read from where pullfix runs; run pullfix from an allowed network, or "
            "add its egress IP to the registry's network rules")


def reason(exc: BaseException, what: str, needs: str) -> str:
    """``what``: "read VNet <id>"; ``needs``: the role/action that read requires."""
    text = describe(exc)
    status = getattr(exc, "status_code", None)
    body = _body(exc)
    if status == 403 and ("not allowed access" in text or "not allowed access" in body):
        return firewall_reason(what.rsplit(" ", 1)[-1], body or text)
    shown = f"{text} ({body})" if body and body not in text else text
    if status in (401, 403):
        return f"cannot {what}: {shown} — pullfix needs {needs} there"
    return f"cannot {what}: {shown}"


def read(what: str, needs: str, thunk: Callable[[], T]) -> T:
    """``thunk()``, with cloud errors turned into :class:`CannotRead` naming the read."""
    try:
        return thunk()
    except HttpResponseError as exc:
        raise CannotRead(reason(exc, what, needs)) from exc
    except (ServiceRequestError, ServiceResponseError, OSError) as exc:
        raise CannotRead(f"cannot {what}: {describe(exc)}") from exc


def error(check: str, group: Group, exc: CannotRead) -> Finding:
    return Finding(check=check, status=Status.ERROR, group=group, reason=str(exc),
                   summary=f"could not determine: {exc}")


def not_applicable(check: str, group: Group, summary: str, **kw: object) -> Finding:
    return Finding(check=check, status=Status.NOT_APPLICABLE, group=group, summary=summary,
                   **kw)  # type: ignore[arg-type]


def no_pod(check: str, group: Group) -> Finding:
    return Finding(check=check, status=Status.NOT_APPLICABLE, group=group,
                   summary="no failing pod on this cluster to judge")
