"""rotate-pull-secret-sp — a new password for the service principal an image pull secret holds,
written into that secret.

What it changes: per application named by a failing pull secret entry, Graph ``addPassword``
(credential ``pullfix-<plan hash prefix>``); then each of its secrets' ``.dockerconfigjson``
entry for the registry gets the same username and the new password (k8s PATCH secret). The
kubelet reads the secret at every pull, so the pods heal at their next attempt
(``restart-failing-pods`` may follow to skip the back-off).

Secrets: the new password lives only in local variables between Graph and the k8s write; the
plan says "new password credential", the result keeps keyId/hint/end. If a secret write fails,
the new credential is removed again before the error propagates.

Idempotence: an entry whose current password already signs in (the registry's token endpoint,
as pull-secret-sp-valid tests it) is left alone, so a second apply writes nothing.

How it is undone: not reversible (the old password expired; other holders of the old secret
keep whatever they had — pullfix removes no credential).
"""

from __future__ import annotations

from typing import Any, ClassVar

from kubernetes import client as k8s

from tasks.checks import _identity_reads as ir
from tasks.checks.pull_secret_sp_valid import token_status
from tasks.contract import Finding, Status, Target
from tasks.fix import Change, Fix, FixPlan, FixResult, Risk, fix
from tasks.fixes._idfix import (
    add_password,
    entry_password,
    fresh,
    k8s_id,
    remove_password,
    with_password,
)
from tasks.reads import Reads

CHECK = "pull-secret-sp-valid"


def _works(reads: Reads, api: Any, p: dict[str, Any], entry: dict[str, str]) -> bool:
    ns, name = entry["secret"].split("/", 1)
    pair = entry_password(api.read_namespaced_secret(name, ns), p["host"])
    return pair is not None and pair[0] == entry["username"] and token_status(
        reads, p["host"], p["repo"], pair[0], pair[1]) == 200


@fix
class RotatePullSecretSp(Fix):
    name: ClassVar[str] = "rotate-pull-secret-sp"
    risk: ClassVar[Risk] = Risk.HIGH
    resolves: ClassVar[tuple[str, ...]] = (CHECK,)
    other_rights: ClassVar[str] = "Graph addPassword on the application (Application.ReadWrite." \
                                  "OwnedBy as an owner, or Application.ReadWrite.All); " \
                                  "Kubernetes patch secrets"
    propagates: ClassVar[str] = "a new client secret is accepted by Entra within minutes"
    reversible: ClassVar[bool] = False

    def plan(self, target: Target, finding: Finding, reads: Reads) -> FixPlan | None:
        if finding.status != Status.FAIL or target.pod is None or not target.registry_host:
            return None
        p = {"host": target.registry_host, "repo": ir.image_repository(target.pod.image)}
        api = k8s.CoreV1Api(reads.kube(target.cluster))
        entries, changes = [], []
        for c in ir.pull_creds(reads, target):
            if not ir.GUID.match(c.username) or c.username == ir.TOKEN_USER:
                continue
            app = ir.app_by_app_id(reads, c.username)
            if app is None:
                continue  # a deleted application cannot be given a password
            entry = {"secret": c.secret, "username": c.username, "app_object_id": app.id}
            if _works(reads, api, p, entry):
                continue
            entries.append(entry)
            ns, name = c.secret.split("/", 1)
            if not any(e["app_object_id"] == app.id for e in entries[:-1]):
                changes.append(Change(resource=f"graph:/applications/{app.id}", operation="action",
                                      api="Graph addPassword",
                                      after={"password_credential": "new password credential"}))
            changes += [Change(resource=k8s_id(target.cluster.id, "Secret", ns, name),
                               operation="update", api="k8s PATCH secret",
                               before={"server": c.server, "username": c.username,
                                       "password_state": "refused"},
                               after={"server": c.server, "username": c.username,
                                      "password_state": "the new password credential"})]
        if not entries:
            return None
        return FixPlan(
            fix=self.name, cluster=target.cluster, resolves=self.resolves, risk=self.risk,
            reversible=self.reversible, changes=tuple(changes),
            summary="new password(s) for " + ", ".join(sorted({e["username"] for e in entries}))
                    + " written into " + ", ".join(e["secret"] for e in entries),
            params={**p, "entries": entries}, pods=(f"{target.pod.namespace}/{target.pod.name}",))

    def apply(self, plan: FixPlan, reads: Reads) -> FixResult:
        p, now = plan.params, fresh(reads)
        api = k8s.CoreV1Api(reads.kube(plan.cluster))
        todo = [e for e in p["entries"] if not _works(now, api, p, e)]
        applied: list[Change] = []
        data: dict[str, Any] = {}
        for app_object_id in dict.fromkeys(e["app_object_id"] for e in todo):
            new = add_password(reads, app_object_id, f"pullfix-{plan.hash[:12]}")
            try:
                for e in (e for e in todo if e["app_object_id"] == app_object_id):
                    ns, name = e["secret"].split("/", 1)
                    secret = api.read_namespaced_secret(name, ns)
                    api.patch_namespaced_secret(name, ns, {"data": with_password(
                        secret, p["host"], e["username"], new.secret)})
                    applied.append(Change(resource=k8s_id(plan.cluster.id, "Secret", ns, name),
                                          operation="update", api="k8s PATCH secret",
                                          after={"username": e["username"],
                                                 "password_key_id": new.key_id}))
            except Exception:
                remove_password(reads, app_object_id, new.key_id)
                raise
            applied.insert(0, Change(resource=f"graph:/applications/{app_object_id}",
                                     operation="action", api="Graph addPassword",
                                     after={"password_credential": new.public}))
            data[app_object_id] = new.public
        return FixResult(fix=self.name, plan_hash=plan.hash, applied=tuple(applied), data=data)
