"""Transient versus permanent failures (kopf's TemporaryError / PermanentError split).

Retries are for transient errors only (throttling, 5xx, dropped connections — azure-core's
retry policy already handles most of them inside one call). A permanent error (403, 404, a
bad reference) is never retried: it becomes the check's ERROR reason or the run's failure,
with a message that names the resource and what to do.
"""

from __future__ import annotations

from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ServiceRequestError,
    ServiceResponseError,
)


class PullfixError(Exception):
    """Base for errors pullfix raises on purpose."""


class TransientError(PullfixError):
    """Worth retrying later: throttling, a 5xx, a dropped connection, a timeout."""


class PermanentError(PullfixError):
    """Retrying will not help: missing rights, a missing resource, bad input."""


def describe(exc: BaseException) -> str:
    """One line for an operator: the cloud's own code and message when there is one."""
    if isinstance(exc, HttpResponseError):
        code = getattr(getattr(exc, "error", None), "code", None)
        status = exc.status_code
        msg = getattr(getattr(exc, "error", None), "message", None) or exc.message
        first = (msg or "").strip().splitlines()[0] if msg else ""
        return f"{status} {code}: {first}" if code else f"{status}: {first}"
    status = getattr(exc, "status", None)
    if isinstance(status, int) and hasattr(exc, "reason") and hasattr(exc, "body"):
        # a kubernetes ApiException: the API server's Status message says why
        import json

        try:
            message = json.loads(exc.body or "{}").get("message", "")
        except (ValueError, AttributeError):
            message = ""
        return f"{status} {exc.reason}: {message}".rstrip(": ")
    return f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc) else ''}"


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, TransientError):
        return True
    if isinstance(exc, ServiceRequestError | ServiceResponseError | TimeoutError |
                  ConnectionError):
        return True
    if isinstance(exc, ClientAuthenticationError):
        return False
    if isinstance(exc, HttpResponseError):
        return exc.status_code in (408, 429, 500, 502, 503, 504)
    status = getattr(exc, "status", None)  # kubernetes ApiException
    return isinstance(status, int) and status in (429, 500, 502, 503, 504)
