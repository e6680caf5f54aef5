"""Reads the identity checks share (memoized on the run's Reads): Graph look-ups, the cluster's
pulling principal, the pod's pull secrets, a registry by id."""

from __future__ import annotations

import asyncio
import base64
import json
import re
from dataclasses import dataclass, field
from typing import Any

from kiota_abstractions.api_error import APIError
from kubernetes.client.exceptions import ApiException

from tasks import kube
from tasks.checks._rbac import guarded
from tasks.contract import Target
from tasks.reads import Reads

GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
TOKEN_USER = "00000000-0000-0000-0000-000000000000"  # an ACR token, not a service principal


def _graph(reads: Reads, key: tuple[Any, ...], what: str, call: Any) -> Any:
    """One Graph call (memoized); 404 → None; any other failure says what was read."""
    def load() -> Any:
        try:
            return asyncio.run(call())
        except APIError as exc:
            status = getattr(exc, "response_status_code", None)
            if status == 404:
                return None
            msg = getattr(getattr(exc, "error", None), "message", None) or str(exc)
            hint = " — pullfix needs Application.Read.All (Graph)" if status == 403 else ""
            raise RuntimeError(f"cannot read {what} from Graph: {status} {msg}{hint}") from exc
    return reads.memo(("graph",) + key, load)


def sp_by_app_id(reads: Reads, app_id: str) -> Any | None:
    g = reads.clients.graph()
    return _graph(reads, ("sp-app", app_id.lower()), f"servicePrincipals(appId='{app_id}')",
                  lambda: g.service_principals_with_app_id(app_id).get())


def app_by_app_id(reads: Reads, app_id: str) -> Any | None:
    g = reads.clients.graph()
    return _graph(reads, ("app", app_id.lower()), f"applications(appId='{app_id}')",
                  lambda: g.applications_with_app_id(app_id).get())


def sp_by_id(reads: Reads, object_id: str) -> Any | None:
    g = reads.clients.graph()
    return _graph(reads, ("sp", object_id.lower()), f"servicePrincipals/{object_id}",
                  lambda: g.service_principals.by_service_principal_id(object_id).get())


def groups_of(reads: Reads, object_id: str) -> set[str]:
    """Object ids of the groups a service principal is in (transitively)."""
    g = reads.clients.graph()
    page = _graph(reads, ("member-of", object_id.lower()),
                  f"servicePrincipals/{object_id}/transitiveMemberOf",
                  lambda: g.service_principals.by_service_principal_id(object_id)
                  .transitive_member_of.get())
    return {str(o.id).lower() for o in (page.value if page else []) or []}


def cluster(reads: Reads, target: Target) -> Any:
    ref = target.cluster
    return guarded(f"cluster {ref.id}", "Microsoft.ContainerService/managedClusters/read",
                   "Reader")(lambda: reads.cluster(ref))


def registry(reads: Reads, registry_id: str) -> Any:
    regs = guarded("the registries of the visible subscriptions",
                   "Microsoft.ContainerRegistry/registries/read", "Reader")(reads.registries)
    for reg in regs:
        if reg.id.lower() == registry_id.lower():
            return reg
    raise LookupError(f"registry {registry_id} is no longer visible")


@dataclass(frozen=True)
class Principal:
    kind: str  # "managed-identity" | "service-principal"
    object_id: str | None  # None: the SP's appId has no service principal in the tenant
    client_id: str
    resource_id: str | None = None  # the kubelet identity's ARM id (MI clusters)

    @property
    def label(self) -> str:
        return f"{self.kind} {self.object_id or '?'} (appId/clientId {self.client_id})"


def pulling_principal(reads: Reads, target: Target) -> Principal:
    """Who the node's credential provider signs in as: the kubelet identity, or the SP."""
    mc = cluster(reads, target)
    kubelet = (mc.identity_profile or {}).get("kubeletidentity")
    if kubelet is not None:
        return Principal("managed-identity", kubelet.object_id, kubelet.client_id,
                         kubelet.resource_id)
    client_id = mc.service_principal_profile.client_id
    sp = sp_by_app_id(reads, client_id)
    return Principal("service-principal", sp.id if sp else None, client_id)


@dataclass(frozen=True)
class PullCred:
    secret: str  # namespace/name
    server: str
    username: str
    password: str = field(repr=False)  # never logged, never in evidence


def _server_host(server: str) -> str:
    return server.lower().removeprefix("https://").removeprefix("http://").split("/")[0]


def pull_creds(reads: Reads, target: Target) -> list[PullCred]:
    """The pod's image pull secret entries for the registry host (the service account's secrets
    stand in when the pod names none, as admission would have copied them)."""
    pod, host = target.pod, (target.registry_host or "").lower()
    if pod is None or not host:
        return []
    api = guarded(
        f"the user kubeconfig of {target.cluster.id}",
        "Microsoft.ContainerService/managedClusters/listClusterUserCredential/action",
        "Azure Kubernetes Service Cluster User Role")(lambda: reads.kube(target.cluster))
    ns = pod.namespace
    names = list(pod.image_pull_secrets)
    if not names and pod.service_account:
        account = pod.service_account
        sa = _k8s(reads, target, ("sa", ns, account), lambda: kube.get(
            api, kube.path("api", "v1", "namespaces", ns, "serviceaccounts", account)))
        names = [str(r.get("name") or "") for r in (sa or {}).get("imagePullSecrets") or []]
    out = []
    for name in names:
        secret = _k8s(reads, target, ("secret", ns, name), lambda name=name: kube.get(
            api, kube.path("api", "v1", "namespaces", ns, "secrets", name)))
        data = (secret or {}).get("data") or {}
        try:
            if ".dockerconfigjson" in data:
                auths = json.loads(base64.b64decode(data[".dockerconfigjson"])).get("auths", {})
            elif ".dockercfg" in data:
                auths = json.loads(base64.b64decode(data[".dockercfg"]))
            else:
                continue
        except ValueError:
            continue  # not a docker config: the kubelet ignores it too
        for server, entry in auths.items():
            if _server_host(server) != host:
                continue
            user, password = entry.get("username"), entry.get("password")
            if (not user or password is None) and entry.get("auth"):
                user, _, password = base64.b64decode(entry["auth"]).decode().partition(":")
            out.append(PullCred(f"{pod.namespace}/{name}", server, user or "", password or ""))
    return out


def _k8s(reads: Reads, target: Target, key: tuple[str, ...], call: Any) -> Any:
    def load() -> Any:
        try:
            return call()
        except ApiException as exc:
            if exc.status == 404:
                return None
            if exc.status == 403:
                raise PermissionError(f"cannot read {key[0]} {key[1]}/{key[2]} on "
                                      f"{target.cluster.name}: 403 — pullfix's cluster user needs "
                                      f"get on {key[0]}s in {key[1]}") from exc
            raise
    return reads.memo(("k8s", target.cluster.id.lower()) + key, load)


def image_repository(image: str) -> str:
    """``repo/path`` of ``host/repo/path:tag@digest``."""
    rest = image.split("/", 1)[1] if "/" in image else image
    rest = rest.split("@", 1)[0]
    last = rest.rsplit("/", 1)
    if ":" in last[-1]:
        rest = rest[: rest.rindex(":")]
    return rest


def other_app_holders(reads: Reads, registry_id: str, action: str, data: bool,
                      current: str | None) -> list[Any]:
    """Grants of the pull permission at the registry to application service principals other
    than ``current`` (managed identities and users are never a cluster's previous SP)."""
    from tasks.checks._rbac import grants

    out = []
    for g in grants(reads, registry_id, action, data):
        if g.broad or g.principal_type.lower() != "serviceprincipal" or (
                current and g.principal_id.lower() == current.lower()):
            continue
        sp = sp_by_id(reads, g.principal_id)
        if sp is not None and (sp.service_principal_type or "") == "Application":
            out.append((g, sp))
    return out
