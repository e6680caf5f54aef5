"""Kubeconfigs as ``listClusterUserCredential`` / ``listClusterAdminCredential`` return them.

The server is the simulator's Kubernetes API for the cluster (``/k8s/<cluster key>``; a private
cluster's private FQDN), the CA is the simulator's own, and the user is a bearer token private
to the cluster — the shape AKS returns for clusters with local accounts (names
``clusterUser_<rg>_<name>`` and ``clusterAdmin_<rg>_<name>``, the admin context suffixed
``-admin``). An Entra ID cluster's user kubeconfig holds a kubelogin ``exec`` user instead.
"""

from __future__ import annotations

import base64
import functools
import json
from pathlib import Path
from typing import Any

import yaml

from simulator.core.ids import parse

AKS_SERVER_APP = "6dae42f8-4368-4678-94ff-3960e28e3630"
AZURE_CLI_CLIENT = "80faf920-1908-4b52-b5ef-a8e7bedfc67a"  # the AKS client app kubelogin uses


def server_url(cluster: dict[str, Any], base_url: str) -> str:
    """Where the kubeconfig points: the simulator's API for the cluster, or — for a private
    cluster — its private FQDN, which resolves only inside the cluster's VNet."""
    props = cluster["properties"]
    if (props.get("apiServerAccessProfile") or {}).get("enablePrivateCluster"):
        return f"https://{props['privateFQDN']}:443"
    return f"{base_url.rstrip('/')}/k8s/{cluster['_k8s_key']}"


def _exec_user(cluster: dict[str, Any]) -> dict[str, Any]:
    """What AKS returns as the user of an Entra ID cluster's clusterUser kubeconfig (format
    ``exec``): kubelogin, which gets an Entra token for the AKS server application."""
    tenant = cluster["properties"]["aadProfile"].get("tenantID") or ""
    return {"exec": {
        "apiVersion": "client.authentication.k8s.io/v1beta1", "command": "kubelogin",
        "args": ["get-token", "--environment", "AzurePublicCloud", "--server-id",
                 AKS_SERVER_APP, "--client-id", AZURE_CLI_CLIENT, "--tenant-id", tenant,
                 "--login", "devicecode"],
        "env": None, "provideClusterInfo": False, "interactiveMode": "IfAvailable",
        "installHint": "\nkubelogin is not installed which is required to connect to AAD enabled "
                       "cluster.\n\nTo learn more, please go to https://aka.ms/aks/kubelogin\n",
    }}


def kubeconfig(cluster: dict[str, Any], *, base_url: str, ca_cert: Path, admin: bool) -> str:
    group = parse(cluster["id"]).resource_group
    name = cluster["name"]
    user = f"{'clusterAdmin' if admin else 'clusterUser'}_{group}_{name}"
    context = f"{name}-admin" if admin else name
    aad = bool(cluster["properties"].get("aadProfile"))
    credential: dict[str, Any] = _exec_user(cluster) if aad and not admin else {
        "token": cluster["_kubeconfig"]["admin_token" if admin else "user_token"]}
    doc = {
        "apiVersion": "v1", "kind": "Config", "preferences": {},
        "clusters": [{"name": name, "cluster": {
            "certificate-authority-data": base64.b64encode(ca_cert.read_bytes()).decode(),
            "server": server_url(cluster, base_url),
        }}],
        "contexts": [{"name": context, "context": {"cluster": name, "user": user}}],
        "current-context": context,
        "users": [{"name": user, "user": credential}],
    }
    return _yaml(json.dumps(doc))


@functools.lru_cache(maxsize=4096)
def _yaml(doc_json: str) -> str:
    """The YAML of a kubeconfig (given as JSON, so it can key a cache): emitting YAML costs
    milliseconds, and a fleet sweep asks for every cluster's kubeconfig again and again."""
    return yaml.safe_dump(json.loads(doc_json), sort_keys=False)


def credential_results(cluster: dict[str, Any], *, base_url: str, ca_cert: Path,
                       admin: bool) -> dict[str, Any]:
    text = kubeconfig(cluster, base_url=base_url, ca_cert=ca_cert, admin=admin)
    return {"kubeconfigs": [{"name": "clusterAdmin" if admin else "clusterUser",
                             "value": base64.b64encode(text.encode()).decode()}]}
