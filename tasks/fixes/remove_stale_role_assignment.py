"""remove-stale-role-assignment — delete the pull grant a service-principal cluster's previous SP
still holds on the registry.

What it changes: deletes the role assignment(s) ``pull-role-on-current-sp`` reported — a
registry-specific pull role at the registry's scope chain held by another application SP.

Order: this fix comes *after* ``grant-pull-role`` (the check suggests them in that order). It is
planned only when the cluster's current SP holds pull rights already, or when the finding
suggests grant-pull-role first (the flow applies the finding's fixes in ``suggests`` order);
apply re-checks with fresh reads and refuses while the current SP cannot pull, so a cluster is
never left without a grant it had.

Why it is safe (sign-off): a stale grant is standing access for a credential nobody uses. The plan
names the principal, role and scope; an SP that is still the current SP of any visible cluster is
never planned for removal (it is not stale, whatever ARM shows).

How it is undone: rollback recreates each assignment with the same name, role, scope and
principal (``before`` of each change holds exactly those).
"""

from __future__ import annotations

from typing import Any, ClassVar

from azure.core.exceptions import ResourceNotFoundError
from azure.mgmt.authorization import AuthorizationManagementClient
from azure.mgmt.containerservice import ContainerServiceClient

from tasks.checks import _identity_reads as ir
from tasks.checks import _rbac
from tasks.contract import Finding, Target
from tasks.fix import RBAC_ADMIN, Change, Fix, FixPlan, FixResult, Need, Risk, any_changed, fix
from tasks.fixes._idfix import evidence_data, fresh, role_assignment
from tasks.reads import Reads, parse_id


def _cluster_app_ids(reads: Reads) -> set[str]:
    """The appIds every visible SP cluster signs in with now."""
    def load() -> set[str]:
        out = set()
        for sub, _ in reads.subscriptions():
            for mc in reads.clients.arm(ContainerServiceClient, sub).managed_clusters.list():
                spp = mc.service_principal_profile
                if spp and spp.client_id and spp.client_id != "msi":
                    out.add(spp.client_id.lower())
        return out
    return reads.memo(("fix.cluster-app-ids",), load)


def _current_can_pull(reads: Reads, target: Target) -> bool:
    principal = ir.pulling_principal(reads, target)
    reg = ir.registry(reads, target.registry_id or "")
    action, data, _ = _rbac.pull_action(reg)
    return principal.object_id is not None and _rbac.holds(
        reads, principal.object_id, reg.id, action, data,
        groups=lambda oid: ir.groups_of(reads, oid)) is not None


@fix
class RemoveStaleRoleAssignment(Fix):
    name: ClassVar[str] = "remove-stale-role-assignment"
    risk: ClassVar[Risk] = Risk.MEDIUM
    resolves: ClassVar[tuple[str, ...]] = ("pull-role-on-current-sp",)
    permissions: ClassVar[tuple[Need, ...]] = (
        Need("Microsoft.Authorization/roleAssignments/delete",
             any_changed("the assignment's scope"), RBAC_ADMIN),
        Need("Microsoft.Authorization/roleAssignments/write",
             any_changed("the assignment's scope"), RBAC_ADMIN))
    reversible: ClassVar[bool] = True

    def plan(self, target: Target, finding: Finding, reads: Reads) -> FixPlan | None:
        stale = evidence_data(finding, "stale") or []
        if target.registry_id is None or not stale:
            return None
        order = list(finding.suggests)
        grant_first = self.name in order and "grant-pull-role" in order[: order.index(self.name)]
        if not (grant_first or _current_can_pull(reads, target)):
            return None
        in_use = _cluster_app_ids(reads)
        wanted = {(s["principal_id"].lower(), s["scope"].lower()) for s in stale
                  if (s.get("app_id") or "").lower() not in in_use}
        reg = ir.registry(reads, target.registry_id)
        action, data, _ = _rbac.pull_action(reg)
        changes = []
        for ra in reads.role_assignments(reg.id):
            if (ra.principal_id.lower(), (ra.scope or "").lower()) not in wanted:
                continue
            rd = reads.role_definition(ra.role_definition_id)
            if not _rbac.permits(rd.permissions, action, data):
                continue
            before = {"name": ra.name, "scope": ra.scope, "principal_id": ra.principal_id,
                      "principal_type": str(ra.principal_type or "ServicePrincipal"),
                      "role_definition_id": ra.role_definition_id, "role": rd.role_name}
            changes.append(Change(resource=ra.id, operation="delete",
                                  api="ARM DELETE roleAssignments", before=before))
        if not changes:
            return None
        names = ", ".join(f"{c.before['role']} of {c.before['principal_id']}"  # type: ignore[index]
                          for c in changes)
        return FixPlan(
            fix=self.name, cluster=target.cluster, resolves=self.resolves, risk=self.risk,
            reversible=self.reversible, changes=tuple(changes),
            summary=f"remove the previous SP's pull grant(s) on {reg.name}: {names} "
                    "(after grant-pull-role for the current SP)",
            params={"target": target.model_dump(mode="json")},
            pods=(f"{target.pod.namespace}/{target.pod.name}",) if target.pod else ())

    def _client(self, resource_id: str, reads: Reads) -> Any:
        return reads.clients.arm(AuthorizationManagementClient,
                                 parse_id(resource_id)["subscription"])

    def apply(self, plan: FixPlan, reads: Reads) -> FixResult:
        target = Target.model_validate(plan.params["target"])
        now = fresh(reads)
        if not _current_can_pull(now, target):
            raise RuntimeError("the cluster's current service principal holds no pull role on the "
                               "registry yet: apply grant-pull-role first; nothing was removed")
        done = []
        for change in plan.changes:
            auth = self._client(change.resource, reads)
            try:
                auth.role_assignments.get_by_id(change.resource)
            except ResourceNotFoundError:
                continue  # already gone: nothing for this run to undo
            auth.role_assignments.delete_by_id(change.resource)
            done.append(change)
        return FixResult(fix=self.name, plan_hash=plan.hash, applied=tuple(done))

    def rollback(self, result: FixResult, reads: Reads) -> None:
        for change in result.applied:
            b = change.before or {}
            auth = self._client(change.resource, reads)
            auth.role_assignments.create(b["scope"], b["name"], role_assignment(
                b["role_definition_id"], b["principal_id"], b["principal_type"]))
