"""grant-pull-role — give the cluster's pulling principal the pull role on the registry.

What it changes: one role assignment at the registry's scope, for the principal the node signs
in as (the kubelet identity's objectId; on a service-principal cluster the objectId of the SP it
uses *now*), with AcrPull — or Container Registry Repository Reader on a registry in ABAC mode
(``roleAssignmentMode: AbacRepositoryPermissions``), which ignores AcrPull.

Why it is safe: it only adds read access to one registry for an identity that already pulls
from it by design; nothing is removed. The assignment's name is uuid5(scope, principal, role), so
a second apply finds the first one's assignment (and ``RoleAssignmentExists`` — the same grant
under another name — is success too).

Propagation: ARM lists the assignment at once but honours it only after a delay (minutes in
Azure). apply returns when ARM has accepted the write; the flow's verification polls (bounded)
for the pods to pull. A re-plan during that window returns None, because the assignment exists.

How it is undone: rollback deletes the assignment this run created (none, when it existed).
"""

from __future__ import annotations

from typing import ClassVar

from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.mgmt.authorization import AuthorizationManagementClient

from tasks.checks import _identity_reads as ir
from tasks.checks import _rbac
from tasks.contract import Finding, Target
from tasks.fix import RBAC_ADMIN, REGISTRY, Change, Fix, FixPlan, FixResult, Need, Risk, changed, fix
from tasks.fixes._idfix import role_assignment, stable_name
from tasks.reads import Reads, parse_id

ROLE_NAMES = {_rbac.ACR_PULL: "AcrPull", _rbac.REPO_READER: "Container Registry Repository Reader"}


@fix
class GrantPullRole(Fix):
    name: ClassVar[str] = "grant-pull-role"
    risk: ClassVar[Risk] = Risk.LOW
    resolves: ClassVar[tuple[str, ...]] = ("kubelet-identity-has-pull-role", "pull-role-on-current-sp")
    permissions: ClassVar[tuple[Need, ...]] = (
        Need("Microsoft.Authorization/roleAssignments/write",
             changed("Microsoft.ContainerRegistry/registries", REGISTRY), RBAC_ADMIN),
        Need("Microsoft.Authorization/roleAssignments/delete",
             changed("Microsoft.ContainerRegistry/registries", REGISTRY), RBAC_ADMIN))
    propagates: ClassVar[str] = "Azure honours a new role assignment minutes after the write " \
                                "(up to 10 minutes, sometimes more)"
    reversible: ClassVar[bool] = True

    def plan(self, target: Target, finding: Finding, reads: Reads) -> FixPlan | None:
        if target.registry_id is None:
            return None
        principal = ir.pulling_principal(reads, target)
        if principal.object_id is None:
            return None  # the SP is gone from the tenant: nothing to grant to
        reg = ir.registry(reads, target.registry_id)
        action, data, _ = _rbac.pull_action(reg)
        if _rbac.holds(reads, principal.object_id, reg.id, action, data,
                       groups=lambda oid: ir.groups_of(reads, oid)) is not None:
            return None
        role = _rbac.REPO_READER if data else _rbac.ACR_PULL
        sub = parse_id(reg.id)["subscription"]
        name = stable_name(reg.id, principal.object_id, role)
        params = {"scope": reg.id, "name": name, "principal_id": principal.object_id,
                  "role_definition_id": f"/subscriptions/{sub}/providers/Microsoft.Authorization/"
                                        f"roleDefinitions/{role}"}
        after = {"principal_id": principal.object_id, "principal": principal.kind,
                 "role": ROLE_NAMES[role], "scope": reg.id}
        return FixPlan(
            fix=self.name, cluster=target.cluster, resolves=self.resolves, risk=self.risk,
            reversible=self.reversible,
            summary=f"grant {ROLE_NAMES[role]} on {reg.name} to the cluster's {principal.label}",
            changes=(Change(resource=f"{reg.id}/providers/Microsoft.Authorization/"
                                     f"roleAssignments/{name}", operation="create",
                            api="ARM PUT roleAssignments", after=after),),
            params=params, pods=(f"{target.pod.namespace}/{target.pod.name}",) if target.pod else ())

    def _client(self, reads: Reads, scope: str) -> AuthorizationManagementClient:
        return reads.clients.arm(AuthorizationManagementClient, parse_id(scope)["subscription"])

    def apply(self, plan: FixPlan, reads: Reads) -> FixResult:
        p = plan.params
        auth = self._client(reads, p["scope"])
        try:
            auth.role_assignments.get(p["scope"], p["name"])
            return FixResult(fix=self.name, plan_hash=plan.hash, applied=(), data={"existed": True})
        except ResourceNotFoundError:
            pass
        try:
            auth.role_assignments.create(p["scope"], p["name"], role_assignment(
                p["role_definition_id"], p["principal_id"]))
        except HttpResponseError as exc:
            code = getattr(exc.error, "code", None) if exc.error else None
            if exc.status_code == 409 and code == "RoleAssignmentExists":
                # the same grant under another name: the principal may pull; we created nothing
                return FixResult(fix=self.name, plan_hash=plan.hash, applied=(),
                                 data={"existed": True})
            raise
        return FixResult(fix=self.name, plan_hash=plan.hash, applied=plan.changes,
                         data={"assignment_id": plan.changes[0].resource})

    def rollback(self, result: FixResult, reads: Reads) -> None:
        if not result.applied:
            return  # this run created nothing
        assignment_id = result.data["assignment_id"]
        auth = self._client(reads, assignment_id)
        auth.role_assignments.delete_by_id(assignment_id)  # 204 when already gone
