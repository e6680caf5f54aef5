"""The real `az aks command invoke` against the twin's private cluster: the runCommand request,
the Location polling on commandResults, and kubectl's output as the CLI prints it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.azcli import Az
from tests.simharness import Sim

pytestmark = [pytest.mark.azcli, pytest.mark.scenario("private-cluster-missing-pull-role")]


def test_az_aks_command_invoke_runs_kubectl_in_a_private_cluster(sim: Sim,
                                                                 tmp_path: Path) -> None:
    az = Az(sim, tmp_path / "az")
    # when an operator lists pods of the private cluster through the CLI
    out = az.run("aks", "command", "invoke", "-g", "rg-app", "-n", "aks-app", "--command",
                 "kubectl get pods -n web -o json", "-o", "json")
    result = json.loads(out.stdout)
    # then the command ran inside the cluster and its logs are kubectl's JSON
    assert result["provisioningState"] == "Succeeded" and result["exitCode"] == 0
    pods = json.loads(result["logs"])
    assert len(pods["items"]) == 2
    assert all(p["metadata"]["namespace"] == "web" for p in pods["items"])
    # and a failing kubectl command reports its exit code and kubectl's words
    bad = json.loads(az.run("aks", "command", "invoke", "-g", "rg-app", "-n", "aks-app",
                            "--command", "kubectl get secret nope -n web", "-o",
                            "json").stdout)
    assert bad["exitCode"] == 1
    assert bad["logs"] == 'Error from server (NotFound): secrets "nope" not found\n'
