"""The command line's contract for CI: the same exit codes on every command — 0 nothing
failing, 1 failing pods or unhealed clusters, 2 usage or input error, 3 could not run — a
validated ``-o table|json|yaml``, and one line (never a traceback) naming what is missing or
unreachable. Each runs the installed ``pullfix`` console script against the served simulator
(or CliRunner for the usage errors, which never reach the cloud)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from flows.cli import app
from flows.cli.exit_codes import ExitCode
from tests.simharness import ROOT, Sim, env_with

PULLFIX = str(Path(sys.executable).with_name("pullfix"))


def pullfix(env: dict[str, str], *args: str, timeout: float = 300
            ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PULLFIX, *args], env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A port on 127.0.0.1 nothing listens on (bound, then closed)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    yield port


@pytest.fixture
def prefect_env(sim: Sim, prefect_harness: None) -> dict[str, str]:
    """The simulator's environment and the test session's Prefect server."""
    from prefect.settings import PREFECT_API_URL

    return env_with(sim, PREFECT_API_URL=PREFECT_API_URL.value())


def test_the_exit_codes_are_the_documented_contract() -> None:
    assert [(c.name, int(c)) for c in ExitCode] == [("OK", 0), ("FAILING", 1), ("USAGE", 2),
                                                    ("CANNOT_RUN", 3)]
    readme = (ROOT / "README.md").read_text()
    for line in ("| 0 | nothing is failing", "| 1 | ", "| 2 | usage or input error",
                 "| 3 | could not run"):
        assert line in readme, line


# --- 3: could not run ----------------------------------------------------------------------
@pytest.mark.parametrize("command", [["clusters"], ["diagnose", "--cluster", "aks-app"],
                                     ["sweep", "--mode", "plan"]],
                         ids=["clusters", "diagnose", "sweep"])
def test_no_credential_in_the_environment_is_one_line_and_exit_3(sim: Sim,
                                                                 command: list[str]) -> None:
    # given the simulated cloud, but no service principal, workload or managed identity
    env = env_with(sim, AZURE_CLIENT_ID=None, AZURE_CLIENT_SECRET=None, IDENTITY_ENDPOINT=None,
                   IDENTITY_HEADER=None)
    # when a command needs Azure
    got = pullfix(env, *command)
    # then it says what is missing and what to set, in one line, and exits 3
    assert (got.returncode, got.stderr.strip()) == (3, (
        "pullfix: no Azure credential found: set AZURE_TENANT_ID, AZURE_CLIENT_ID and "
        "AZURE_CLIENT_SECRET (a service principal), or run with a workload identity "
        "(AZURE_FEDERATED_TOKEN_FILE) or a managed identity")), got.stderr
    assert got.stdout == ""


def test_a_refused_sign_in_names_entras_reason_not_the_secret(sim: Sim) -> None:
    env = env_with(sim, AZURE_CLIENT_SECRET="not-the-secret-0001", IDENTITY_ENDPOINT=None,
                   IDENTITY_HEADER=None)
    got = pullfix(env, "clusters")
    assert got.returncode == 3
    assert got.stderr.strip() == (
        "pullfix: Azure sign-in failed (EnvironmentCredential): AADSTS7000215: Invalid client "
        "secret provided; check AZURE_CLIENT_ID, AZURE_CLIENT_SECRET and AZURE_TENANT_ID")
    assert "not-the-secret-0001" not in got.stdout + got.stderr


@pytest.mark.parametrize("command", [["clusters"], ["cloud"], ["diagnose", "--cluster", "aks-app"],
                                     ["remediate", "--cluster", "aks-app"]],
                         ids=["clusters", "cloud", "diagnose", "remediate"])
def test_an_unreachable_cloud_is_one_line_and_exit_3(sim: Sim, closed_port: int,
                                                     command: list[str]) -> None:
    # given PULLFIX_ARM_ENDPOINT pointing at a port nothing listens on
    url = f"https://127.0.0.1:{closed_port}/"
    got = pullfix(env_with(sim, PULLFIX_ARM_ENDPOINT=url), *command)
    assert got.returncode == 3, got.stderr
    [line] = got.stderr.strip().splitlines()
    assert line.startswith(f"pullfix: cannot read the cloud metadata at {url}metadata/endpoints")
    assert "Connection refused" in line and "Is the endpoint right and reachable" in line


def test_an_unreachable_prefect_api_is_one_line_and_exit_3(sim: Sim, closed_port: int) -> None:
    api = f"http://127.0.0.1:{closed_port}/api"
    got = pullfix(env_with(sim, PREFECT_API_URL=api), "pending")
    assert (got.returncode, got.stderr.strip()) == (3, (
        f"pullfix: cannot reach the Prefect API at {api}: [Errno 111] Connection refused; "
        "start the server (`prefect server start`) or set PREFECT_API_URL to one that runs"))


def test_a_bad_cloud_name_is_input_not_could_not_run(sim: Sim) -> None:
    got = pullfix(env_with(sim, PULLFIX_ARM_ENDPOINT=None, PULLFIX_CLOUD="Mars"), "cloud")
    assert got.returncode == 2
    assert got.stderr.startswith("pullfix: unknown cloud 'Mars' in PULLFIX_CLOUD")


# --- 2: usage or input ---------------------------------------------------------------------
DATA_COMMANDS = [["cloud"], ["clusters"], ["checks"], ["fixes"], ["classify"],
                 ["diagnose", "--cluster", "x"], ["sweep"], ["remediate", "--cluster", "x"],
                 ["pending"], ["approve", "x"], ["reject", "x"],
                 ["policy", "validate", "policies/default.yaml"], ["audit", "list"],
                 ["audit", "show", "x"], ["audit", "verify"]]


@pytest.mark.parametrize("command", DATA_COMMANDS, ids=" ".join)
def test_every_data_command_validates_its_output_format(command: list[str]) -> None:
    got = CliRunner().invoke(app, [*command, "-o", "xml"])
    assert got.exit_code == 2
    assert "Invalid value for '-o' / '--output'" in got.stderr
    assert "'xml' is not one of 'table', 'json', 'yaml'" in got.stderr


def test_policy_schema_offers_json_and_yaml() -> None:
    got = CliRunner().invoke(app, ["policy", "schema", "-o", "table"])
    assert got.exit_code == 2 and "'table' is not one of 'json', 'yaml'" in got.stderr
    as_yaml = CliRunner().invoke(app, ["policy", "schema", "-o", "yaml"])
    assert yaml.safe_load(as_yaml.stdout) == json.loads(
        CliRunner().invoke(app, ["policy", "schema"]).stdout)


def test_catalogues_print_the_same_data_as_json_and_yaml() -> None:
    as_json = json.loads(CliRunner().invoke(app, ["fixes", "-o", "json"]).stdout)
    assert yaml.safe_load(CliRunner().invoke(app, ["fixes", "-o", "yaml"]).stdout) == as_json
    assert {f["fix"] for f in as_json} >= {"grant-pull-role", "reconcile-cluster"}


@pytest.mark.scenario("demo")
def test_an_unknown_cluster_is_exit_2_naming_the_known_ones(sim: Sim) -> None:
    got = pullfix(env_with(sim), "remediate", "--cluster", "aks-nope")
    assert got.returncode == 2
    assert "unknown cluster 'aks-nope'" in got.stderr and "aks-web-prod" in got.stderr


def test_policy_validate_checks_every_file_and_names_each(tmp_path: Path) -> None:
    # given two shipped policies and a broken one between them
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nfixes:\n  enable-selected-networks: {decision: auto}\n")
    got = pullfix(dict(env_with_nothing()), "policy", "validate", "policies/prod.yaml", str(bad),
                  "policies/nonprod.yaml")
    # then each is reported, the broken one with its problem, and the exit is 2
    assert got.returncode == 2
    assert got.stdout.splitlines()[0].startswith("ok: policies/prod.yaml: 14 fixes")
    assert got.stdout.splitlines()[1].startswith("ok: policies/nonprod.yaml: ")
    assert got.stderr.splitlines() == [
        f"{bad}: 'enable-selected-networks' is high risk and can never be auto at "
        "fixes.enable-selected-networks.decision (line 3); valid: sign-off, deny",
        f"pullfix: 1 of 3 policy files invalid: {bad}"]
    # and as data: one entry per file
    doc = yaml.safe_load(pullfix(dict(env_with_nothing()), "policy", "validate",
                                 "policies/prod.yaml", str(bad), "-o", "yaml").stdout)
    assert [(d["file"], d["valid"]) for d in doc] == [("policies/prod.yaml", True), (str(bad), False)]
    # when all are valid: exit 0
    assert pullfix(dict(env_with_nothing()), "policy", "validate", "policies/prod.yaml",
                   "policies/default.yaml").returncode == 0


def env_with_nothing() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "IDENTITY_"))}


# --- 0 and 1: nothing failing, or problems found ---------------------------------------------
@pytest.mark.scenario("healthy")
def test_diagnose_and_sweep_of_a_healthy_cluster_exit_0(prefect_env: dict[str, str]) -> None:
    got = pullfix(prefect_env, "diagnose", "--cluster", "aks-app", "-o", "yaml")
    assert got.returncode == 0, got.stderr[-2000:]
    assert yaml.safe_load(got.stdout)["failing_pods"] == 0
    swept = pullfix(prefect_env, "sweep", "--mode", "plan", "-o", "json")
    assert swept.returncode == 0, swept.stderr[-2000:]
    assert json.loads(swept.stdout)["failing_clusters"] == 0


@pytest.mark.scenario("missing-pull-role")
def test_diagnose_and_sweep_that_find_failing_pods_exit_1(prefect_env: dict[str, str]) -> None:
    got = pullfix(prefect_env, "diagnose", "--cluster", "aks-app", "-o", "json")
    assert got.returncode == 1, got.stderr[-2000:]
    assert json.loads(got.stdout)["failing_pods"] >= 1
    swept = pullfix(prefect_env, "sweep", "--mode", "plan", "-o", "yaml")
    assert swept.returncode == 1, swept.stderr[-2000:]
    summary = yaml.safe_load(swept.stdout)
    assert summary["failing_clusters"] == 1
    # piped: the progress is plain lines on stderr, no live display's control codes
    assert "[1/1] diagnosed aks-app" in swept.stderr
    assert "\x1b[" not in swept.stderr


@pytest.mark.scenario("missing-pull-role")
def test_an_apply_sweep_that_heals_exits_0_and_shows_each_step_when_piped(
        prefect_env: dict[str, str], tmp_path: Path) -> None:
    # given a fleet whose one failing cluster the default policy may fix on its own
    env = dict(prefect_env, PULLFIX_WEBHOOK_URL="")
    # when an apply sweep runs piped, as in CI
    got = pullfix(env, "sweep", "--mode", "apply", "--policy", "policies/default.yaml",
                  "-o", "json", timeout=600)
    # then it heals the cluster and exits 0, stdout one JSON document
    assert got.returncode == 0, got.stderr[-3000:]
    summary = json.loads(got.stdout)
    assert [r["outcome"] for r in summary["remediations"]] == ["healed"]
    # and stderr tells the steps as plain lines, from diagnosis to the cluster's outcome
    lines = got.stderr.splitlines()
    assert "[1/1] diagnosed aks-app" in lines
    steps = [next(i for i, x in enumerate(lines) if x.startswith(prefix)) for prefix in (
        "aks-app: remediation started (flow run ", "aks-app: grant-pull-role: auto",
        "aks-app: applying grant-pull-role (1 change(s))", "aks-app: grant-pull-role applied",
        "aks-app: grant-pull-role: verified", "aks-app: healed — healed: every pod pulls")]
    assert steps == sorted(steps), lines
    assert "\x1b[" not in got.stderr


@pytest.mark.scenario("missing-pull-role")
def test_throttling_beyond_the_retries_is_one_line_and_exit_3(sim: Sim) -> None:
    # given ARM answering every cluster list with 429 (Retry-After: 1), as a throttled
    # subscription does
    sim.fault(method="GET", path="Microsoft.ContainerService/managedClusters$", status=429,
              retry_after=1)
    # when the inventory is asked for, after the SDK's own retries
    got = pullfix(env_with(sim), "clusters")
    # then one line says so, and what to do
    assert got.returncode == 3, got.stderr
    [line] = got.stderr.strip().splitlines()
    assert line.startswith("pullfix: Azure throttled pullfix beyond its retries (429")
    assert line.endswith("; try again later or lower --rate")
