"""The real az CLI against the simulator: cloud registration, login, resource groups."""

from __future__ import annotations

import pytest

from tests.azcli import Az
from tests.simharness import Sim

pytestmark = pytest.mark.azcli


def test_az_registers_the_cloud_logs_in_and_lists_groups(sim: Sim, tmp_path) -> None:
    az = Az(sim, tmp_path / "az")
    cloud = az.json("cloud", "show")
    assert cloud["endpoints"]["resourceManager"] == sim.arm
    assert cloud["suffixes"]["acrLoginServerEndpoint"] == ".azurecr.io"
    account = az.json("account", "show")
    assert account["id"] == sim.subscription and account["tenantId"] == sim.tenant
    table = az.run("group", "list", "-o", "table").stdout
    assert "rg-minimal" in table and "pullfix-system" in table
    az.run("group", "create", "-n", "rg-from-az", "-l", "westeurope")
    assert az.json("group", "show", "-n", "rg-from-az")["location"] == "westeurope"
    assert [j["method"] for j in sim.journal()] == ["PUT"]


def test_az_login_with_a_wrong_secret_fails_like_entra(sim: Sim, tmp_path) -> None:
    # a fresh config directory: MSAL would otherwise answer from its token cache
    az = Az(sim, tmp_path / "az", login=False)
    out = az.login(sim.conn["service_principal"]["client_id"], "wrong", check=False)
    assert out.returncode != 0
    assert "AADSTS7000215" in out.stderr
