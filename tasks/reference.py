"""Image references parsed with the docker reference grammar (github.com/distribution/reference:
``ParseNormalizedNamed`` then ``TagNameOnly``), as the kubelet and containerd read them.

Pure, no I/O. Checks use it to split an image into registry host, repository and tag/digest,
and to tell a malformed reference (``invalid reference format``) from a missing image.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_ALNUM = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|[-]+)"
_COMPONENT = rf"{_ALNUM}(?:{_SEPARATOR}{_ALNUM})*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9A-Fa-f]{32,}"
_PATH = re.compile(rf"^{_COMPONENT}(?:/{_COMPONENT})*$")
_DOMAIN_RE = re.compile(rf"^{_DOMAIN}$")
_TAG_RE = re.compile(rf"^{_TAG}$")
_DIGEST_RE = re.compile(rf"^{_DIGEST}$")
DOCKER_HUB = "docker.io"
NAME_TOTAL_LENGTH_MAX = 255


class InvalidReference(ValueError):
    """The reference does not follow the grammar; the message says what is wrong."""


@dataclass(frozen=True)
class ImageReference:
    host: str  # lower-cased registry host; docker.io when the reference names none
    repository: str  # path inside the registry: ``team/app``, ``library/nginx``
    tag: str | None  # ``latest`` when neither tag nor digest is given
    digest: str | None

    @property
    def reference(self) -> str:
        """What the registry is asked for: the digest when pinned, else the tag."""
        return self.digest or self.tag or "latest"

    def __str__(self) -> str:
        out = f"{self.host}/{self.repository}"
        if self.tag:
            out += f":{self.tag}"
        if self.digest:
            out += f"@{self.digest}"
        return out


def _split_host(name: str) -> tuple[str, str]:
    """docker's rule: the first component is a host when it has '.' or ':' or is
    'localhost' (or has upper case, which a repository path may not)."""
    first, sep, rest = name.partition("/")
    if not sep or (not any(c in first for c in ".:") and first != "localhost"
                   and first.lower() == first):
        return DOCKER_HUB, name if "/" in name else f"library/{name}"
    if first in ("docker.io", "index.docker.io"):
        return DOCKER_HUB, rest if "/" in rest else f"library/{rest}"
    return first, rest


def parse(image: str) -> ImageReference:
    if not image or image != image.strip() or any(c.isspace() for c in image):
        raise InvalidReference("invalid reference format: empty or contains whitespace")
    rest, digest = image, None
    if "@" in rest:
        rest, _, digest = rest.partition("@")
        if not _DIGEST_RE.match(digest):
            raise InvalidReference(f"invalid reference format: bad digest '{digest}'")
    tag = None
    last = rest.rsplit("/", 1)[-1]
    if ":" in last:
        rest, _, tag = rest.rpartition(":")
        if not _TAG_RE.match(tag):
            raise InvalidReference(f"invalid reference format: bad tag '{tag}'")
    if len(rest) > NAME_TOTAL_LENGTH_MAX:
        raise InvalidReference("invalid reference format: repository name must not be more "
                               f"than {NAME_TOTAL_LENGTH_MAX} characters")
    host, path = _split_host(rest)
    if not _DOMAIN_RE.match(host):
        raise InvalidReference(f"invalid reference format: bad registry host '{host}'")
    if not _PATH.match(path):
        if _PATH.match(path.lower()):
            raise InvalidReference("invalid reference format: repository name must be lowercase")
        raise InvalidReference(f"invalid reference format: bad repository '{path}'")
    if tag is None and digest is None:
        tag = "latest"
    return ImageReference(host=host.lower(), repository=path, tag=tag, digest=digest)
