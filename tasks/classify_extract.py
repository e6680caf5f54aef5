"""What can be read off a pull error besides its class: the image, the registry host, the HTTP
status, whether credentials were sent, the runtime — and the text split into the errors the
kubelet aggregated.

Pure functions over strings; the classifier (:mod:`tasks.classify`) uses them.
"""

from __future__ import annotations

import re

# kubelet's own wrappers, any version: 'Failed to pull image "X": …' (image_manager.go),
# 'Failed to apply default image tag "X": …' (InvalidImageName), 'Container image "X" is not
# present with pull policy of Never', 'Back-off pulling image "X"'.
_KUBELET_IMAGE = re.compile(
    r'(?:Failed to pull image|Failed to apply default image tag|Container image|'
    r'[Pp]ulling image|Back-off pulling image)\s+"(?P<image>[^"]+)"')
# the runtime's own mention, when the kubelet's prefix was cut off (container status messages)
_RUNTIME_IMAGE = (
    re.compile(r'failed to pull and unpack image "(?P<image>[^"]+)"'),  # containerd
    re.compile(r'failed to resolve (?:reference|image) "(?P<image>[^"]+)"'),  # containerd
    re.compile(r"initializing source docker://(?P<image>[^\s:@]+(?::[\w][\w.-]*)?(?:@[\w+.-]+:[0-9a-fA-F]+)?)"),
    re.compile(r'\bimage="(?P<image>[^"]+)"'),  # kubelet's structured log line
    re.compile(r"manifest for (?P<image>\S+) not found"),  # dockerd
    re.compile(r"pull access denied for (?P<image>[^\s,]+)"),  # dockerd
)
_KUBELET_PREFIX = re.compile(r'Failed to pull image\s+"[^"]*":\s*')
# where one aggregated error ends and the next begins: each starts with a runtime's first words
_NEXT_ERROR = re.compile(
    r",\s+(?=rpc error: code|failed to pull and unpack image|Error response from daemon|"
    r"initializing source|[Ee]rror reading manifest|pinging (?:docker|container) registry|"
    r"failed to resolve (?:reference|image))")
_URL_HOST = re.compile(r"https?://([^/\s\"'?]+)")
_LOOKUP_HOST = re.compile(r"lookup ([^\s:]+)")
_STATUS = re.compile(
    r"\b([45]\d\d)\s+(?:Unauthorized|Forbidden|Not Found|Too Many Requests|Internal Server Error|"
    r"Service Unavailable|Bad Gateway|Gateway Timeout|UNAUTHORIZED|FORBIDDEN)\b"
    r"|(?:status(?: code)?:?|HTTP|HTTP status:)\s+([45]\d\d)\b"
    r"|error parsing HTTP ([45]\d\d) response body", re.I)
_GRPC_CODE = re.compile(r"rpc error: code\s*=?\s*(\w+)")


def image_of(text: str) -> str | None:
    m = _KUBELET_IMAGE.search(text)
    if m:
        return m["image"]
    for pattern in _RUNTIME_IMAGE:
        m = pattern.search(text)
        if m:
            return m["image"]
    return None


def errors_of(text: str) -> list[str]:
    """The runtime errors in a message, in kubelet order. Several credentials tried give
    ``utilerrors.NewAggregate``'s ``[e1, e2]``; the first usually tells the cause."""
    body = text
    m = _KUBELET_PREFIX.search(text)
    if m:
        body = text[m.end():]
    body = body.strip()
    if body.startswith("["):
        # reporters cut long lists; a missing closing bracket is common
        body = body[1:].removesuffix("]").strip()
    parts = [p.strip() for p in _NEXT_ERROR.split(body) if p.strip()]
    return parts or [text.strip()]


def grpc_code(text: str) -> str | None:
    """The CRI wrapper's code: ``Unknown``/``NotFound``/``DeadlineExceeded``/``Canceled``, or a
    number from kubelets ≤ 1.9 (``code = 2``). Kubelet ≥ 1.28 omits ``Unknown``."""
    m = _GRPC_CODE.search(text)
    return m[1] if m else None


def _redacted(host: str) -> bool:
    # '<acrname>.azurecr.io', '***', '<registry>': a reporter hid the name
    return any(c in host for c in "<>*") or not host.strip(".")


def host_of_image(image: str) -> str | None:
    """The registry host of an image reference (docker's ``splitDockerDomain``)."""
    name = image.removeprefix("docker://").split("://")[-1]
    first, sep, _ = name.partition("/")
    if not sep or not (any(c in first for c in ".:") or first == "localhost"):
        return "docker.io"
    return first.lower()


# hosts error messages link to for help, never the registry pulled from
_HELP_HOSTS = {"aka.ms", "docs.docker.com", "www.docker.com", "learn.microsoft.com"}


def registry_host(text: str, image: str | None) -> str | None:
    """The registry the pull went to: the image's host, else the first host the error names.
    None when the reporter redacted it — a guess would send the diagnosis to the wrong one."""
    candidates = []
    if image:
        candidates.append(host_of_image(image))
    candidates += [m[1] for m in _URL_HOST.finditer(text)]
    candidates += [m[1] for m in _LOOKUP_HOST.finditer(text)]
    for host in candidates:
        if host and host.lower() not in _HELP_HOSTS:
            return None if _redacted(host) else host.lower().rstrip(".")
    return None


def http_status(errors: list[str]) -> int | None:
    """The first HTTP status an error names (first error first); registry error codes stand
    in when no number is printed (``unauthorized:`` 401, ``toomanyrequests`` 429)."""
    for err in errors:
        m = _STATUS.search(err)
        if m:
            return int(next(g for g in m.groups() if g))
    joined = " ".join(errors)
    if re.search(r"\bunauthorized: ", joined, re.I):
        return 401
    if re.search(r"toomanyrequests", joined, re.I):
        return 429
    return None


def credentials_sent(errors: list[str]) -> bool | None:
    """containerd names the token it failed to fetch: ``oauth token`` (credentials sent, ≥ 1.7
    POSTs them) or ``anonymous token`` (none). The first error that says either decides."""
    for err in errors:
        if re.search(r"oauth token|POST request to|incorrect username or password|"
                     r"invalid username/password", err, re.I):
            return True
        if re.search(r"anonymous token", err, re.I):
            return False
    return None


def runtime_of(text: str) -> str | None:
    if "Error response from daemon" in text:
        return "dockerd"
    if re.search(r"initializing source docker://|[Ee]rror reading manifest|reading manifest \S+ in |"
                 r"pinging (?:docker|container) registry|copying system image", text):
        return "cri-o"
    if re.search(r"failed to pull and unpack image|failed to resolve (?:reference|image)|"
                 r"failed to do request|httpReadSeeker|failed with status code \[|"
                 r"failed to fetch (?:anonymous|oauth) token",
                 text):
        return "containerd"
    return None
