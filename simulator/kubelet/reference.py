"""Image references as the kubelet and containerd parse them (the docker reference grammar of
github.com/distribution/reference: ``ParseNormalizedNamed`` + ``TagNameOnly``)."""

from __future__ import annotations

import re
from dataclasses import dataclass

_ALNUM = r"[a-z0-9]+"
_SEP = r"(?:[._]|__|[-]+)"
_PATH = rf"{_ALNUM}(?:{_SEP}{_ALNUM})*"
_DOMAIN_PART = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"{_DOMAIN_PART}(?:\.{_DOMAIN_PART})*(?::[0-9]+)?"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9A-Fa-f]{32,}"
_REFERENCE = re.compile(
    rf"^(?P<name>(?:{_DOMAIN}/)?{_PATH}(?:/{_PATH})*)(?::(?P<tag>{_TAG}))?(?:@(?P<digest>{_DIGEST}))?$")
DOCKER_HUB = "docker.io"


class InvalidReference(ValueError):
    """What ``reference.ParseNormalizedNamed`` returns for a malformed image name."""


@dataclass(frozen=True)
class ImageRef:
    host: str  # registry host as written (lower-cased), docker.io when none was given
    repository: str  # path inside the registry, e.g. ``team/app`` or ``library/nginx``
    tag: str | None
    digest: str | None

    @property
    def reference(self) -> str:
        """What the registry is asked for: the digest when pinned, else the tag."""
        return self.digest or self.tag or "latest"

    @property
    def normalized(self) -> str:
        """The fully qualified name containerd reports (``docker.io/library/nginx:latest``)."""
        out = f"{self.host}/{self.repository}"
        if self.tag:
            out += f":{self.tag}"
        if self.digest:
            out += f"@{self.digest}"
        return out

    @property
    def default_pull_policy(self) -> str:
        # the API server's defaulting: ``:latest`` or no tag means Always
        return "Always" if (self.tag in (None, "latest") and not self.digest) else "IfNotPresent"


def parse(image: str) -> ImageRef:
    if not image or image != image.strip():
        raise InvalidReference("invalid reference format")
    host, rest = _split_domain(image)
    m = _REFERENCE.match(f"{host}/{rest}")
    if not m:
        if rest.lower() != rest and _REFERENCE.match(f"{host}/{rest.lower()}"):
            raise InvalidReference("invalid reference format: repository name must be lowercase")
        raise InvalidReference("invalid reference format")
    name = m["name"]
    repo = name[len(host) + 1:]
    tag = m["tag"]
    if tag is None and m["digest"] is None:
        tag = "latest"
    return ImageRef(host=host.lower(), repository=repo, tag=tag, digest=m["digest"])


def _split_domain(name: str) -> tuple[str, str]:
    i = name.find("/")
    first = name[:i] if i >= 0 else ""
    if i == -1 or (not any(c in first for c in ".:") and first != "localhost"
                   and first.lower() == first):
        rest = name
        if "/" not in rest:
            rest = "library/" + rest
        return DOCKER_HUB, rest
    rest = name[i + 1:]
    if first in ("docker.io", "index.docker.io") and "/" not in rest:
        rest = "library/" + rest
    return ("docker.io" if first == "index.docker.io" else first), rest
