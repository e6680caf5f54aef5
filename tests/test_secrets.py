"""After a full apply sweep of the demo fleet, no secret the simulator issued (SP passwords,
admin passwords, tokens, the managed-identity header) appears in Prefect's database, result
storage, logs or artifacts, nor in pullfix's own output."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.simharness import ROOT, Sim

JWT = re.compile(rb"eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}")


def _secrets(sim: Sim) -> set[str]:
    found: set[str] = {sim.conn["service_principal"]["client_secret"],
                       sim.env["IDENTITY_HEADER"]}

    def walk(doc: Any) -> None:
        if isinstance(doc, dict):
            for k, v in doc.items():
                if k in ("_scenarioValue", "client_secret") and isinstance(v, str):
                    found.add(v)
                elif k == "_adminPasswords" and isinstance(v, dict):
                    found.update(str(p) for p in v.values())
                else:
                    walk(v)
        elif isinstance(doc, list):
            for v in doc:
                walk(v)

    walk(sim.snapshot())
    return {s for s in found if s and len(s) >= 8}


@pytest.mark.scenario("demo")
def test_no_secret_reaches_prefect_or_the_output(
        sim: Sim, sim_env: Callable[[Sim], None], prefect_harness: None,
        capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> None:
    from prefect import get_client
    from prefect.settings import (
        PREFECT_API_DATABASE_CONNECTION_URL,
        PREFECT_HOME,
        PREFECT_LOCAL_STORAGE_PATH,
    )

    from flows.sweep import fleet_sweep

    sim_env(sim)
    secrets = _secrets(sim)
    assert len(secrets) >= 5  # the operator's, the apps', the registries' admin passwords
    summary = fleet_sweep(mode="apply", policy=str(ROOT / "policies/default.yaml"),
                          verify_seconds=30)
    assert summary["outcomes"]["applied"] >= 2  # the sweep did real work

    blobs: dict[str, bytes] = {}
    db_url = str(PREFECT_API_DATABASE_CONNECTION_URL.value() or "")
    db_path = db_url.split("///", 1)[1] if "///" in db_url else ""
    for path in [Path(db_path)] if db_path else []:
        for f in path.parent.glob(path.name + "*"):
            blobs[str(f)] = f.read_bytes()
    for root in {Path(str(PREFECT_LOCAL_STORAGE_PATH.value())), Path(str(PREFECT_HOME.value()))
                 / "storage"}:
        if root.exists():
            for f in root.rglob("*"):
                if f.is_file():
                    blobs[str(f)] = f.read_bytes()
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts()
        blobs["artifacts"] = "\n".join(str(a.data) + str(a.description) for a in artifacts
                                       ).encode()
        runs = client.read_flow_runs()
        blobs["parameters"] = "\n".join(str(r.parameters) for r in runs).encode()
    out, err = capfd.readouterr()
    blobs["output"] = (out + err + caplog.text).encode()
    assert db_path and any(db_path in k for k in blobs), "the Prefect database was not read"
    assert len(blobs["artifacts"]) > 1000  # the reports are there
    for name, data in blobs.items():
        for secret in secrets:
            assert secret.encode() not in data, f"a secret leaked into {name}"
        assert not JWT.search(data), f"a token leaked into {name}"
