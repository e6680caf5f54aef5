"""Secret scans: every secret a simulated cloud issued, looked for in every store a run writes.

The secrets come from the simulator's own state (through its control API): the operator's
client secret, the managed-identity header, each application's scenario password, each
registry's admin passwords and each cluster's kubeconfig tokens; any JWT (an Entra or ACR
token) counts too. The stores are files (Prefect's database and result storage, pullfix's
audit database, reports, logs) and captured output.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from tests.simharness import Sim

JWT = re.compile(rb"eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}")
_SECRET_KEYS = ("_scenarioValue", "client_secret", "user_token", "admin_token")


def issued_secrets(sim: Sim) -> dict[str, str]:
    """secret → what it is (never printed: a failure names the kind and the store)."""
    found: dict[str, str] = {sim.conn["service_principal"]["client_secret"]: "operator secret",
                             sim.env["IDENTITY_HEADER"]: "managed-identity header"}

    def walk(doc: Any, where: str) -> None:
        if isinstance(doc, dict):
            for k, v in doc.items():
                if k in _SECRET_KEYS and isinstance(v, str):
                    found[v] = f"{k} of {where}"
                elif k == "_adminPasswords" and isinstance(v, dict):
                    found.update({str(p): f"admin password of {where}" for p in v.values()})
                else:
                    walk(v, str(doc.get("id") or doc.get("name") or where))
        elif isinstance(doc, list):
            for v in doc:
                walk(v, where)

    walk(sim.snapshot(), "the world")
    return {s: what for s, what in found.items() if s and len(s) >= 8}


def files_under(*roots: Path) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for root in roots:
        if root.is_file():
            out[str(root)] = root.read_bytes()
        elif root.exists():
            out.update({str(f): f.read_bytes() for f in root.rglob("*") if f.is_file()})
    return out


def leaks(blobs: dict[str, bytes], secrets: dict[str, str]) -> list[str]:
    """Where a secret or a token appears: ``"<store>: <what>"``, never the secret itself."""
    out = []
    for name, data in blobs.items():
        out += [f"{name}: {what}" for s, what in secrets.items() if s.encode() in data]
        if JWT.search(data):
            out.append(f"{name}: a JWT")
    return out


def prefect_blobs(client: Any, db_files: Iterable[Path], storage: Iterable[Path]
                  ) -> dict[str, bytes]:
    """Prefect's stores as a client and its files show them: the database, result storage,
    artifacts and flow-run parameters."""
    blobs = files_under(*db_files, *storage)
    artifacts = client.read_artifacts()
    blobs["artifacts"] = "\n".join(str(a.data) + str(a.description) for a in artifacts).encode()
    runs = client.read_flow_runs()
    blobs["parameters"] = "\n".join(str(r.parameters) for r in runs).encode()
    return blobs
