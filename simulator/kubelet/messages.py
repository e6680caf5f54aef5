"""The words a kubelet writes for a failed pull, by runtime and version.

A pull error is built from structured parts (:class:`PullError`) and rendered here, so one
outcome reads the way containerd 1.7 (the default), containerd 1.6 or dockerd word it, with
or without the gRPC wrapper older kubelets keep. Every template carries the public source it
was copied from.

- kubelet >= 1.28 drops the ``rpc error: code = Unknown desc =`` wrapper and keeps the others
  (``code = NotFound``): Esri/arcgis-gitops#168 and kubewarden/adm-controller#1378 show both
  side by side. Older kubelets wrap every error.
- The kubelet tries each matching credential and reports all distinct errors, bracketed and
  comma-separated (``utilerrors.NewAggregate``); a single distinct error is unbracketed.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from simulator.kubelet.reference import ImageRef

UNKNOWN, NOT_FOUND = "Unknown", "NotFound"


@dataclass(frozen=True)
class Wording:
    runtime: str = "containerd"  # containerd | dockerd
    containerd: tuple[int, int] = (1, 7)
    kubelet: tuple[int, int] = (1, 30)

    @property
    def keeps_unknown_wrapper(self) -> bool:
        return self.kubelet < (1, 28)

    @property
    def legacy_credential_provider(self) -> bool:
        """The in-tree Azure credential provider of older kubelets always added an anonymous
        entry for ``*.azurecr.*`` after the real one (cloud-provider-azure
        ``azure_credentials.go``: "add ACR anonymous repo support")."""
        return self.kubelet < (1, 28)


def version(text: str | None, default: tuple[int, int]) -> tuple[int, int]:
    if not text:
        return default
    parts = str(text).lstrip("v").split(".")
    try:
        return int(parts[0]), int(parts[1]) if len(parts) > 1 else 0
    except ValueError:
        return default


@dataclass(frozen=True)
class PullError:
    """One credential's failure, before wording: ``kind`` is dns | timeout | token |
    not_found | platform."""

    kind: str
    host: str = ""
    ip: str = ""
    dns: str = ""
    anonymous: bool = False
    status: int = 0
    repo_missing: bool = False
    platform: str = ""
    url: str = ""  # the manifest URL containerd asks for first


STATUS_TEXT = {401: "401 Unauthorized", 403: "403 Forbidden"}


def manifest_url(host: str, ref: ImageRef) -> str:
    return f"https://{host}/v2/{ref.repository}/manifests/{ref.reference}"


def _containerd(err: PullError, ref: ImageRef, w: Wording) -> tuple[str, str]:
    image = ref.normalized
    # https://learn.microsoft.com/en-us/troubleshoot/azure/azure-kubernetes/connectivity/cannot-pull-image-from-acr-to-aks-cluster
    # (causes 1-5) and Azure/AKS#4459: 'failed to pull and unpack image "X": failed to resolve
    # reference "X": ...'
    pull = f'failed to pull and unpack image "{image}": '
    resolve = f'failed to resolve reference "{image}": '
    if err.kind == "dns":
        # https://github.com/virtual-kubelet/azure-aci/issues/65: 'dial tcp: lookup *** on
        # 168.63.129.16:53: no such host'; Azure/local-csi-driver#226: 'failed to do request:
        # Head "https://…/v2/…/manifests/0.2.5": dial tcp: lookup …: no such host'
        return UNKNOWN, (f'{pull}{resolve}failed to do request: Head "{err.url}": dial tcp: '
                         f"lookup {err.host} on {err.dns}:53: no such host")
    if err.kind == "timeout":
        # troubleshooting article, cause 4: 'failed to do request: Head
        # "https://<acrname>.azurecr.io/v2/<repository>/manifests/v1": dial tcp
        # <acrprivateipaddress>:443: i/o timeout'; Azure/acr#594 ('dial tcp 10.201.3.5:443:
        # i/o timeout')
        return UNKNOWN, (f'{pull}{resolve}failed to do request: Head "{err.url}": dial tcp '
                         f"{err.ip}:443: i/o timeout")
    if err.kind == "token":
        which = "anonymous" if err.anonymous else "oauth"
        if w.containerd >= (1, 7):
            # containerd 1.7: Azure/AKS#4459 ('failed to fetch anonymous token: unexpected
            # status from GET request to https://<r>.azurecr.io/oauth2/token?scope=repository
            # %3Amain%2F<repo>%3Apull&service=<r>.azurecr.io: 401 Unauthorized') and
            # Esri/arcgis-gitops#168 (same with 'failed to fetch oauth token'): ACR refuses
            # the OAuth POST, containerd falls back to GET with basic auth
            scope = quote(f"repository:{ref.repository}:pull", safe="")
            status = (f"unexpected status from GET request to https://{err.host}/oauth2/token"
                      f"?scope={scope}&service={err.host}: {STATUS_TEXT[err.status]}")
        else:
            # containerd 1.5/1.6: troubleshooting article causes 1 and 3 ('failed to fetch
            # anonymous token: unexpected status: 403 Forbidden')
            status = f"unexpected status: {STATUS_TEXT[err.status]}"
        return UNKNOWN, f"{pull}{resolve}failed to authorize: failed to fetch {which} token: {status}"
    if err.kind == "not_found":
        # troubleshooting article, cause 2: 'rpc error: code = NotFound desc = failed to pull
        # and unpack image "<acr>/<repository:tag>": failed to resolve reference
        # "<acr>/<repository:tag>": <acr>/<repository:tag>: not found'
        return NOT_FOUND, f"{pull}{resolve}{image}: not found"
    # platform. kubewarden/adm-controller#1378: 'rpc error: code = NotFound desc = failed to
    # pull and unpack image "ghcr.io/…:latest": no match for platform in manifest: not found'
    return NOT_FOUND, f"{pull}no match for platform in manifest: not found"


def _dockerd(err: PullError, ref: ImageRef) -> str:
    daemon = "Error response from daemon: "
    if err.kind == "dns":
        # docker/login-action#718: 'Error response from daemon: Get "https://***/v2/": dial
        # tcp: lookup *** on 127.0.0.53:53: no such host'
        return (f'{daemon}Get "https://{err.host}/v2/": dial tcp: lookup {err.host} on '
                f"{err.dns}:53: no such host")
    if err.kind == "timeout":
        return f'{daemon}Get "https://{err.host}/v2/": dial tcp {err.ip}:443: i/o timeout'
    if err.kind == "token" and err.status == 403:
        # ACR's firewall answer (https://aka.ms/acr/firewall), as docker prints it
        return (f'{daemon}Get "https://{err.host}/v2/": denied: client with IP \'{err.ip}\' '
                "is not allowed access. Refer https://aka.ms/acr/firewall to grant access.")
    if err.kind == "token":
        # kubeflow/examples#654 and dotnet/docs#13401: 'Error response from daemon: Get
        # https://acrname.azurecr.io/v2/preprocess/manifests/latest: unauthorized:
        # authentication required'; ACR appends its aka.ms hint (DESIGN.md)
        return (f'{daemon}Get "{err.url}": unauthorized: authentication required, visit '
                "https://aka.ms/acr/authorization for more information.")
    if err.kind == "not_found" and err.repo_missing:
        # docker's wording for an unknown repository
        return (f"{daemon}pull access denied for {ref.host}/{ref.repository}, repository does "
                "not exist or may require 'docker login': denied: requested access to the "
                "resource is denied")
    if err.kind == "not_found":
        # Azure/azure-cli#19845 and Azure/Bridge-To-Kubernetes#341: 'Error response from
        # daemon: manifest for bridgetokubernetes.azurecr.io/lpkremoteagent:1.3.4 not found:
        # manifest unknown: manifest tagged by "1.3.4" is not found'
        return (f"{daemon}manifest for {ref.host}/{ref.repository}:{ref.reference} not found: "
                f'manifest unknown: manifest tagged by "{ref.reference}" is not found')
    # moby/moby#46765: 'no matching manifest for linux/arm64/v8 in the manifest list entries'
    return f"{daemon}no matching manifest for {err.platform} in the manifest list entries"


def render_one(err: PullError, ref: ImageRef, w: Wording) -> str:
    if w.runtime == "dockerd":
        code, text = UNKNOWN, _dockerd(err, ref)
    else:
        code, text = _containerd(err, ref, w)
    if code != UNKNOWN or w.keeps_unknown_wrapper:
        # troubleshooting article: 'rpc error: code = Unknown desc = failed to pull …'
        text = f"rpc error: code = {code} desc = {text}"
    return text


def aggregate(messages: list[str]) -> str:
    """``utilerrors.NewAggregate(pullErrs).Error()``: distinct messages in order, bracketed
    when there are several (troubleshooting article causes 1 and 2; kubeflow/examples#654)."""
    seen: list[str] = []
    for m in messages:
        if m not in seen:
            seen.append(m)
    return seen[0] if len(seen) == 1 else "[" + ", ".join(seen) + "]"


def render(errors: list[PullError], ref: ImageRef, w: Wording) -> str:
    return aggregate([render_one(e, ref, w) for e in errors])


# -- kubelet's own texts (pkg/kubelet/images/image_manager.go, pkg/kubelet/events) -----------
# Azure/AKS#3138: 'Failed to pull image "a.b.c/image-0.1": pull QPS exceeded', then
# 'Error: ErrImagePull', 'Back-off pulling image "a.b.c/image-0.1"', 'Error: ImagePullBackOff'
PULL_QPS = "pull QPS exceeded"


def failed_to_pull(image: str, message: str) -> str:
    return f'Failed to pull image "{image}": {message}'


def pulling(image: str) -> str:
    return f'Pulling image "{image}"'


def back_off(image: str) -> str:
    return f'Back-off pulling image "{image}"'


def error(reason: str) -> str:
    return f"Error: {reason}"


def invalid_name(image: str, detail: str) -> str:
    # image_manager.go: 'Failed to apply default image tag %q: %v' around
    # 'couldn't parse image name %q: %v'
    return f'Failed to apply default image tag "{image}": couldn\'t parse image name "{image}": {detail}'


def pulled(image: str, seconds: float, size: int | None, w: Wording) -> str:
    # kubelet 1.28: 'Successfully pulled image "nginx" in 3.123s (3.123s including waiting)';
    # 1.30 appends '. Image size: N bytes.'
    text = f'Successfully pulled image "{image}" in {seconds:.3f}s ({seconds:.3f}s including waiting)'
    if w.kubelet >= (1, 30) and size:
        text += f". Image size: {size} bytes."
    return text


def already_present(image: str) -> str:
    return f'Container image "{image}" already present on machine'
