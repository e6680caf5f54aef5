"""The simulator's foundation: identity, ARM semantics, the control API, bad input."""

from __future__ import annotations

import json
import socket
import subprocess
import sys

import pytest
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError
from azure.mgmt.resource.resources import ResourceManagementClient
from azure.mgmt.resource.subscriptions import SubscriptionClient

from tests.simharness import ROOT, Sim, env_with


def test_default_credential_with_service_principal_lists_resource_groups(sim: Sim) -> None:
    # given the connection file's environment, when pullfix builds its clients from it
    code = (
        "from tasks.clients import Clients\n"
        "from azure.mgmt.resource.resources import ResourceManagementClient\n"
        "import os\n"
        "c = Clients()\n"
        "rc = c.arm(ResourceManagementClient, os.environ['AZURE_SUBSCRIPTION_ID'])\n"
        "print(sorted(g.name for g in rc.resource_groups.list()))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env_with(sim), cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    # then DefaultAzureCredential authenticates as the operator SP and ARM answers
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "['pullfix-system', 'rg-minimal']"


def test_default_credential_with_managed_identity(sim: Sim) -> None:
    code = (
        "from tasks.clients import Clients\n"
        "from azure.mgmt.resource.subscriptions import SubscriptionClient\n"
        "import jwt\n"
        "c = Clients()\n"
        "tok = c.credential.get_token(c.profile.arm_scope).token\n"
        "print(jwt.decode(tok, options={'verify_signature': False})['oid'])\n"
        "print([s.subscription_id for s in c.arm(SubscriptionClient).subscriptions.list()])\n"
    )
    env = env_with(sim, AZURE_CLIENT_ID=None, AZURE_CLIENT_SECRET=None)
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    oid, subs = out.stdout.strip().splitlines()
    assert oid == sim.conn["managed_identity"]["principal_id"]
    assert subs == str([sim.subscription])


def test_subscription_client_lists_visible_subscriptions(sim: Sim) -> None:
    subs = list(sim.clients().arm(SubscriptionClient).subscriptions.list())
    assert [s.subscription_id for s in subs] == [sim.subscription]
    assert subs[0].display_name == "sub-minimal"
    assert subs[0].tenant_id == sim.tenant


def test_wrong_secret_fails_as_entra_does(sim: Sim) -> None:
    cred = sim.credential(secret="not-the-secret")
    with pytest.raises(ClientAuthenticationError) as err:
        cred.get_token(sim.profile.arm_scope)
    assert "AADSTS7000215" in str(err.value)


def test_unknown_client_fails_as_entra_does(sim: Sim) -> None:
    cred = sim.credential(client_id="00000000-0000-0000-0000-000000000001", secret="x")
    with pytest.raises(ClientAuthenticationError) as err:
        cred.get_token(sim.profile.arm_scope)
    assert "AADSTS700016" in str(err.value)


def test_arm_rejects_missing_and_wrong_audience_tokens(sim: Sim) -> None:
    resp = sim.session.get(sim.arm + f"subscriptions/{sim.subscription}/resourcegroups"
                           "?api-version=2022-09-01", verify=sim.ca)
    assert resp.status_code == 401
    assert resp.json()["error"]["code"] == "AuthenticationFailed"
    assert resp.headers["WWW-Authenticate"].startswith("Bearer authorization_uri=")
    graph_token = sim.token(sim.profile.graph_scope)
    resp = sim.arm_request("GET", f"/subscriptions/{sim.subscription}/resourcegroups",
                           token=graph_token)
    assert resp.status_code == 401
    assert resp.json()["error"]["code"] == "InvalidAuthenticationTokenAudience"


def test_missing_api_version_is_refused(sim: Sim) -> None:
    resp = sim.session.get(sim.arm + f"subscriptions/{sim.subscription}/resourcegroups",
                           headers={"Authorization": f"Bearer {sim.token()}"}, verify=sim.ca)
    assert resp.status_code == 400
    assert resp.json()["error"]["code"] == "MissingApiVersionParameter"


def test_resource_group_lifecycle_is_journalled_and_reset(sim: Sim) -> None:
    rc = sim.clients().arm(ResourceManagementClient, sim.subscription)
    rc.resource_groups.create_or_update("rg-new", {"location": "westus", "tags": {"a": "b"}})
    assert rc.resource_groups.get("RG-NEW").tags == {"a": "b"}  # ids are case-insensitive
    journal = sim.journal()
    assert [(j["method"], j["status"]) for j in journal] == [("PUT", 201)]
    sim.reset()
    assert sim.journal() == []
    with pytest.raises(HttpResponseError) as err:
        rc.resource_groups.get("rg-new")
    assert err.value.error.code == "ResourceGroupNotFound"


def test_generic_resource_list_filters_by_type(sim: Sim) -> None:
    rc = sim.clients().arm(ResourceManagementClient, sim.subscription)
    mis = list(rc.resources.list(
        filter="resourceType eq 'Microsoft.ManagedIdentity/userAssignedIdentities'"))
    assert [r.name for r in mis] == ["pullfix"]
    with pytest.raises(HttpResponseError) as err:
        list(rc.resources.list(filter="nonsense"))
    assert err.value.error.code == "InvalidFilterInQueryString"


def test_retry_after_429_is_honoured_by_the_sdk(sim: Sim) -> None:
    sim.fault(method="GET", path="/resourcegroups/rg-minimal$", status=429, retry_after=1,
              count=1)
    rc = sim.clients().arm(ResourceManagementClient, sim.subscription)
    assert rc.resource_groups.get("rg-minimal").name == "rg-minimal"
    faults = sim.control("GET", "faults")["value"]
    assert faults[0]["hits"] == 1 and faults[0]["count"] == 0


def test_dropped_connection_and_5xx_are_retried(sim: Sim) -> None:
    sim.fault(method="GET", path="/resourcegroups/rg-minimal$", drop=True, count=1)
    sim.fault(method="GET", path="/resourcegroups/rg-minimal$", status=503, count=1)
    rc = sim.clients().arm(ResourceManagementClient, sim.subscription)
    assert rc.resource_groups.get("rg-minimal").name == "rg-minimal"


def test_throttling_model_answers_429_with_remaining_headers(sim: Sim) -> None:
    sim.settings(throttling={"enabled": True, "reads_burst": 3, "reads_per_second": 0.01})
    path = f"/subscriptions/{sim.subscription}/resourcegroups"
    token = sim.token()
    remaining = [sim.arm_request("GET", path, token=token).headers.get(
        "x-ms-ratelimit-remaining-subscription-reads") for _ in range(3)]
    assert remaining == ["2", "1", "0"]
    resp = sim.arm_request("GET", path, token=token)
    assert resp.status_code == 429
    assert resp.json()["error"]["code"] == "SubscriptionRequestsThrottled"
    assert int(resp.headers["Retry-After"]) >= 1
    sim.settings(throttling={"enabled": False})


def test_unknown_scenario_fails_at_start_with_a_clear_message(tmp_path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "simulator", "serve", "--scenario", "no-such-scenario",
         "--port", "0", "--connection-file", str(tmp_path / "c.json")],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )
    assert out.returncode == 2
    assert "unknown scenario 'no-such-scenario'" in out.stderr
    assert "minimal" in out.stderr  # names the valid choices


def test_malformed_scenario_names_the_entry_and_field(tmp_path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nresources:\n  - kind: subscription\n    name: s\n"
                   "  - kind: resource-group\n    name: rg\n    locaton: eastus\n")
    out = subprocess.run(
        [sys.executable, "-m", "simulator", "serve", "--scenario", str(bad), "--port", "0",
         "--connection-file", str(tmp_path / "c.json")],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )
    assert out.returncode == 2
    assert "resources[1] (kind: resource-group, name: rg): field 'locaton': unknown field" in (
        out.stderr)
    bad.write_text("name: [unclosed\n")
    out = subprocess.run(
        [sys.executable, "-m", "simulator", "serve", "--scenario", str(bad), "--port", "0",
         "--connection-file", str(tmp_path / "c.json")],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )
    assert out.returncode == 2 and "not valid YAML" in out.stderr


def test_port_in_use_fails_at_start(tmp_path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        out = subprocess.run(
            [sys.executable, "-m", "simulator", "serve", "--scenario", "minimal", "--port",
             str(port), "--connection-file", str(tmp_path / "c.json")],
            cwd=ROOT, capture_output=True, text=True, timeout=60,
        )
    assert out.returncode == 2
    assert f"port {port} on 127.0.0.1 is already in use" in out.stderr


def test_state_directory_survives_a_restart(tmp_path) -> None:
    first = Sim("minimal", tmp_path)
    try:
        rc = first.clients().arm(ResourceManagementClient, first.subscription)
        rc.resource_groups.create_or_update("rg-kept", {"location": "eastus"})
    finally:
        first.stop()
    (tmp_path / "connection.json").unlink()
    second = Sim("minimal", tmp_path)
    try:
        rc = second.clients().arm(ResourceManagementClient, second.subscription)
        assert rc.resource_groups.get("rg-kept").location == "eastus"
        assert json.loads((tmp_path / "connection.json").read_text())["tenant_id"] == (
            second.tenant)
    finally:
        second.stop()


def test_a_state_directory_of_another_scenario_is_refused(tmp_path) -> None:
    first = Sim("minimal", tmp_path)
    first.stop()
    out = subprocess.run(
        [sys.executable, "-m", "simulator", "serve", "--scenario", "healthy", "--port", "0",
         "--state-dir", str(tmp_path / "state"), "--connection-file", str(tmp_path / "c.json")],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )
    assert out.returncode == 2
    assert "holds the world of scenario 'minimal', not 'healthy'" in out.stderr
