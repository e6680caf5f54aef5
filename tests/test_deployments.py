"""deployments/prefect.yaml names real flows with parameters they accept."""

from __future__ import annotations

import importlib
import inspect
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.simharness import ROOT


def test_every_deployment_points_at_a_flow_with_valid_parameters() -> None:
    doc = yaml.safe_load((ROOT / "deployments" / "prefect.yaml").read_text())
    assert doc["deployments"]
    for dep in doc["deployments"]:
        path, _, name = dep["entrypoint"].partition(":")
        module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
        flow = getattr(module, name)
        params = inspect.signature(flow.fn).parameters
        assert set(dep.get("parameters", {})) <= set(params), (dep["name"], params)
        assert dep["work_pool"]["name"] == "pullfix-process"
        for value in dep.get("parameters", {}).values():  # no secret belongs in parameters
            assert "secret" not in str(value).lower()
    policies = [d["parameters"]["policy"] for d in doc["deployments"]
                if "policy" in d.get("parameters", {})]
    assert all((ROOT / p).exists() for p in policies)


def test_the_shipped_file_registers_with_the_real_prefect_cli_as_the_readme_says(
        prefect_harness: None, tmp_path: Path) -> None:
    # given the README's command, run from the repository root against a Prefect server
    from prefect import get_client

    from tests.fanoutlib import PREFECT, prefect_env

    names = ["fleet-sweep/fleet-sweep-plan", "fleet-sweep/fleet-sweep-apply",
             "remediate-cluster/remediate-cluster", "diagnose-cluster/diagnose-cluster"]
    pool = subprocess.run([PREFECT, "work-pool", "create", "pullfix-process", "--type",
                           "process", "--overwrite"], env=prefect_env(), cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert pool.returncode == 0, pool.stdout[-3000:] + pool.stderr[-3000:]
    out = subprocess.run([PREFECT, "--no-prompt", "deploy", "--all", "--prefect-file",
                          "deployments/prefect.yaml"], env=prefect_env(), cwd=ROOT,
                         capture_output=True, text=True, timeout=600)
    try:
        # then every deployment is registered, working in this checkout by its absolute path
        # (a process worker runs flows in a temporary folder), on the pullfix-process pool
        assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
        with get_client(sync_client=True) as client:
            for name in names:
                dep = client.read_deployment_by_name(name)
                assert dep.pull_steps == [{"prefect.deployments.steps.set_working_directory": {
                    "directory": str(ROOT)}}], (name, dep.pull_steps)
                assert dep.work_pool_name == "pullfix-process"
                assert (ROOT / dep.entrypoint.partition(":")[0]).is_file()
    finally:
        with get_client(sync_client=True) as client:
            for name in names:
                try:
                    client.delete_deployment(client.read_deployment_by_name(name).id)
                except Exception:  # noqa: BLE001, S110 - not registered
                    pass
            client.delete_work_pool("pullfix-process")


def test_a_relative_ca_path_that_is_not_there_is_refused_naming_the_variable(
        tmp_path: Path) -> None:
    from tasks.cloud import CloudProfileError, from_environment

    # given a CA bundle named relative to a folder the process is not in (a worker's)
    env = {"PULLFIX_ARM_ENDPOINT": "https://127.0.0.1:1/", "REQUESTS_CA_BUNDLE": "state/ca.pem"}
    with pytest.raises(CloudProfileError) as err:
        from_environment(env)
    assert str(err.value).startswith("REQUESTS_CA_BUNDLE=state/ca.pem: no such CA bundle file "
                                     "(a relative path, read in ")
    assert "set an absolute path" in str(err.value)


def test_a_relative_ca_path_that_exists_is_made_absolute(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from tasks.cloud import ca_bundle_from

    (tmp_path / "ca.pem").write_text("-----BEGIN CERTIFICATE-----\n")
    monkeypatch.chdir(tmp_path)
    assert ca_bundle_from({"SSL_CERT_FILE": "ca.pem"}) == str(tmp_path / "ca.pem")
