"""Kubeconfigs as ``listClusterUserCredential`` / ``listClusterAdminCredential`` return them.

The server is the simulator's Kubernetes API for the cluster (``/k8s/<cluster key>``), the CA
is the simulator's own, and the user is a bearer token private to the cluster — the shape AKS
returns for clusters with local accounts (names ``clusterUser_<rg>_<name>`` and
``clusterAdmin_<rg>_<name>``, the admin context suffixed ``-admin``).
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import yaml

from simulator.core.ids import parse


def kubeconfig(cluster: dict[str, Any], *, base_url: str, ca_cert: Path, admin: bool) -> str:
    group = parse(cluster["id"]).resource_group
    name = cluster["name"]
    user = f"{'clusterAdmin' if admin else 'clusterUser'}_{group}_{name}"
    context = f"{name}-admin" if admin else name
    token = cluster["_kubeconfig"]["admin_token" if admin else "user_token"]
    doc = {
        "apiVersion": "v1", "kind": "Config", "preferences": {},
        "clusters": [{"name": name, "cluster": {
            "certificate-authority-data": base64.b64encode(ca_cert.read_bytes()).decode(),
            "server": f"{base_url.rstrip('/')}/k8s/{cluster['_k8s_key']}",
        }}],
        "contexts": [{"name": context, "context": {"cluster": name, "user": user}}],
        "current-context": context,
        "users": [{"name": user, "user": {"token": token}}],
    }
    return yaml.safe_dump(doc, sort_keys=False)


def credential_results(cluster: dict[str, Any], *, base_url: str, ca_cert: Path,
                       admin: bool) -> dict[str, Any]:
    text = kubeconfig(cluster, base_url=base_url, ca_cert=ca_cert, admin=admin)
    return {"kubeconfigs": [{"name": "clusterAdmin" if admin else "clusterUser",
                             "value": base64.b64encode(text.encode()).decode()}]}
