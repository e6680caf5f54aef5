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
# a client's own wrapper around the daemon's answer: its status is the daemon's (500), never the
# registry's, so it is cut before reading (docker CLI/API clients, dockerode, docker-java, App Service)
_CLIENT_WRAPPER = re.compile(
    r"\(HTTP code 500\) server error\s*-?\s*|HTTP code is 500 which indicates error: server error\s*-?\s*|"
    r"API error \(500\):\s*|Docker API responded with status code=InternalServerError, response=|"
    r"InternalServerErrorException:\s*|StatusCode: InternalServerError\.")
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
_CODE_STATUS = tuple((re.compile(rx, re.I), status) for rx, status in (
    (r"\bunauthorized: ", 401), (r"toomanyrequests", 429), (r"\bdenied: (?!requested access)", 403),
    (r"\b(?:manifest|name|blob)[ _]unknown\b", 404)))
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
    body = _CLIENT_WRAPPER.sub("", text)
    m = _KUBELET_PREFIX.search(body)
    if m:
        body = body[m.end():]
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
    # the OCI distribution error codes each come with their status
    for code, status in _CODE_STATUS:
        if code.search(joined):
            return status
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


# registries whose names always resolve: "no such host" for them is the resolver failing, not a typo
_PUBLIC_HOSTS = re.compile(
    r"(?:^|\.)(?:docker\.io|docker\.com|gcr\.io|quay\.io|ghcr\.io|registry\.k8s\.io|mcr\.microsoft\.com|"
    r"amazonaws\.com|pkg\.dev|gitlab\.com|cloudflarestorage\.com|cloudfront\.net|azurecr\.io|"
    r"redhat\.io|redhat\.com)$", re.I)


def lookup_host(text: str) -> str | None:
    """The host a DNS lookup in the text was for (``lookup HOST on …`` / ``lookup HOST:``)."""
    m = _LOOKUP_HOST.search(text)
    return m[1].rstrip(".").lower() if m else None


def public_registry(host: str | None) -> bool:
    """A registry (or its blob CDN) whose name resolves for everyone: NXDOMAIN is a DNS fault."""
    return bool(host and _PUBLIC_HOSTS.search(host) and ".privatelink." not in host)


# the failing step, from the most specific wording to the least: each runtime names it differently
_STEPS: tuple[tuple[str, re.Pattern[str]], ...] = tuple((name, re.compile(rx, re.I)) for name, rx in (
    ("unpack", r"register layer|extract layer|ApplyLayer|no space left on device"),
    ("platform", r"platform|manifest list entries|choosing image instance|for architecture"),
    # the network fails whatever was being fetched: name it before the request's own step
    ("resolve", r"lookup \S+|no such host|name resolution|server misbehaving|resolving host"),
    ("tls", r"x509|tls: |TLS handshake|HTTP response to HTTPS client"),
    ("dial", r"dial tcp|connect: |proxyconnect|connectex|getsockopt|read tcp|i/o timeout|no route to host|"
             r"connection (?:refused|reset)|Client\.Timeout|deadline exceeded|\bEOF\b"),
    ("authorize", r"failed to authorize|(?:anonymous|oauth|auth|bearer|bear) token|/token\?|oauth2/token|"
                  r"jwt/auth|basic auth credentials|docker login"),
    ("blob", r"/blobs/|image configuration|failed to copy|httpRead(?:er)?Seeker|fetching blob|writing blob|"
             r"content descriptor|download failed|Copying blob"),
    ("manifest", r"/manifests/|reading manifest|manifest for|resolve reference|manifest unknown|"
                 r"failed to resolve image|repository \S+ not found"),
))


def step_of(text: str) -> str | None:
    """Where the pull failed: resolve (DNS), dial, tls, authorize (token), manifest, platform,
    blob, unpack — what an operator checks first."""
    return next((name for name, rx in _STEPS if rx.search(text)), None)
