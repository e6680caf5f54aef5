"""Helpers the identity, secret and workload fixes share: fresh reads, re-running a check,
Graph password credentials, k8s resource names and pull-secret docker configs.

A new password only ever lives in the local variables of the caller of :func:`add_password`;
what comes back besides it (keyId, hint, end date) is what plans and results may record.
"""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from tasks.contract import Finding, Status, Target
from tasks.reads import Reads
from tasks.registry import load_checks

NAMESPACE = uuid.UUID("6f1c5a52-7d3e-4c1b-9a57-70756c6c6669")  # pullfix's uuid5 namespace


def fresh(reads: Reads) -> Reads:
    """Reads with an empty memo: apply and re-plan must see the world as it is now."""
    return Reads(reads.clients)


def check(name: str, target: Target, reads: Reads) -> Finding:
    return load_checks()[name].fn(target, reads)


def failing(name: str, target: Target, reads: Reads) -> bool:
    return check(name, target, reads).status == Status.FAIL


def stable_name(*parts: str) -> str:
    """A deterministic GUID (uuid5) for a resource pullfix creates: the same inputs, the same
    name, so a second apply finds what the first one made."""
    return str(uuid.uuid5(NAMESPACE, "|".join(p.lower() for p in parts)))


def role_assignment(role_definition_id: str, principal_id: str,
                    principal_type: str = "ServicePrincipal") -> Any:
    """The create body (the package's default api-version models; mypy sees an older one)."""
    from azure.mgmt.authorization.models import RoleAssignmentCreateParameters

    cls: Any = RoleAssignmentCreateParameters
    return cls(role_definition_id=role_definition_id, principal_id=principal_id,
               principal_type=principal_type)


def k8s_id(cluster_id: str, kind: str, namespace: str, name: str) -> str:
    return f"{cluster_id}/k8s/{kind}/{namespace}/{name}"


def evidence_data(finding: Finding, key: str) -> Any:
    """The first evidence ``data[key]`` of a finding (checks expose their facts there)."""
    for ev in finding.evidence:
        if key in ev.data:
            return ev.data[key]
    return None


# -- Graph password credentials ----------------------------------------------------------------
@dataclass(frozen=True)
class NewPassword:
    key_id: str
    hint: str
    end: str
    secret: str = field(repr=False)  # never logged, never recorded

    @property
    def public(self) -> dict[str, str]:
        return {"key_id": self.key_id, "hint": self.hint, "end": self.end}


def add_password(reads: Reads, app_object_id: str, display_name: str) -> NewPassword:
    from msgraph.generated.applications.item.add_password.add_password_post_request_body import (
        AddPasswordPostRequestBody,
    )
    from msgraph.generated.models.password_credential import PasswordCredential

    g = reads.clients.graph()
    cred = asyncio.run(g.applications.by_application_id(app_object_id).add_password.post(
        AddPasswordPostRequestBody(password_credential=PasswordCredential(
            display_name=display_name))))
    if cred is None or not cred.secret_text:
        raise RuntimeError(f"Graph addPassword on application {app_object_id} returned no secret")
    return NewPassword(str(cred.key_id), cred.hint or "",
                       cred.end_date_time.isoformat() if cred.end_date_time else "",
                       cred.secret_text)


def remove_password(reads: Reads, app_object_id: str, key_id: str) -> None:
    from msgraph.generated.applications.item.remove_password.remove_password_post_request_body import (  # noqa: E501
        RemovePasswordPostRequestBody,
    )

    g = reads.clients.graph()
    asyncio.run(g.applications.by_application_id(app_object_id).remove_password.post(
        RemovePasswordPostRequestBody(key_id=uuid.UUID(key_id))))


# -- docker config pull secrets ----------------------------------------------------------------
def host_of(server: str) -> str:
    return server.lower().removeprefix("https://").removeprefix("http://").split("/")[0]


def docker_auths(secret: Any) -> dict[str, Any]:
    data = (secret.data or {}).get(".dockerconfigjson")
    return dict(json.loads(base64.b64decode(data)).get("auths", {})) if data else {}


def entry_password(secret: Any, host: str) -> tuple[str, str] | None:
    """(username, password) of the secret's entry for ``host``."""
    for server, e in docker_auths(secret).items():
        if host_of(server) == host.lower():
            user, password = e.get("username"), e.get("password")
            if (not user or password is None) and e.get("auth"):
                user, _, password = base64.b64decode(e["auth"]).decode().partition(":")
            return user or "", password or ""
    return None


def with_password(secret: Any, host: str, username: str, password: str) -> dict[str, str]:
    """The secret's new ``data`` with ``host``'s entry holding ``username:password`` (what
    ``kubectl create secret docker-registry`` writes); other entries are kept."""
    auths = docker_auths(secret)
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    for server in [s for s in auths if host_of(s) == host.lower()] or [host]:
        auths[server] = {**auths.get(server, {}), "username": username, "password": password,
                         "auth": token}
    doc = json.dumps({"auths": auths}).encode()
    return {".dockerconfigjson": base64.b64encode(doc).decode()}
