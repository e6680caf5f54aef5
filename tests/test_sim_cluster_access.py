"""The twin's AKS access models, through the real SDK and raw HTTPS: Entra ID clusters (exec
kubeconfig, Entra tokens for the AKS server application only, no static credential with local
accounts disabled), private API servers (unreachable from outside, answered through
managedClusters/runCommand with its LRO shape) and stopped clusters."""

from __future__ import annotations

import base64
from typing import Any

import pytest
import requests
import yaml
from azure.core.exceptions import HttpResponseError
from azure.mgmt.containerservice import ContainerServiceClient
from azure.mgmt.containerservice.models import RunCommandRequest

from tests.simharness import Sim

AKS_SERVER = "6dae42f8-4368-4678-94ff-3960e28e3630"


def _aks(sim: Sim) -> Any:
    return sim.clients().arm(ContainerServiceClient, sim.subscription).managed_clusters


def _kubeconfig(sim: Sim) -> dict[str, Any]:
    value = _aks(sim).list_cluster_user_credentials("rg-app", "aks-app").kubeconfigs[0].value
    return yaml.safe_load(value)


def test_an_entra_id_cluster_returns_a_kubelogin_kubeconfig_and_no_static_credential(
        sim_pool: Any) -> None:
    sim = sim_pool.get("aad-cluster-missing-pull-role")
    mc = _aks(sim).get("rg-app", "aks-app")
    assert mc.aad_profile.managed and mc.aad_profile.enable_azure_rbac
    assert mc.aad_profile.tenant_id == sim.tenant and mc.disable_local_accounts is True
    # the user kubeconfig names kubelogin for the AKS server application, and holds no token
    user = _kubeconfig(sim)["users"][0]["user"]
    assert "token" not in user and user["exec"]["command"] == "kubelogin"
    assert user["exec"]["args"][user["exec"]["args"].index("--server-id") + 1] == AKS_SERVER
    # the admin (static) credential is refused, in AKS's words
    with pytest.raises(HttpResponseError) as err:
        _aks(sim).list_cluster_admin_credentials("rg-app", "aks-app")
    assert (err.value.status_code, err.value.error.code) == (400, "BadRequest")
    assert err.value.error.message == ("Getting static credential is not allowed because this "
                                       "cluster is set to disable local accounts.")


def test_the_kubernetes_api_takes_only_entra_tokens_for_the_aks_server_audience(
        sim_pool: Any) -> None:
    sim = sim_pool.get("aad-cluster-missing-pull-role")
    server = _kubeconfig(sim)["clusters"][0]["cluster"]["server"]

    def get(token: str) -> requests.Response:
        return requests.get(f"{server}/api/v1/namespaces/web/pods", verify=sim.ca, timeout=30,
                            headers={"Authorization": f"Bearer {token}"})

    # an ARM token is the wrong audience: 401, as the API server answers
    assert get(sim.token()).status_code == 401
    # both the bare app id and the .default scope form give a token the cluster accepts
    for scope in (f"{AKS_SERVER}/.default",):
        ok = get(sim.token(scope))
        assert ok.status_code == 200, ok.text
        assert {p["metadata"]["namespace"] for p in ok.json()["items"]} == {"web"}


def test_the_static_token_is_refused_when_local_accounts_are_disabled(sim_pool: Any) -> None:
    # given the cluster's own clusterUser token (what a kubeconfig held before local accounts
    # were disabled), read from the twin's state
    sim = sim_pool.get("aad-cluster-missing-pull-role")
    snap = sim.snapshot()
    import re

    m = re.search(r"'user_token': '([0-9a-f]+)'", str(snap))
    assert m
    server = _kubeconfig(sim)["clusters"][0]["cluster"]["server"]
    refused = requests.get(f"{server}/api/v1/namespaces/web/pods", verify=sim.ca, timeout=30,
                           headers={"Authorization": f"Bearer {m.group(1)}"})
    # then the API server refuses it as AKS does: 401 Unauthorized
    assert refused.status_code == 401
    assert refused.json()["reason"] == "Unauthorized"


def test_azure_rbac_refuses_a_read_the_callers_roles_do_not_grant(sim_pool: Any) -> None:
    # given pullfix holds no AKS RBAC role on the Entra ID cluster
    sim = sim_pool.get("aad-cluster-without-rbac-reader")
    server = _kubeconfig(sim)["clusters"][0]["cluster"]["server"]
    denied = requests.get(f"{server}/api/v1/nodes", verify=sim.ca, timeout=30, headers={
        "Authorization": f"Bearer {sim.token(AKS_SERVER + '/.default')}"})
    assert denied.status_code == 403
    body = denied.json()
    assert body["reason"] == "Forbidden"
    assert body["message"].startswith('nodes is forbidden: User "')
    assert body["message"].endswith('cannot list resource "nodes" in API group "" at the '
                                    "cluster scope: User does not have access to the resource "
                                    "in Azure. Update role assignment to allow access.")


def test_a_private_api_server_is_unreachable_from_outside(sim_pool: Any) -> None:
    sim = sim_pool.get("private-cluster-missing-pull-role")
    mc = _aks(sim).get("rg-app", "aks-app")
    assert mc.api_server_access_profile.enable_private_cluster is True
    assert mc.private_fqdn and mc.private_fqdn.endswith(".privatelink.eastus.azmk8s.io")
    assert mc.fqdn is None
    # the kubeconfig names the private FQDN, which does not resolve outside the VNet
    cfg = _kubeconfig(sim)
    server = cfg["clusters"][0]["cluster"]["server"]
    assert server == f"https://{mc.private_fqdn}:443"
    token = cfg["users"][0]["user"]["token"]
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{server}/api/v1/pods", verify=sim.ca, timeout=10,
                     headers={"Authorization": f"Bearer {token}"})
    # nor does the simulator's own address for its API server answer from outside
    with pytest.raises(requests.exceptions.RequestException):
        requests.get(f"{sim.arm.rstrip('/')}/k8s/{_k8s_key(sim)}/api/v1/pods", verify=sim.ca,
                     timeout=10, headers={"Authorization": f"Bearer {token}"})


def _k8s_key(sim: Sim) -> str:
    snap = sim.snapshot()
    text = str(snap)
    import re

    m = re.search(r"'_k8s_key': '([0-9a-f-]+)'", text)
    assert m, "the snapshot holds the cluster's API key"
    return m.group(1)


def test_run_command_runs_kubectl_inside_a_private_cluster(sim_pool: Any) -> None:
    sim = sim_pool.get("private-cluster-missing-pull-role")
    aks = _aks(sim)
    # when kubectl lists pods through runCommand (the SDK's LRO: 202 + Location, then
    # commandResults)
    result = aks.begin_run_command("rg-app", "aks-app", RunCommandRequest(
        command="kubectl get pods -n web -o json")).result()
    # then the command succeeded inside, and its logs are kubectl's JSON
    assert result.provisioning_state == "Succeeded" and result.exit_code == 0
    assert result.started_at and result.finished_at
    doc = yaml.safe_load(result.logs)
    assert doc["kind"] == "List" and len(doc["items"]) == 2
    assert {i["kind"] for i in doc["items"]} == {"Pod"}
    # a patch is applied and reported as kubectl does
    patched = aks.begin_run_command("rg-app", "aks-app", RunCommandRequest(
        command="kubectl patch deployment web -n web --type merge "
                "-p '{\"metadata\":{\"annotations\":{\"x\":\"y\"}}}'")).result()
    assert (patched.exit_code, patched.logs) == (0, "deployment.apps/web patched\n")
    assert any(j["via"] == "runCommand" and j["method"] == "PATCH"
               for j in sim.journal() if "via" in j)
    # an error is kubectl's, with its exit code
    missing = aks.begin_run_command("rg-app", "aks-app", RunCommandRequest(
        command="kubectl get secret nope -n web -o json")).result()
    assert missing.exit_code == 1
    assert missing.logs == 'Error from server (NotFound): secrets "nope" not found\n'
    # an attached file is available to the command (az aks command invoke --file)
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("ns.json", '{"apiVersion": "v1", "kind": "Namespace", '
                               '"metadata": {"name": "made-inside"}}')
    made = aks.begin_run_command("rg-app", "aks-app", RunCommandRequest(
        command="kubectl create --raw /api/v1/namespaces -f ns.json",
        context=base64.b64encode(buf.getvalue()).decode())).result()
    assert made.exit_code == 0, made.logs


def test_run_command_is_refused_on_a_stopped_cluster(sim_pool: Any) -> None:
    sim = sim_pool.get("stopped-cluster")
    aks = _aks(sim)
    assert aks.get("rg-app", "aks-app").power_state.code == "Stopped"
    with pytest.raises(HttpResponseError) as err:
        aks.begin_run_command("rg-app", "aks-app",
                              RunCommandRequest(command="kubectl get pods -A")).result()
    assert (err.value.status_code, err.value.error.code) == (400, "BadRequest")
    assert "stopped state" in err.value.error.message
    assert sim.journal() == []


def test_an_unsupported_api_version_is_rejected(sim_pool: Any) -> None:
    sim = sim_pool.get("private-cluster-missing-pull-role")
    reply = sim.arm_request(
        "GET", f"/subscriptions/{_sub(sim)}/resourceGroups/rg-app/providers/"
               "Microsoft.ContainerService/managedClusters/aks-app", api_version="2001-01-01")
    assert reply.status_code == 400, reply.text
    err = reply.json()["error"]
    assert err["code"] == "NoRegisteredProviderFound"
    assert err["message"].startswith("No registered resource provider found for location "
                                     "'eastus' and API version '2001-01-01' for type "
                                     "'managedClusters'. The supported api-versions are "
                                     "'2017-08-31, 2018-03-31, ")
    # the versions the SDK and az CLI send are answered
    for version in ("2026-08-01", "2026-06-01", "2024-09-01"):
        assert sim.arm_request("GET", f"/subscriptions/{_sub(sim)}/resourceGroups/rg-app/"
                               "providers/Microsoft.ContainerService/managedClusters/aks-app",
                               api_version=version).status_code == 200


def _sub(sim: Sim) -> str:
    return str(sim.subscription)
