"""Serve simulator scenarios for tests: a real process, real HTTPS, the control API.

Nothing here reaches into the simulator's memory: tests drive it as operators and pullfix
do, through HTTPS and the connection file.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import requests
from azure.identity import ClientSecretCredential

from simulator.core import apiversions
from tasks.clients import Clients
from tasks.cloud import CloudProfile, discover

ROOT = Path(__file__).resolve().parent.parent


class Sim:
    def __init__(self, scenario: str, workdir: Path, *, extra_args: tuple[str, ...] = ()) -> None:
        self.scenario = scenario
        self.workdir = workdir
        self.conn_file = workdir / "connection.json"
        self.log_file = workdir / "simulator.log"
        self.proc = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "simulator", "serve", "--scenario", scenario, "--port", "0",
             "--connection-file", str(self.conn_file), "--state-dir", str(workdir / "state"),
             *extra_args],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=open(self.log_file, "wb"),  # noqa: SIM115
        )
        deadline = time.monotonic() + 60
        while not self.conn_file.exists():
            if self.proc.poll() is not None:
                raise RuntimeError(f"simulator exited: {self.log_file.read_text()}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("simulator did not start in 60 s")
            time.sleep(0.05)
        self.conn: dict[str, Any] = json.loads(self.conn_file.read_text())
        # requests lets REQUESTS_CA_BUNDLE from the environment override Session.verify, so
        # every call below passes verify= explicitly
        self.session = requests.Session()
        self._profile: CloudProfile | None = None

    # -- facts -------------------------------------------------------------------------------
    @property
    def ca(self) -> str:
        return self.conn["ca_bundle"]

    @property
    def env(self) -> dict[str, str]:
        return dict(self.conn["env"])

    @property
    def arm(self) -> str:
        return self.conn["arm_endpoint"]

    @property
    def tenant(self) -> str:
        return self.conn["tenant_id"]

    @property
    def subscription(self) -> str:
        return self.conn["subscriptions"][0]

    @property
    def profile(self) -> CloudProfile:
        if self._profile is None:
            self._profile = discover(self.arm, ca_bundle=self.ca,
                                     registry_proxy=self.conn.get("registry_proxy"))
        return self._profile

    def credential(self, client_id: str | None = None, secret: str | None = None
                   ) -> ClientSecretCredential:
        sp = self.conn["service_principal"]
        return ClientSecretCredential(
            self.tenant, client_id or sp["client_id"], secret or sp["client_secret"],
            authority=self.profile.authority_host, disable_instance_discovery=True,
            connection_verify=self.ca,
        )

    def clients(self, client_id: str | None = None, secret: str | None = None) -> Clients:
        return Clients(self.profile, self.credential(client_id, secret))

    # -- control API ---------------------------------------------------------------------------
    def control(self, method: str, path: str, body: Any = None) -> Any:
        resp = self.session.request(
            method, self.conn["control"]["url"] + path.lstrip("/"), json=body,
            headers={"x-sim-control": self.conn["control"]["key"]}, timeout=30, verify=self.ca,
        )
        resp.raise_for_status()
        return resp.json() if resp.content else None

    def reset(self) -> None:
        self.control("POST", "reset")

    def journal(self) -> list[dict[str, Any]]:
        return self.control("GET", "journal")["value"]

    def fault(self, **fault: Any) -> None:
        self.control("POST", "faults", fault)

    def clear_faults(self) -> None:
        self.control("DELETE", "faults")

    def settings(self, **patch: Any) -> dict[str, Any]:
        return self.control("PATCH", "settings", patch)

    def advance(self, seconds: float) -> None:
        self.control("POST", "clock", {"advance_seconds": seconds})

    def stats(self) -> dict[str, int]:
        """Requests served per route ("METHOD template") since the last reset."""
        return self.control("GET", "stats")

    def snapshot(self) -> dict[str, Any]:
        return self.control("GET", "snapshot")

    # -- raw HTTPS with a bearer token ---------------------------------------------------------
    def token(self, scope: str | None = None) -> str:
        return self.credential().get_token(scope or self.profile.arm_scope).token

    def arm_request(self, method: str, path: str, *, api_version: str | None = None,
                    token: str | None = None, **kwargs: Any) -> requests.Response:
        # by default the newest GA version the path's provider answers (ARM refuses made-up ones)
        api_version = api_version or apiversions.latest(path.split("?", 1)[0])
        sep = "&" if "?" in path else "?"
        return self.session.request(
            method, self.arm.rstrip("/") + path + f"{sep}api-version={api_version}",
            headers={"Authorization": f"Bearer {token or self.token()}"}, timeout=30,
            verify=self.ca, **kwargs,
        )

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def env_with(sim: Sim, **overrides: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "IDENTITY_"))}
    env.update(sim.env)
    for k, v in overrides.items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = v
    return env
