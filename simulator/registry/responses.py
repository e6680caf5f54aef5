"""The ACR data plane: Docker Registry v2 (``/v2/``), ACR's token service (``/oauth2/``) and
its metadata API (``/acr/v1/``), reached by a registry's host name.

Every request passes the registry firewall first (as the client's public address sees it),
then authentication (ACR access token, or basic auth), then the permission check, as ACR does.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, quote

from simulator.containerregistry.models import registry_for_host
from simulator.core.routing import Ctx, Reply
from simulator.monitor.models import iso7
from simulator.registry import auth, images
from simulator.registry.auth import Identity, acr_error, unauthorized

V2 = {"Docker-Distribution-Api-Version": "registry/2.0"}
CHANGEABLE = {"deleteEnabled": True, "writeEnabled": True, "readEnabled": True,
              "listEnabled": True}


def _doc(ctx: Ctx) -> dict[str, Any]:
    doc = registry_for_host(ctx.world, ctx.headers.get("host", ""))
    assert doc is not None  # the dispatcher routes only registry hosts here
    return doc


def _host(doc: dict[str, Any]) -> str:
    return doc["properties"]["loginServer"]


def _access(ctx: Ctx, doc: dict[str, Any], scope: str | None) -> Identity:
    """Firewall, then credentials, then the permissions ``scope`` needs (None: any valid
    credential, as ``GET /v2/`` wants)."""
    auth.check_firewall(ctx.world, doc)
    host = _host(doc)
    needed = auth.parse_scope(scope) if scope else None
    detail = ([{"Type": needed["type"], "Name": needed["name"], "Action": a}
               for a in needed["actions"]] if needed else None)
    header = ctx.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        who, claims = auth.verify(ctx, doc, header[7:].strip(), "access_token")
        if not auth.still_valid(ctx.world, doc, who):
            raise unauthorized(host, scope, detail)
        if needed and not (auth.covers(claims.get("access") or [], needed)
                           and auth.granted(ctx.world, doc, who, needed) == needed["actions"]):
            raise unauthorized(host, scope, detail, error="insufficient_scope")
        return who
    if header.lower().startswith("basic "):
        who = auth.from_basic(ctx, doc, header)
        if not auth.still_valid(ctx.world, doc, who) or (
                needed and auth.granted(ctx.world, doc, who, needed) != needed["actions"]):
            raise unauthorized(host, scope, detail)
        return who
    raise unauthorized(host, scope, detail)


def _repo(doc: dict[str, Any], name: str) -> dict[str, Any]:
    repo = images.repository(doc, name)
    if repo is None:
        raise acr_error(404, "NAME_UNKNOWN", "repository name not known to registry",
                        {"name": name})
    return repo


def _page(ctx: Ctx, items: list[Any], key: Any = lambda x: x) -> tuple[list[Any], str | None]:
    """``n``/``last`` paging with an RFC 5988 ``Link`` to the next page, as ACR pages."""
    last = ctx.q("last")
    if last:
        items = [i for i in items if key(i) > last]
    n = ctx.q("n")
    if not n or int(n) >= len(items):
        return items, None
    page = items[: int(n)]
    link = f'<{ctx.path}?last={quote(key(page[-1]), safe="")}&n={n}>; rel="next"'
    return page, link


def _reply(body: Any, link: str | None = None) -> Reply:
    headers = dict(V2)
    if link:
        headers["Link"] = link
    return Reply(200, body, headers)


# -- /v2/ ---------------------------------------------------------------------------------------
def v2_base(ctx: Ctx) -> Reply:
    _access(ctx, _doc(ctx), None)
    return _reply({})


def v2_catalog(ctx: Ctx) -> Reply:
    doc = _doc(ctx)
    _access(ctx, doc, "registry:catalog:*")
    names, link = _page(ctx, sorted(doc.get("_repositories") or {}))
    return _reply({"repositories": names}, link)


def v2_tags(ctx: Ctx) -> Reply:
    doc, name = _doc(ctx), ctx.params["name"]
    _access(ctx, doc, f"repository:{name}:pull")
    tags, link = _page(ctx, sorted(_repo(doc, name)["tags"]))
    return _reply({"name": name, "tags": tags}, link)


def _accepts(ctx: Ctx, media_type: str) -> bool:
    accept = [a.split(";")[0].strip() for a in ctx.headers.get("accept", "").split(",")]
    return not any(accept) or media_type in accept or "*/*" in accept


def v2_manifest(ctx: Ctx) -> Reply:
    doc, name, ref = _doc(ctx), ctx.params["name"], ctx.params["reference"]
    _access(ctx, doc, f"repository:{name}:pull")
    _repo(doc, name)
    found = images.find_manifest(doc, name, ref)
    if found is None:
        what = ref if images.is_digest(ref) else f'tagged by "{ref}"'
        raise acr_error(404, "MANIFEST_UNKNOWN", f"manifest {what} is not found",
                        {"Digest" if images.is_digest(ref) else "Tag": ref})
    if found["mediaType"] == images.DOCKER_LIST and not _accepts(ctx, images.DOCKER_LIST):
        # a client that cannot read lists gets the linux/amd64 image, as the registry does
        child = next((d for d, p in zip(found["children"], found["platforms"], strict=True)
                      if (p["os"], p["architecture"]) == ("linux", "amd64")), None)
        found = images.find_manifest(doc, name, child) if child else None
        if found is None:
            raise acr_error(404, "MANIFEST_UNKNOWN", "manifest unknown", {"Tag": ref})
    elif found["mediaType"] in (images.OCI_INDEX, images.OCI_MANIFEST) and not _accepts(
            ctx, found["mediaType"]):
        kind = "index" if found["mediaType"] == images.OCI_INDEX else "manifest"
        raise acr_error(404, "MANIFEST_UNKNOWN", f"OCI {kind} found, but accept header does not "
                        f"support OCI {kind}s")
    headers = {**V2, "Docker-Content-Digest": found["digest"], "ETag": f'"{found["digest"]}"'}
    return Reply(200, found["content"].encode(), headers, content_type=found["mediaType"])


def v2_blob(ctx: Ctx) -> Reply:
    doc, name, digest = _doc(ctx), ctx.params["name"], ctx.params["digest"]
    _access(ctx, doc, f"repository:{name}:pull")
    _repo(doc, name)
    data = images.blob(doc, name, digest)
    if data is None:
        raise acr_error(404, "BLOB_UNKNOWN", "blob unknown to registry", digest)
    headers = {**V2, "Docker-Content-Digest": digest, "Accept-Ranges": "bytes"}
    rng = ctx.headers.get("range", "")
    if rng.startswith("bytes="):
        start_s, _, end_s = rng[6:].partition("-")
        start = int(start_s or 0)
        end = min(int(end_s) if end_s else len(data) - 1, len(data) - 1)
        headers["Content-Range"] = f"bytes {start}-{end}/{len(data)}"
        return Reply(206, data[start:end + 1], headers, content_type="application/octet-stream")
    return Reply(200, data, headers, content_type="application/octet-stream")


# -- /oauth2/ -----------------------------------------------------------------------------------
def _grant(ctx: Ctx, doc: dict[str, Any], who: Identity, scopes: list[str]) -> Reply:
    host = _host(doc)
    if not auth.still_valid(ctx.world, doc, who):
        raise unauthorized(host)
    access, requested = [], []
    for s in scopes:
        item = auth.parse_scope(s)
        if item is None:
            continue
        requested += [{"Type": item["type"], "Name": item["name"], "Action": a}
                      for a in item["actions"]]
        allowed = auth.granted(ctx.world, doc, who, item)
        if allowed:
            access.append(dict(item, actions=allowed))
    if requested and not access:
        raise unauthorized(host, detail=requested)
    return _reply({"access_token": auth.issue(ctx, doc, who, refresh=False, access=access)})


def _form(ctx: Ctx) -> list[tuple[str, str]]:
    return parse_qsl(ctx.body.decode(), keep_blank_values=True)


def token_get(ctx: Ctx) -> Reply:
    """``GET /oauth2/token?service=&scope=``: basic auth, or anonymous without it."""
    doc = _doc(ctx)
    auth.check_firewall(ctx.world, doc)
    header = ctx.headers.get("authorization", "")
    if header.lower().startswith("basic "):
        who = auth.from_basic(ctx, doc, header)
    elif header:
        raise unauthorized(_host(doc))
    else:
        who = Identity("anonymous", "anonymous")
    scopes = [v for k, v in parse_qsl(ctx.raw_query) if k == "scope"]
    return _grant(ctx, doc, who, scopes)


def token_post(ctx: Ctx) -> Reply:
    """``POST /oauth2/token``: a refresh token, or a password grant (empty = anonymous, which
    is what the SDK's anonymous client sends)."""
    doc = _doc(ctx)
    auth.check_firewall(ctx.world, doc)
    form = _form(ctx)
    fields = dict(form)
    grant = fields.get("grant_type", "")
    if grant == "refresh_token":
        who = auth.verify(ctx, doc, fields.get("refresh_token", ""), "refresh_token")[0]
    elif grant == "password":
        user, password = fields.get("username", ""), fields.get("password", "")
        who = (auth.login(ctx, doc, user, password) if user or password
               else Identity("anonymous", "anonymous"))
    else:
        raise acr_error(400, "UNSUPPORTED", f"unsupported grant_type '{grant}'")
    return _grant(ctx, doc, who, [v for k, v in form if k == "scope"])


def exchange(ctx: Ctx) -> Reply:
    """``POST /oauth2/exchange``: an Entra access token for a registry refresh token. No role is
    needed here; permissions are checked when access tokens are requested."""
    doc = _doc(ctx)
    auth.check_firewall(ctx.world, doc)
    fields = dict(_form(ctx))
    grant = fields.get("grant_type", "")
    if grant not in ("access_token", "access_token_refresh_token"):
        raise acr_error(400, "UNSUPPORTED", f"unsupported grant_type '{grant}'")
    who = auth.from_entra_token(ctx, doc, fields.get("access_token", ""))
    return _reply({"refresh_token": auth.issue(ctx, doc, who, refresh=True)})


# -- /acr/v1/ -----------------------------------------------------------------------------------
def _tag_attrs(repo: dict[str, Any], tag: str) -> dict[str, Any]:
    when = iso7(repo.get("tagTimes", {}).get(tag, repo.get("createdTime", 0)))
    return {"name": tag, "digest": repo["tags"][tag], "createdTime": when,
            "lastUpdateTime": when, "signed": False, "changeableAttributes": dict(CHANGEABLE)}


def _manifest_attrs(repo: dict[str, Any], digest: str) -> dict[str, Any]:
    m = repo["manifests"][digest]
    when = iso7(m.get("createdTime", repo.get("createdTime", 0)))
    out: dict[str, Any] = {"digest": digest, "imageSize": m.get("size", len(m["content"])),
                           "createdTime": when, "lastUpdateTime": when, "mediaType": m["mediaType"]}
    if m["children"]:
        out["references"] = [{"digest": d, "architecture": p["architecture"], "os": p["os"]}
                             for d, p in zip(m["children"], m["platforms"], strict=True)]
    else:
        p = m["platforms"][0]
        out.update({"architecture": p["architecture"], "os": p["os"],
                    "configMediaType": images.DOCKER_CONFIG if m["mediaType"] ==
                    images.DOCKER_MANIFEST else images.OCI_CONFIG})
    tags = sorted(t for t, d in repo["tags"].items() if d == digest)
    if tags:
        out["tags"] = tags
    out["changeableAttributes"] = dict(CHANGEABLE, quarantineState="Passed")
    return out


def acr_catalog(ctx: Ctx) -> Reply:
    doc = _doc(ctx)
    _access(ctx, doc, "registry:catalog:*")
    names, link = _page(ctx, sorted(doc.get("_repositories") or {}))
    return _reply({"repositories": names}, link)


def acr_repository(ctx: Ctx) -> Reply:
    doc, name = _doc(ctx), ctx.params["name"]
    _access(ctx, doc, f"repository:{name}:metadata_read")
    repo = _repo(doc, name)
    times = [repo.get("createdTime", 0), *repo.get("tagTimes", {}).values()]
    return _reply({"registry": _host(doc), "imageName": name,
                   "createdTime": iso7(min(times)), "lastUpdateTime": iso7(max(times)),
                   "manifestCount": len(repo["manifests"]), "tagCount": len(repo["tags"]),
                   "changeableAttributes": dict(CHANGEABLE)})


def acr_tags(ctx: Ctx) -> Reply:
    doc, name = _doc(ctx), ctx.params["name"]
    _access(ctx, doc, f"repository:{name}:metadata_read")
    repo = _repo(doc, name)
    tags = [_tag_attrs(repo, t) for t in sorted(repo["tags"])]
    if ctx.q("digest"):
        tags = [t for t in tags if t["digest"] == ctx.q("digest")]
    page, link = _page(ctx, tags, key=lambda t: t["name"])
    return _reply({"registry": _host(doc), "imageName": name, "tags": page}, link)


def acr_tag(ctx: Ctx) -> Reply:
    doc, name, ref = _doc(ctx), ctx.params["name"], ctx.params["reference"]
    _access(ctx, doc, f"repository:{name}:metadata_read")
    repo = _repo(doc, name)
    if ref not in repo["tags"]:
        raise acr_error(404, "TAG_UNKNOWN", "the specified tag does not exist", {"Tag": ref})
    return _reply({"registry": _host(doc), "imageName": name, "tag": _tag_attrs(repo, ref)})


def acr_manifests(ctx: Ctx) -> Reply:
    doc, name = _doc(ctx), ctx.params["name"]
    _access(ctx, doc, f"repository:{name}:metadata_read")
    repo = _repo(doc, name)
    items = [_manifest_attrs(repo, d) for d in sorted(repo["manifests"])]
    page, link = _page(ctx, items, key=lambda m: m["digest"])
    return _reply({"registry": _host(doc), "imageName": name, "manifests": page}, link)


def acr_manifest(ctx: Ctx) -> Reply:
    doc, name, digest = _doc(ctx), ctx.params["name"], ctx.params["digest"]
    _access(ctx, doc, f"repository:{name}:metadata_read")
    repo = _repo(doc, name)
    if digest not in repo["manifests"]:
        raise acr_error(404, "MANIFEST_UNKNOWN", "manifest unknown", {"Digest": digest})
    return _reply({"registry": _host(doc), "imageName": name,
                   "manifest": _manifest_attrs(repo, digest)})
