"""Run the real, pinned ``az`` CLI (installed in .azcli/ by scripts/setup.sh) against a served
simulator, with its own config directory so nothing leaks between tests or into ~/.azure."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from tests.simharness import ROOT, Sim, env_with

AZ = ROOT / ".azcli" / "bin" / "az"


class Az:
    def __init__(self, sim: Sim, config_dir: Path, *, login: bool = True) -> None:
        if not AZ.exists():
            raise RuntimeError(f"{AZ} is missing: run `bash scripts/setup.sh` (it installs the "
                               "pinned azure-cli from requirements-azcli.lock)")
        self.sim = sim
        self.env = env_with(sim, AZURE_CONFIG_DIR=str(config_dir),
                            AZURE_CORE_COLLECT_TELEMETRY="false", AZURE_CORE_NO_COLOR="true",
                            AZURE_CORE_ONLY_SHOW_ERRORS="true")
        # the az CLI reads requests' CA bundle from the environment
        self.env["REQUESTS_CA_BUNDLE"] = sim.ca
        self.run("cloud", "register", "-n", "PullfixSim", "--endpoint-resource-manager",
                 sim.arm)
        self.run("cloud", "set", "-n", "PullfixSim")
        self.run("config", "set", "core.instance_discovery=false")
        if login:
            self.login(sim.conn["service_principal"]["client_id"])

    def login(self, client_id: str, fixture_secret: str | None = None, *, check: bool = True,
              ) -> subprocess.CompletedProcess[str]:
        """``az login`` as a service principal: pullfix's operator unless a world file's fixture
        secret is given. The operator's real secret is looked up here, never passed, so that a
        failure's traceback (pytest prints arguments) cannot show it; ``--password=`` because
        Entra's secrets may begin with '-', which az's parser would take for an option."""
        secret = (fixture_secret if fixture_secret is not None
                  else self.sim.conn["service_principal"]["client_secret"])
        out = subprocess.run([str(AZ), "login", "--service-principal", "-u", client_id,
                              f"--password={secret}", "--tenant", self.sim.tenant, "-o", "none"],
                             env=self.env, capture_output=True, text=True, timeout=180, cwd=ROOT)
        del secret
        if check and out.returncode != 0:
            raise AssertionError(f"az login --service-principal -u {client_id} failed "
                                 f"({out.returncode}):\n{out.stderr[-3000:]}")
        return out

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        out = subprocess.run([str(AZ), *args], env=self.env, capture_output=True, text=True,
                             timeout=180, cwd=ROOT)
        if check and out.returncode != 0:
            raise AssertionError(f"az {' '.join(args[:4])}… failed ({out.returncode}):\n"
                                 f"{out.stderr[-3000:]}")
        return out

    def json(self, *args: str) -> Any:
        return json.loads(self.run(*args, "-o", "json").stdout or "null")
