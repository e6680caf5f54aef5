"""How pullfix reaches one cluster's Kubernetes API — chosen from the cluster's ARM document.

Production fleets rarely look like the quickstart. Per cluster:

* ``local-account`` — the static token of the ``listClusterUserCredential`` kubeconfig;
* ``entra`` — AKS-managed Entra ID (``aadProfile``): that kubeconfig names kubelogin, which is
  not needed: pullfix's own credential (service principal, workload or managed identity) gets
  a token for the AKS server application and sends it as the bearer token. Azure RBAC for
  Kubernetes or Kubernetes RBAC then decide what it may read and patch;
* ``run-command`` — a private API server (``apiServerAccessProfile.enablePrivateCluster``) is
  not reachable from outside its VNet, so each request is run as kubectl inside the cluster
  through ``managedClusters/runCommand`` (what ``az aks command invoke`` uses);
* ``stopped`` — ``powerState: Stopped``: there is no API server; the cluster is reported
  "stopped, not diagnosed" and nothing may be read or changed on it.

Whatever the path, callers get a kubernetes ``ApiClient`` and use the typed APIs: for
``run-command`` the client's transport turns each REST request into one kubectl command
(``get --raw``, ``patch``, ``{create,replace,delete} --raw``), so checks, fixes and detection do
not care how the cluster is reached.
"""

from __future__ import annotations

import base64
import io
import json
import re
import shlex
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from kubernetes import client as k8s
from kubernetes.client import rest

AKS_SERVER_APP = "6dae42f8-4368-4678-94ff-3960e28e3630"  # the same in every cloud
AKS_SERVER_SCOPE = f"{AKS_SERVER_APP}/.default"


class AccessPath(StrEnum):
    LOCAL_ACCOUNT = "local-account"
    ENTRA = "entra"
    RUN_COMMAND = "run-command"
    STOPPED = "stopped"


class ClusterStopped(RuntimeError):
    """The cluster is stopped: no API server to read, and nothing may be changed on it."""

    def __init__(self, cluster: str) -> None:
        super().__init__(f"cluster {cluster} is stopped (powerState Stopped), not diagnosed: "
                         "start it (az aks start) to diagnose or fix it")
        self.cluster = cluster


def _props(doc: Mapping[str, Any]) -> Mapping[str, Any]:
    return doc.get("properties") or {}


def access_path(doc: Mapping[str, Any]) -> AccessPath:
    """The way to reach a cluster, from its ARM document: the JSON ARM returned, or a
    ManagedCluster model (a mapping in the same REST layout)."""
    props = _props(doc)
    if str((props.get("powerState") or {}).get("code") or "").lower() == "stopped":
        return AccessPath.STOPPED
    if (props.get("apiServerAccessProfile") or {}).get("enablePrivateCluster"):
        return AccessPath.RUN_COMMAND
    if is_entra(doc):
        return AccessPath.ENTRA
    return AccessPath.LOCAL_ACCOUNT


def is_entra(doc: Mapping[str, Any]) -> bool:
    """AKS-managed Entra ID integration (``aadProfile.managed``)."""
    return bool((_props(doc).get("aadProfile") or {}).get("managed"))


# -- the run-command transport ---------------------------------------------------------------
PATCH_TYPES = {"application/strategic-merge-patch+json": "strategic",
               "application/merge-patch+json": "merge", "application/json-patch+json": "json"}
_ERROR = re.compile(r"Error from server \((?P<reason>[^)]*)\): (?P<message>.*)", re.DOTALL)
_STATUS = {"BadRequest": 400, "Unauthorized": 401, "Forbidden": 403, "NotFound": 404,
           "MethodNotAllowed": 405, "Conflict": 409, "AlreadyExists": 409, "Gone": 410,
           "Invalid": 422, "TooManyRequests": 429, "InternalError": 500,
           "ServiceUnavailable": 503, "Timeout": 504}


@dataclass
class _Response:
    """What ``rest.RESTResponse`` reads from a urllib3 response."""

    status: int
    reason: str
    data: bytes
    headers: dict[str, str]


def _resource(path: str) -> tuple[str, str | None, str]:
    """(kubectl resource name, namespace, object name) of an object's REST path."""
    parts = [p for p in path.split("/") if p]
    group = ""
    if parts[:1] == ["api"]:
        rest_ = parts[2:]
    else:
        group, rest_ = parts[1], parts[3:]
    ns = None
    if len(rest_) >= 4 and rest_[0] == "namespaces":
        ns, rest_ = rest_[1], rest_[2:]
    if len(rest_) != 2:
        raise ValueError(f"cannot patch {path} through kubectl (a subresource?)")
    plural, name = rest_
    return (f"{plural}.{group}" if group else plural), ns, name


@dataclass(frozen=True)
class KubeAccess:
    """One cluster's Kubernetes API as pullfix reaches it."""

    path: AccessPath
    api: Any  # a kubernetes ApiClient; None for a stopped cluster
    cluster: str

    def client(self) -> Any:
        """The ApiClient; a stopped cluster refuses every read and write."""
        if self.path is AccessPath.STOPPED or self.api is None:
            raise ClusterStopped(self.cluster)
        return self.api


class RunCommandApiClient(k8s.ApiClient):
    """A kubernetes ApiClient whose requests run as kubectl inside the cluster through
    ``managedClusters/runCommand`` (the real SDK's ``begin_run_command`` LRO)."""

    def __init__(self, managed_clusters: Any, resource_group: str, cluster: str,
                 cluster_token: Callable[[], str] | None) -> None:
        config = k8s.Configuration(host=f"https://{cluster}.runcommand.invalid")
        super().__init__(config)
        self._mc, self._rg, self._cluster = managed_clusters, resource_group, cluster
        self._cluster_token = cluster_token

    def call_api(self, method: str, url: str, header_params: dict[str, str] | None = None,
                 body: Any = None, post_params: Any = None,
                 _request_timeout: Any = None) -> rest.RESTResponse:
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        headers = {k.lower(): v for k, v in (header_params or {}).items()}
        files: dict[str, bytes] = {}
        if body is not None and method != "PATCH":
            files["body.json"] = json.dumps(body).encode()
        with_file = " -f body.json" if files else ""
        if method == "GET":
            command = f"kubectl get --raw {shlex.quote(path)}"
        elif method == "PATCH":
            kind, ns, name = _resource(parts.path)
            patch_type = PATCH_TYPES.get(headers.get("content-type", ""), "strategic")
            command = (f"kubectl patch {kind} {shlex.quote(name)}"
                       + (f" -n {shlex.quote(ns)}" if ns else "")
                       + f" --type {patch_type} -p {shlex.quote(json.dumps(body))} -o json")
        else:
            verb = {"POST": "create", "PUT": "replace", "DELETE": "delete"}[method]
            command = f"kubectl {verb} --raw {shlex.quote(path)}{with_file}"
        return rest.RESTResponse(self._run(command, files, method))

    def _run(self, command: str, files: dict[str, bytes], method: str) -> _Response:
        from azure.mgmt.containerservice.models import RunCommandRequest

        context = ""
        if files:
            buf = io.BytesIO()
            with zipfile.ZipFile(buf, "w") as zf:
                for name, data in files.items():
                    zf.writestr(name, data)
            context = base64.b64encode(buf.getvalue()).decode()
        token = self._cluster_token() if self._cluster_token else None
        result = self._mc.begin_run_command(
            self._rg, self._cluster,
            RunCommandRequest(command=command, context=context, cluster_token=token),
        ).result()
        logs = result.logs or ""
        if result.exit_code == 0:  # kubectl printed the server's answer (--raw, -o json)
            return _Response(200, "OK", logs.encode(), {"content-type": "application/json"})
        return self._failure(logs, result.reason)

    @staticmethod
    def _failure(logs: str, reason: str | None) -> _Response:
        """kubectl's error line as the API server's Status, so callers see the same
        ApiException (status, reason, message) as on a direct connection."""
        m = _ERROR.search(logs)
        if m:
            why, message = m.group("reason"), m.group("message").strip()
            status = _STATUS.get(why, int(why) if why.isdigit() else 500)
        elif "Unauthorized" in logs:
            why, message, status = "Unauthorized", "Unauthorized", 401
        else:
            why, message, status = "InternalError", (reason or logs.strip() or
                                                     "kubectl failed with no output"), 500
        body: dict[str, Any] = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": message, "reason": why, "code": status}
        return _Response(status, why, json.dumps(body).encode(),
                         {"content-type": "application/json"})
