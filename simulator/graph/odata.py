"""OData query options and response envelopes the way Graph applies them to directory
collections: ``$filter``, ``$select``, ``$top`` with ``@odata.nextLink`` skiptokens,
``$count`` (with ``ConsistencyLevel: eventual``), ``$orderby`` and ``@odata.context``."""

from __future__ import annotations

import base64
import binascii
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

from simulator.core import errors
from simulator.core.routing import Ctx, Reply
from simulator.graph.filters import parse_filter
from simulator.graph.shapes import Shape

DEFAULT_PAGE = 100  # Graph's page size for directory collections without $top
MAX_PAGE = 999


def metadata_url(ctx: Ctx, fragment: str) -> str:
    return f"{ctx.server.graph_endpoint.rstrip('/')}/v1.0/$metadata#{fragment}"


def advanced(ctx: Ctx) -> bool:
    """Whether the request is an "advanced query" (ConsistencyLevel: eventual)."""
    return (ctx.headers.get("consistencylevel") or "").lower() == "eventual"


def select(ctx: Ctx, shape: Shape) -> list[str] | None:
    raw = ctx.q("$select")
    if raw is None or raw.strip() in ("", "*"):
        return None
    names = []
    for word in (w.strip() for w in raw.split(",")):
        name = shape.property_name(word)
        if name is None:
            raise errors.graph_error(400, "Request_BadRequest",
                                     f"Could not find a property named '{word}' on type "
                                     f"'microsoft.graph.{shape.type_name}'.")
        names.append(name)
    return names


def entity(ctx: Ctx, shape: Shape, doc: dict[str, Any]) -> dict[str, Any]:
    """One object as ``GET /{collection}/{id}`` renders it."""
    chosen = select(ctx, shape)
    frag = shape.collection + (f"({','.join(chosen)})" if chosen else "") + "/$entity"
    return {"@odata.context": metadata_url(ctx, frag), **shape.render(doc, chosen)}


def typed(shape: Shape, doc: dict[str, Any], chosen: list[str] | None = None) -> dict[str, Any]:
    """An object in a directoryObjects collection, which names its derived type."""
    return {"@odata.type": shape.odata_type, **shape.render(doc, chosen)}


def query(ctx: Ctx, shape: Shape, docs: list[dict[str, Any]], *, counting: bool = False
          ) -> list[dict[str, Any]]:
    """Apply $filter and $orderby to a collection's documents."""
    count = counting or (ctx.q("$count") or "").lower() == "true"
    text = ctx.q("$filter")
    if text:
        parsed = parse_filter(text, shape)
        if parsed.advanced and not (advanced(ctx) and count):
            raise errors.graph_error(
                400, "Request_UnsupportedQuery",
                f"Operator '{parsed.advanced[0]}' is not supported because the required "
                "parameters might be missing. Try adding $count with a value of true and the "
                "ConsistencyLevel header set to eventual.")
        docs = [d for d in docs if parsed.predicate(d)]
    order = ctx.q("$orderby")
    if order:
        field, _, direction = order.strip().partition(" ")
        name = shape.property_name(field)
        if name is None:
            raise errors.graph_error(400, "Request_BadRequest",
                                     f"Could not find a property named '{field}' on type "
                                     f"'microsoft.graph.{shape.type_name}'.")
        docs = sorted(docs, key=lambda d: (d.get(name) is None, str(d.get(name) or "").lower()),
                      reverse=direction.strip().lower() == "desc")
    return docs


def _offset(ctx: Ctx) -> int:
    token = ctx.q("$skiptoken")
    if token is None:
        return 0
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        kind, _, n = raw.partition(":")
        if kind != "RFNwdA" or not n.isdigit():
            raise ValueError(raw)
        return int(n)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise errors.graph_error(400, "Directory_ExpiredPageToken",
                                 "The specified page token value has expired and can no longer "
                                 "be included in your request.") from exc


def _next_link(ctx: Ctx, offset: int) -> str:
    token = base64.urlsafe_b64encode(f"RFNwdA:{offset}".encode()).decode().rstrip("=")
    params = [(k, v) for k, v in parse_qsl(ctx.raw_query, keep_blank_values=True)
              if k.lower() != "$skiptoken"]
    params.append(("$skiptoken", token))
    qs = urlencode(params, quote_via=quote, safe="$'(),:")
    return f"{ctx.server.graph_endpoint.rstrip('/')}{ctx.path}?{qs}"


def page(ctx: Ctx, fragment: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    """A collection response: one page of ``items`` with the context, count and next link."""
    top_raw = ctx.q("$top")
    size = DEFAULT_PAGE
    if top_raw is not None:
        if not top_raw.isdigit() or not 1 <= int(top_raw) <= MAX_PAGE:
            raise errors.graph_error(400, "Request_BadRequest",
                                     f"Invalid page size specified: '{top_raw}'. Must be between "
                                     f"1 and {MAX_PAGE} inclusive.")
        size = int(top_raw)
    count = (ctx.q("$count") or "").lower() == "true"
    if count and not advanced(ctx):
        raise errors.graph_error(400, "Request_BadRequest", "$count is not currently supported.")
    start = _offset(ctx)
    body: dict[str, Any] = {"@odata.context": metadata_url(ctx, fragment)}
    if count:
        body["@odata.count"] = len(items)
    if start + size < len(items):
        body["@odata.nextLink"] = _next_link(ctx, start + size)
    body["value"] = items[start:start + size]
    return body


def collection(ctx: Ctx, shape: Shape, docs: list[dict[str, Any]]) -> dict[str, Any]:
    """``GET /{collection}``: filter, order, select and page."""
    chosen = select(ctx, shape)
    docs = query(ctx, shape, docs)
    frag = shape.collection + (f"({','.join(chosen)})" if chosen else "")
    return page(ctx, frag, [shape.render(d, chosen) for d in docs])


def count(ctx: Ctx, shape: Shape, docs: list[dict[str, Any]]) -> Reply:
    """``GET /{collection}/$count``: a plain-text number, advanced queries only."""
    if not advanced(ctx):
        raise errors.graph_error(400, "Request_BadRequest", "$count is not currently supported.")
    return Reply(200, str(len(query(ctx, shape, docs, counting=True))), content_type="text/plain")
