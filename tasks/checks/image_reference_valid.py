"""image-reference-valid — cause 2 (image not found), also behind 401s and "no such host".

Failure mode: the image reference is malformed (``invalid reference format``), names a
registry host that does not exist (``contosoapp.azureacr.io``: ``no such host``; another
cloud's suffix), or a repository / tag / digest the registry does not hold (``not found``;
a missing repository often reads ``401 Unauthorized`` because the kubelet falls back to an
anonymous token — Azure/AKS#4052).

Evidence: the parsed reference, the cloud's login-server suffix, the visible registries
(ARM list), the repository and tag reads on the registry's data plane, and the nearest
existing registry / repository / tag (difflib).
Fix: ``correct-image-reference`` (patch the owning workload's image; report only by default).
"""

from __future__ import annotations

import difflib

from tasks.checks import _images as img
from tasks.checks._reasons import CannotRead, error, no_pod, not_applicable
from tasks.contract import Category, Evidence, Finding, Group, Status, Target
from tasks.reads import Reads
from tasks.reference import InvalidReference, parse
from tasks.registry import check

NAME = "image-reference-valid"
GROUP = Group.WORKLOAD
ACR_SUFFIXES = ("azurecr.io", "azurecr.cn", "azurecr.us")


@check(NAME, group=GROUP, suggests=("correct-image-reference",),
       permissions=("Microsoft.ContainerRegistry/registries/read",
                    "Microsoft.ContainerRegistry/registries/pull/read"),
       categories=(Category.NOT_FOUND, Category.UNAUTHORIZED, Category.OTHER))
def image_reference_valid(target: Target, reads: Reads) -> Finding:
    if target.pod is None:
        return no_pod(NAME, GROUP)
    try:
        return _judge(target, reads)
    except CannotRead as exc:
        return error(NAME, GROUP, exc)


def _fail(target: Target, summary: str, ev: list[Evidence], proposal: str | None) -> Finding:
    assert target.pod is not None
    data = {"image": target.pod.image, "proposal": proposal}
    ev = [*ev, Evidence(source="pullfix image-reference-valid", detail=summary, data=data)]
    return Finding(check=NAME, status=Status.FAIL, group=GROUP, evidence=tuple(ev),
                   suggests=("correct-image-reference",),
                   root_cause=f"image-ref:{target.cluster.id.lower()}/{target.pod.image}",
                   summary=summary + (f"; did you mean {proposal}?" if proposal else ""))


def _nearest(word: str, choices: list[str]) -> str | None:
    found = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return found[0] if found else None


def _judge(target: Target, reads: Reads) -> Finding:
    assert target.pod is not None
    image = target.pod.image
    try:
        ref = parse(image)
    except InvalidReference as exc:
        return _fail(target, f"{image!r} is not a valid image reference ({exc})", [], None)
    suffix = reads.clients.profile.acr_login_server_suffix
    host = ref.host
    src = f"ARM list registries ({len(reads.subscriptions())} subscription(s))"
    logins = [(r.login_server or "").lower() for r in reads.registries()]
    ev = [Evidence(source=f"k8s pod {target.pod.namespace}/{target.pod.name}",
                   detail=f"image {image}: host {host}, repository {ref.repository}, "
                          f"reference {ref.reference}")]
    if not host.endswith("." + suffix):
        short = host.split(".", 1)[0]
        near = next((x for x in logins if x.split(".", 1)[0] == short), None) or _nearest(
            host, logins)
        other_cloud = next((s for s in ACR_SUFFIXES if host.endswith("." + s)), None)
        if other_cloud:
            return _fail(target, f"{host} uses {other_cloud}, but registries of this cloud end "
                         f"in .{suffix}", ev, near)
        if near or "azurecr" in host or "acr" in host.split(".", 1)[-1]:
            fixed = f"{near}/{ref.repository}:{ref.reference}" if near else None
            return _fail(target, f"registry host {host} does not exist: ACR login servers end "
                         f"in .{suffix}", ev, fixed)
        return not_applicable(NAME, GROUP, f"{host} is not an Azure Container Registry")
    login = target.registry_host or host
    if target.registry_id is None:
        near = _nearest(host, logins)
        if near:
            return _fail(target, f"no registry {host} in the {len(reads.subscriptions())} "
                         f"visible subscription(s)", [*ev, Evidence(source=src, detail=str(
                             logins))], f"{near}/{ref.repository}:{ref.reference}")
        raise CannotRead(f"registry {host} is not in any subscription pullfix can see, so its "
                         "repositories cannot be read — grant pullfix Reader and AcrPull on it")
    if img.repository(reads, login, ref.repository) is None:
        repos = img.repositories(reads, login)
        near = _nearest(ref.repository, repos)
        return _fail(target, f"repository {ref.repository} does not exist on {login} "
                     f"(it has {len(repos)})", [*ev, Evidence(
                         source=f"ACR GET https://{login}/acr/v1/_catalog",
                         detail=f"repositories: {repos[:20]}")],
                     f"{login}/{near}:{ref.reference}" if near else None)
    if img.manifest(reads, login, ref.repository, ref.reference) is None:
        tags = img.tags(reads, login, ref.repository)
        near = _nearest(ref.tag, tags) if ref.tag and not ref.digest else None
        what = f"digest {ref.digest}" if ref.digest else f"tag {ref.tag}"
        near = near or (sorted(tags)[-1] if tags else None)
        return _fail(target, f"{login}/{ref.repository} has no {what}", [*ev, Evidence(
            source=f"ACR GET https://{login}/acr/v1/{ref.repository}/_tags",
            detail=f"tags: {tags[:20]}")], f"{login}/{ref.repository}:{near}" if near else None)
    return Finding(check=NAME, status=Status.PASS, group=GROUP, evidence=tuple(ev),
                   summary=f"{login}/{ref.repository}@{ref.reference} exists")
