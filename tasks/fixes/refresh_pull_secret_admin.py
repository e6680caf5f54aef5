"""refresh-pull-secret-admin — write the registry's current admin password into the pull
secrets that hold a stale one.

What it changes: per stale secret (``pull-secret-admin-valid``'s evidence), the
``.dockerconfigjson`` entry for the registry gets the admin username and the current first
password from ``listCredentials`` (k8s PATCH secret). A disabled admin user is not planned:
enabling it is a security decision, not a refresh.

Rollback choice: results never hold secrets, so the previous secret *data* is kept in
Kubernetes instead — a copy ``<name>-pullfix-backup`` (type Opaque, so nothing mistakes it for a
pull secret) in the same namespace, written before the patch. It holds the old, already
regenerated (so no longer accepted) password, nothing new. rollback writes the backup's data back
into the secret and deletes the backup; a successful run leaves the backup until rollback or a
person removes it.

Idempotence: a secret whose password equals a current admin password is left alone, so a
second apply writes nothing. Why sign-off in prod: it rewrites a credential workloads use.
"""

from __future__ import annotations

import hmac
from typing import Any, ClassVar

from azure.mgmt.containerregistry import ContainerRegistryManagementClient
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from tasks.clients import READ_ACTION_RETRY
from tasks.contract import ClusterRef, Finding, Status, Target
from tasks.fix import ACR_WRITER, REGISTRY, Change, Fix, FixPlan, FixResult, Need, Risk, fix, param
from tasks.fixes._idfix import entry_password, evidence_data, k8s_id, with_password
from tasks.reads import Reads, parse_id

CHECK = "pull-secret-admin-valid"
SUFFIX = "-pullfix-backup"


def _current(reads: Reads, registry_id: str) -> tuple[str, list[str]]:
    p = parse_id(registry_id)
    acr = reads.clients.arm(ContainerRegistryManagementClient, p["subscription"])
    creds = acr.registries.list_credentials(p["resource_group"], p["name"],
                                            retry_on_methods=READ_ACTION_RETRY)
    return creds.username or p["name"], [x.value or "" for x in creds.passwords or []]


def _is_current(secret: Any, host: str, passwords: list[str]) -> bool:
    pair = entry_password(secret, host)
    return pair is not None and any(hmac.compare_digest(pair[1].encode(), x.encode())
                                    for x in passwords)


@fix
class RefreshPullSecretAdmin(Fix):
    name: ClassVar[str] = "refresh-pull-secret-admin"
    risk: ClassVar[Risk] = Risk.MEDIUM
    resolves: ClassVar[tuple[str, ...]] = (CHECK,)
    permissions: ClassVar[tuple[Need, ...]] = (
        Need("Microsoft.ContainerRegistry/registries/listCredentials/action",
             param("registry_id", REGISTRY), ACR_WRITER),)
    other_rights: ClassVar[str] = "Kubernetes patch secrets"
    reversible: ClassVar[bool] = True

    def plan(self, target: Target, finding: Finding, reads: Reads) -> FixPlan | None:
        if finding.status != Status.FAIL or not target.registry_id or not target.registry_host:
            return None
        if evidence_data(finding, "admin_user_enabled") is False:
            return None  # enabling the admin user is not a refresh
        api = k8s.CoreV1Api(reads.kube(target.cluster))
        _, passwords = _current(reads, target.registry_id)
        changes = []
        for ref in evidence_data(finding, "stale") or []:
            ns, name = ref.split("/", 1)
            if _is_current(api.read_namespaced_secret(name, ns), target.registry_host, passwords):
                continue
            changes.append(Change(resource=k8s_id(target.cluster.id, "Secret", ns, name),
                                  operation="update", api="k8s PATCH secret",
                                  before={"password_state": "stale admin password"},
                                  after={"password_state": "current admin password (listCredentials)",
                                         "backup": f"{ns}/{name}{SUFFIX}"}))
        if not changes:
            return None
        return FixPlan(
            fix=self.name, cluster=target.cluster, resolves=self.resolves, risk=self.risk,
            reversible=self.reversible, changes=tuple(changes),
            summary="write the current admin password of " + target.registry_host + " into "
                    + ", ".join(c.resource.rsplit("/k8s/Secret/", 1)[1] for c in changes),
            params={"registry_id": target.registry_id, "host": target.registry_host},
            pods=(f"{target.pod.namespace}/{target.pod.name}",) if target.pod else ())

    def apply(self, plan: FixPlan, reads: Reads) -> FixResult:
        p = plan.params
        api = k8s.CoreV1Api(reads.kube(plan.cluster))
        user, passwords = _current(reads, p["registry_id"])
        if not passwords:
            raise RuntimeError(f"{p['registry_id']} returned no admin password")
        applied = []
        for change in plan.changes:
            ns, name = change.resource.rsplit("/k8s/Secret/", 1)[1].split("/", 1)
            secret = api.read_namespaced_secret(name, ns)
            if _is_current(secret, p["host"], passwords):
                continue
            backup: Any = {"metadata": {"name": name + SUFFIX, "namespace": ns,
                                   "labels": {"pullfix/backup-of": name}},
                      "type": "Opaque", "data": dict(secret.data or {})}
            try:
                api.create_namespaced_secret(ns, backup)
            except ApiException as exc:
                if exc.status != 409:
                    raise
                api.replace_namespaced_secret(name + SUFFIX, ns, backup)  # this run's "before"
            api.patch_namespaced_secret(name, ns, {"data": with_password(
                secret, p["host"], user, passwords[0])})
            applied.append(change)
        backups = [(c.after or {})["backup"] for c in applied]
        return FixResult(fix=self.name, plan_hash=plan.hash, applied=tuple(applied),
                         data={"cluster": plan.cluster.model_dump(mode="json"), "backups": backups})

    def rollback(self, result: FixResult, reads: Reads) -> None:
        if not result.applied:
            return
        api = k8s.CoreV1Api(reads.kube(ClusterRef.model_validate(result.data["cluster"])))
        for change in result.applied:
            ns, name = change.resource.rsplit("/k8s/Secret/", 1)[1].split("/", 1)
            backup = api.read_namespaced_secret(name + SUFFIX, ns)
            api.patch_namespaced_secret(name, ns, {"data": dict(backup.data or {})})
            api.delete_namespaced_secret(name + SUFFIX, ns)
