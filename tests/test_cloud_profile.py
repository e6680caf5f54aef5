"""The cloud profile: built-in clouds, metadata discovery, clear errors."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tasks.cloud import AZURE_CHINA, CloudProfileError, discover, from_environment
from tests.simharness import ROOT, Sim, env_with


def test_built_in_clouds_by_name() -> None:
    assert from_environment({"PULLFIX_CLOUD": "AzureChinaCloud"}) == AZURE_CHINA
    assert from_environment({}).acr_login_server_suffix == "azurecr.io"
    assert from_environment({"PULLFIX_CLOUD": "AzureUSGovernment"}).acr_login_server_suffix == (
        "azurecr.us")


def test_unknown_cloud_name_lists_the_valid_ones() -> None:
    with pytest.raises(CloudProfileError) as err:
        from_environment({"PULLFIX_CLOUD": "Mars"})
    assert "unknown cloud 'Mars'" in str(err.value) and "AzureChinaCloud" in str(err.value)


def test_simulator_is_discovered_from_its_metadata_document(sim: Sim) -> None:
    profile = discover(sim.arm, ca_bundle=sim.ca)
    assert profile.arm_endpoint == sim.arm
    assert profile.authority_host == sim.arm
    assert profile.arm_scope == "https://management.pullfix.sim/.default"
    assert profile.disable_instance_discovery is True


def test_unreachable_endpoint_names_the_url() -> None:
    with pytest.raises(CloudProfileError) as err:
        discover("https://127.0.0.1:9/", timeout=2)
    assert "https://127.0.0.1:9/metadata/endpoints" in str(err.value)


def test_pullfix_cloud_command_prints_the_profile(sim: Sim) -> None:
    out = subprocess.run([sys.executable, "-m", "flows.cli", "cloud", "-o", "json"],
                         env=env_with(sim), cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert f'"arm_endpoint": "{sim.arm}"' in out.stdout
    bad = subprocess.run([sys.executable, "-m", "flows.cli", "cloud"],
                         env=env_with(sim, PULLFIX_ARM_ENDPOINT="https://127.0.0.1:9/"),
                         cwd=ROOT, capture_output=True, text=True, timeout=60)
    # an unreachable cloud is "could not run" (exit 3), not a usage error
    assert bad.returncode == 3 and "cannot read the cloud metadata" in bad.stderr
