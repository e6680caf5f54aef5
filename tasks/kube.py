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
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from kubernetes.client.exceptions import ApiException

PAGE = 500
MAX_PAGES = 1000


def path(*segments: str) -> str:
    """``/seg/seg/…``, each segment percent-encoded (names are DNS labels; encoded anyway)."""
    return "/" + "/".join(quote(s, safe="") for s in segments)


def get(api: Any, resource_path: str, **query: Any) -> dict[str, Any]:
    """One GET, as JSON; a non-2xx answer raises the client's ``ApiException`` subclass."""
    params = [(k, v) for k, v in query.items() if v is not None]
    method, url, headers, body, post = api.param_serialize(
        method="GET", resource_path=resource_path, query_params=params,
        header_params={"Accept": "application/json"}, auth_settings=["BearerToken"])
    response = api.call_api(method, url, header_params=headers, body=body, post_params=post)
    response.read()
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
