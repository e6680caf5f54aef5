"""The operator's path from the guide: `az aks get-credentials`, then the real kubectl sees the
failing pods with the kubelet's wording, on a served scenario from the library."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.azcli import Az
from tests.simharness import ROOT, Sim

KUBECTL = str(ROOT / ".venv" / "bin" / "kubectl")
pytestmark = [pytest.mark.azcli, pytest.mark.scenario("missing-pull-role")]


def test_kubectl_on_az_get_credentials_shows_the_pull_failure(sim: Sim, tmp_path: Path) -> None:
    az = Az(sim, tmp_path / "az")
    cfg = tmp_path / "kubeconfig"
    az.run("aks", "get-credentials", "-g", "rg-app", "-n", "aks-app", "--file", str(cfg))

    def kubectl(*args: str) -> str:
        done = subprocess.run([KUBECTL, "--kubeconfig", str(cfg), *args],  # noqa: S603
                              capture_output=True, text=True, timeout=60,
                              env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"})
        assert done.returncode == 0, done.stderr
        return done.stdout

    # given the first failed pull (ErrImagePull), then the kubelet's back-off; on a slow
    # machine the first listing may already show the back-off
    first = kubectl("get", "pods", "-A")
    assert "ErrImagePull" in first or "ImagePullBackOff" in first, first
    # the kubelet alternates ErrImagePull (after each attempt) and ImagePullBackOff (while it
    # waits out the back-off); move world time forward in small steps, with a bound
    for _ in range(20):
        listing = kubectl("get", "pods", "-A")
        if listing.count("ImagePullBackOff") == 2:
            break
        sim.advance(2)
    assert listing.count("ImagePullBackOff") == 2, listing
    pod = listing.splitlines()[1].split()[1]
    described = kubectl("describe", "pod", "-n", "web", pod)
    assert 'Failed to pull image "contosoapp.azurecr.io/app/web:v1"' in described
    assert "failed to fetch anonymous token" in described
    assert "401 Unauthorized" in described
    assert 'Back-off pulling image "contosoapp.azurecr.io/app/web:v1"' in described
    nodes = kubectl("get", "nodes", "--show-labels")
    assert "kubernetes.io/os=linux" in nodes and "kubernetes.io/arch=amd64" in nodes
