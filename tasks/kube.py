"""Kubernetes reads as raw JSON through the client's own ``ApiClient`` — the diagnosis path.

The client's typed APIs (``CoreV1Api``, ``AppsV1Api``, ``BatchV1Api``) import every model of
their API group — each a pydantic model — and wrap each method in ``validate_call``: ≈ 0.6 s of
a remediation's start for reads pullfix parses as JSON anyway (detection read them with
``_preload_content=False`` already). ``ApiClient`` is the transport those APIs use: the
kubeconfig's server and CA, the client certificate or the bearer token (and its refresh hook)
apply unchanged (``param_serialize`` with the ``BearerToken`` auth setting, as the generated
methods pass it), and a non-2xx answer raises the same ``ApiException`` subclasses
(``ApiException.from_response``: 403 ``ForbiddenException``, 404 ``NotFoundException`` …).
Fixes, which write, keep the typed APIs: they load only when a fix runs.

Retries: every ``ApiClient`` pullfix builds has the client's ``client_go_retries`` on (see
:func:`client_go_retries`), so a GET answered 429 or 5xx *with* ``Retry-After`` is waited out
and sent again, as client-go does; a 5xx without it is the server's answer. The client reads
bodies after its retry loop (``preload_content=False``), so a connection cut mid-body — kubectl's
"unexpected error when reading response body. Please retry." — is retried here, for these
reads only (GETs), a bounded number of times.
"""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import quote

from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import ProtocolError

PAGE = 500
MAX_PAGES = 1000
# a GET whose body is cut off is sent again: this many attempts in all, 0.2 s, 0.4 s apart
BODY_ATTEMPTS = 3
BODY_BACKOFF = 0.2


def client_go_retries(api: Any) -> Any:
    """``api`` with client-go's read retries on: GET/HEAD answered 429 or 5xx with
    ``Retry-After`` wait that long and go again (at most 10 times, client-go's ceiling)."""
    api.configuration.client_go_retries = True
    return api


def path(*segments: str) -> str:
    """``/seg/seg/…``, each segment percent-encoded (names are DNS labels; encoded anyway)."""
    return "/" + "/".join(quote(s, safe="") for s in segments)


def get(api: Any, resource_path: str, **query: Any) -> dict[str, Any]:
    """One GET, as JSON; a non-2xx answer raises the client's ``ApiException`` subclass."""
    params = [(k, v) for k, v in query.items() if v is not None]
    for attempt in range(1, BODY_ATTEMPTS + 1):
        method, url, headers, body, post = api.param_serialize(
            method="GET", resource_path=resource_path, query_params=params,
            header_params={"Accept": "application/json"}, auth_settings=["BearerToken"])
        response = api.call_api(method, url, header_params=headers, body=body, post_params=post)
        try:
            response.read()
            break
        except ProtocolError:  # the connection broke mid-body: a GET is safe to send again
            if attempt == BODY_ATTEMPTS:
                raise
            time.sleep(BODY_BACKOFF * 2 ** (attempt - 1))
    if not 200 <= response.status <= 299:
        raise ApiException.from_response(http_resp=response, body=None, data=None)
    doc: dict[str, Any] = json.loads(response.data)
    return doc


def list_all(api: Any, resource_path: str, *, page_size: int = PAGE) -> list[dict[str, Any]]:
    """Every item of a list, following ``continue`` tokens (bounded pages)."""
    items: list[dict[str, Any]] = []
    token = None
    for _ in range(MAX_PAGES):
        page = get(api, resource_path, limit=page_size, **({"continue": token} if token else {}))
        items += page.get("items") or []
        token = (page.get("metadata") or {}).get("continue")
        if not token:
            return items
    raise RuntimeError(f"more than {page_size * MAX_PAGES:,} objects in {resource_path}: refusing to "
                       "page further")
