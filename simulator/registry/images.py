"""Images in registries: repositories, tags, manifests and blobs (the ``_repositories`` contract).

A registry doc carries ``_repositories``::

    {"<repo>": {"tags": {"<tag>": "<digest>"},
                "manifests": {"<digest>": {"mediaType", "content", "platforms", "children"}},
                # additions of this package (not part of the shared contract):
                "blobs": {"<digest>": "<base64 bytes>"}, "createdTime": float,
                "tagTimes": {"<tag>": float}}}

A manifest's ``content`` is the exact JSON text served; its digest is ``sha256:`` + the hex of
those bytes, so ``Docker-Content-Digest`` and client-side verification agree. Manifest entries
also keep ``createdTime`` and ``size`` (this package's additions). Config blobs and layers are
small deterministic bytes so ``/v2/<repo>/blobs/<digest>`` can serve them.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import tarfile
from typing import Any, Literal

from simulator.core.world import World
from simulator.scenario import Spec, builder, resolve_scope

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
LIST_TYPES = (DOCKER_LIST, OCI_INDEX)
# what a Windows Server 2022 node (AKS Windows pools) reports as os.version
WINDOWS_OS_VERSION = "10.0.20348.2582"


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def parse_platform(text: str) -> dict[str, Any]:
    """``linux/amd64``, ``linux/arm64`` (variant v8, as docker records it), ``linux/arm64/v8``,
    ``windows/amd64``."""
    parts = text.strip().lower().split("/")
    if len(parts) not in (2, 3) or parts[0] not in ("linux", "windows"):
        raise ValueError(f"platform '{text}' is not os/arch[/variant] (e.g. linux/amd64, "
                         "linux/arm64/v8, windows/amd64)")
    os_, arch = parts[0], parts[1]
    variant = parts[2] if len(parts) == 3 else ("v8" if arch == "arm64" else None)
    out: dict[str, Any] = {"os": os_, "architecture": arch, "variant": variant}
    if os_ == "windows":
        out["os.version"] = WINDOWS_OS_VERSION
    return out


def _layer(repo: str, tag: str, platform: dict[str, Any]) -> tuple[bytes, bytes]:
    """(gzip bytes, uncompressed tar bytes) of a one-file layer, identical on every build."""
    label = f"{platform['os']}/{platform['architecture']}"
    payload = f"{repo}:{tag} {label}\n".encode()
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        info = tarfile.TarInfo("etc/image-release")
        info.size, info.mtime, info.mode = len(payload), 0, 0o644
        tar.addfile(info, io.BytesIO(payload))
    tar_bytes = raw.getvalue()
    return gzip.compress(tar_bytes, mtime=0), tar_bytes


def _config(platform: dict[str, Any], diff_id: str, created: str) -> bytes:
    doc: dict[str, Any] = {"architecture": platform["architecture"], "os": platform["os"]}
    if platform.get("variant"):
        doc["variant"] = platform["variant"]
    if platform.get("os.version"):
        doc["os.version"] = platform["os.version"]
    doc.update({
        "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
                   "Cmd": ["/bin/sh"] if platform["os"] == "linux" else ["cmd.exe"]},
        "created": created,
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "history": [{"created": created, "created_by": "pullfix simulator"}],
    })
    return json.dumps(doc, separators=(",", ":")).encode()


def _single(repo: str, tag: str, platform: dict[str, Any], fmt: str, created: str,
            blobs: dict[str, bytes]) -> tuple[str, dict[str, Any]]:
    layer, tar_bytes = _layer(repo, tag, platform)
    config = _config(platform, digest_of(tar_bytes), created)
    blobs[digest_of(layer)] = layer
    blobs[digest_of(config)] = config
    media, cfg_type, layer_type = ((DOCKER_MANIFEST, DOCKER_CONFIG, DOCKER_LAYER) if fmt == "docker"
                                   else (OCI_MANIFEST, OCI_CONFIG, OCI_LAYER))
    manifest = {
        "schemaVersion": 2,
        "mediaType": media,
        "config": {"mediaType": cfg_type, "size": len(config), "digest": digest_of(config)},
        "layers": [{"mediaType": layer_type, "size": len(layer), "digest": digest_of(layer)}],
    }
    # docker writes manifests indented by three spaces; the bytes are what the digest covers
    content = json.dumps(manifest, indent=3)
    entry = {"mediaType": media, "content": content,
             "platforms": [_contract_platform(platform)], "children": [],
             "size": len(config) + len(layer)}
    return digest_of(content.encode()), entry


def _contract_platform(p: dict[str, Any]) -> dict[str, Any]:
    out = {"os": p["os"], "architecture": p["architecture"], "variant": p.get("variant")}
    if p.get("os.version"):
        out["os.version"] = p["os.version"]
    return out


def build_image(repo: str, tag: str, platforms: list[str], fmt: str, created: str
                ) -> tuple[str, dict[str, dict[str, Any]], dict[str, bytes]]:
    """(top digest, {digest: manifest entry}, {digest: blob bytes}) for one pushed tag."""
    blobs: dict[str, bytes] = {}
    parsed = [parse_platform(p) for p in platforms]
    singles = [_single(repo, tag, p, fmt, created, blobs) for p in parsed]
    if len(singles) == 1:
        digest, entry = singles[0]
        return digest, {digest: entry}, blobs
    list_type = DOCKER_LIST if fmt == "docker" else OCI_INDEX
    descriptors = []
    for (digest, entry), p in zip(singles, parsed, strict=True):
        plat: dict[str, Any] = {"architecture": p["architecture"], "os": p["os"]}
        if p.get("os.version"):
            plat["os.version"] = p["os.version"]
        if p.get("variant"):
            plat["variant"] = p["variant"]
        descriptors.append({"mediaType": entry["mediaType"], "size": len(entry["content"]),
                            "digest": digest, "platform": plat})
    content = json.dumps({"schemaVersion": 2, "mediaType": list_type, "manifests": descriptors},
                         indent=3)
    top = digest_of(content.encode())
    manifests = {d: e for d, e in singles}
    manifests[top] = {"mediaType": list_type, "content": content,
                      "platforms": [e["platforms"][0] for _, e in singles],
                      "children": [d for d, _ in singles],
                      "size": sum(e["size"] for _, e in singles)}
    return top, manifests, blobs


def push(doc: dict[str, Any], repo: str, tags: list[str], platforms: list[str], fmt: str,
         now: float) -> str:
    """Store the image in the registry doc under every tag (a re-pushed tag moves; the old
    manifest stays, untagged). Returns the top-level digest."""
    from simulator.monitor.models import iso7

    repos = doc.setdefault("_repositories", {})
    entry = repos.setdefault(repo, {"tags": {}, "manifests": {}, "blobs": {}, "createdTime": now,
                                    "tagTimes": {}})
    # one push, several tags: every tag names the same manifest
    top, manifests, blobs = build_image(repo, tags[0] if tags else "", platforms, fmt, iso7(now))
    for digest, m in manifests.items():
        entry["manifests"].setdefault(digest, dict(m, createdTime=now))
    for digest, data in blobs.items():
        entry["blobs"][digest] = base64.b64encode(data).decode()
    for tag in tags:
        entry["tags"][tag] = top
        entry["tagTimes"][tag] = now
    return top


# -- reading ------------------------------------------------------------------------------------
def repository(doc: dict[str, Any], repo: str) -> dict[str, Any] | None:
    repos = doc.get("_repositories") or {}
    return repos.get(repo) or repos.get(repo.lower())


def is_digest(reference: str) -> bool:
    return reference.startswith("sha256:") and len(reference) == 71


def find_manifest(registry_doc: dict[str, Any], repo: str, reference: str
                  ) -> dict[str, Any] | None:
    """The manifest entry ``reference`` (a tag or a digest) names in ``repo``, with its
    ``digest`` added; None when the repository, tag or digest does not exist."""
    r = repository(registry_doc, repo)
    if r is None:
        return None
    digest = reference if is_digest(reference) else r["tags"].get(reference)
    if digest is None or digest not in r["manifests"]:
        return None
    return dict(r["manifests"][digest], digest=digest)


def blob(registry_doc: dict[str, Any], repo: str, digest: str) -> bytes | None:
    r = repository(registry_doc, repo)
    if r is None or digest not in r.get("blobs", {}):
        return None
    return base64.b64decode(r["blobs"][digest])


# -- scenario -----------------------------------------------------------------------------------
class ImageSpec(Spec):
    registry: str  # registry:NAME or the registry's ARM id
    repository: str
    tags: list[str] = ["latest"]
    # one platform → a single manifest; several → a manifest list (docker) / an index (oci)
    platforms: list[str] = ["linux/amd64"]
    format: Literal["docker", "oci"] = "docker"


@builder("image", ImageSpec)
def build_image_entry(world: World, spec: ImageSpec) -> None:
    ref = spec.registry if ":" in spec.registry or spec.registry.startswith("/") else (
        f"registry:{spec.registry}")
    doc = world.must_get(resolve_scope(world, ref))
    if spec.repository != spec.repository.lower():
        raise ValueError(f"repository '{spec.repository}' must be lowercase (docker reference "
                         "format)")
    if not spec.platforms:
        raise ValueError("an image needs at least one platform")
    push(doc, spec.repository, spec.tags, spec.platforms, spec.format, world.now())
