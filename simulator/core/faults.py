"""Fault injection: what a bad day in the cloud looks like to a client.

A fault matches requests by method, path and host (regular expressions; the host tells a
registry's data plane from ARM, whose paths overlap) and fires on every match, on the first
``count`` matches, or on a seeded fraction of them (``probability``), so a chaos run is
repeatable; ``skip`` lets the first N matches through (the sweep's read passes, the
remediation's fails). It either delays the request (``latency_ms``), answers an error (``status``, with
the failing service's envelope and an optional ``retry_after``) or hangs up mid-response
(``drop``).

``phase`` says *when* it strikes:

- ``before`` (default): the request never reaches the handler — nothing changes;
- ``after``: the handler runs (a write is made, journalled and persisted) and then the client
  gets the error or the broken connection instead of the answer. This is the fault behind
  double applies in real clouds: the caller cannot tell "not done" from "done, answer lost",
  retries (azure-core retries PUT/DELETE/GET on a dropped connection or a 5xx), and must
  find what the first attempt already made — an idempotent PUT answers the existing resource,
  a role assignment under another name answers 409 ``RoleAssignmentExists``.

Faults live in the world's state, so they survive a restart of a persistent simulator as the
rest of the world does; their counters (``hits``, ``seen``) are kept there too.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from simulator.core import errors

KEYS = frozenset({"method", "path", "host", "status", "retry_after", "latency_ms", "drop",
                  "count", "skip", "body", "phase", "probability", "seed"})
PHASES = ("before", "after")
_ARM_CODES = {429: "TooManyRequests", 500: "InternalServerError", 502: "BadGateway",
              503: "ServiceUnavailable", 504: "GatewayTimeout"}


def validate(fault: Any) -> dict[str, Any]:
    """A fault as the control API accepts it; anything else is a 400 naming the problem."""
    if not isinstance(fault, dict):
        raise errors.bad_request("InvalidFault", "a fault is a JSON object")
    unknown = set(fault) - KEYS
    if unknown:
        raise errors.bad_request("InvalidFault", f"unknown fault keys {sorted(unknown)}; "
                                 f"valid: {sorted(KEYS)}")
    if fault.get("phase", "before") not in PHASES:
        raise errors.bad_request("InvalidFault", f"phase must be one of {list(PHASES)}, got "
                                 f"{fault.get('phase')!r}")
    p = fault.get("probability")
    if p is not None and not (isinstance(p, int | float) and 0 <= p <= 1):
        raise errors.bad_request("InvalidFault", f"probability must be a number in [0, 1], "
                                 f"got {p!r}")
    if fault.get("phase") == "after" and not (fault.get("status") or fault.get("drop")):
        raise errors.bad_request("InvalidFault", "an 'after' fault replaces the answer: give "
                                 "'status' or 'drop'")
    for k in ("path", "host"):
        if k in fault:
            try:
                re.compile(str(fault[k]))
            except re.error as exc:
                raise errors.bad_request("InvalidFault", f"{k} is not a regular expression: "
                                         f"{exc}") from exc
    return dict(fault)


def _chosen(fault: dict[str, Any], index: int) -> bool:
    """The seeded coin for the fault's ``seen``-th match: the same seed, the same failures."""
    p = fault.get("probability")
    if p is None:
        return True
    digest = hashlib.sha256(f"{fault.get('seed', 0)}:{index}:{fault['seen']}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < float(p)


def pick(faults: list[dict[str, Any]], *, method: str, path: str, host: str,
         phase: str) -> dict[str, Any] | None:
    """The first fault of ``phase`` that fires for this request (its counters updated), as a
    copy; None when the request goes through. The caller holds the world's lock."""
    for index, fault in enumerate(faults):
        if fault.get("phase", "before") != phase:
            continue
        if fault.get("method") and fault["method"].upper() != method:
            continue
        if not re.search(fault.get("path", ".*"), path, re.IGNORECASE):
            continue
        if fault.get("host") and not re.search(fault["host"], host, re.IGNORECASE):
            continue
        if fault.get("count") is not None and fault["count"] <= 0:
            continue
        fault["seen"] = fault.get("seen", 0) + 1
        if fault["seen"] <= int(fault.get("skip") or 0):
            continue  # the first ``skip`` matching requests go through
        if not _chosen(fault, index):
            continue
        if fault.get("count") is not None:
            fault["count"] -= 1
        fault["hits"] = fault.get("hits", 0) + 1
        return dict(fault)
    return None


def error_body(fault: dict[str, Any], method: str, path: str) -> Any:
    """The answer a failing service gives: the fault's own body, or the envelope of the service
    the path belongs to (Graph's for Graph, Kubernetes' Status for an API server, ARM's else)."""
    if fault.get("body") is not None:
        return fault["body"]
    status = int(fault["status"])
    code = _ARM_CODES.get(status, "InjectedFault")
    message = f"Injected fault: {code} ({status}) for {method} {path}."
    low = path.lower()
    if low.startswith("/k8s/"):
        return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": message, "reason": code, "code": status}
    if low.startswith(("/v1.0/", "/beta/")):
        return {"error": {"code": "serviceNotAvailable" if status >= 500 else code,
                          "message": message, "innerError": {}}}
    return {"error": {"code": code, "message": message}}
