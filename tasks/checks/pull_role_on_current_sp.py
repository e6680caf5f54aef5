"""pull-role-on-current-sp — the pull role points at a service principal the cluster no longer uses.

Failure mode: a service-principal cluster's SP was replaced (``az aks update-credentials
--reset-service-principal``, or a new cluster reusing an old grant), but AcrPull — or any role
granting pull through a registry-specific action — was only ever given to the previous SP. The
current SP (``servicePrincipalProfile.clientId``, appId → objectId via Graph) signs in fine and
ACR refuses it.

Kubelet text: ``failed to fetch oauth token: … 401 Unauthorized`` (credentials were sent).

How "previous" is recognised: ARM and Graph keep no link between an old and a new cluster SP, so
any *other* application service principal holding a registry-specific pull grant at the registry's
scope chain while the current SP holds none is reported (bare ``*`` roles such as Owner or
Contributor are management grants, not someone's pull grant, and are ignored). The fixes' plans
show the principal before anything is removed.

PASS when the current SP holds a pull-capable role; NOT_APPLICABLE on managed-identity clusters,
when the pod pulls with a pull secret for the registry, when no other SP holds one (then
``kubelet-identity-has-pull-role`` reports the missing role), or when the registry is not visible.

Evidence: the cluster, the current SP, the stale assignments (role, scope, principal).
Suggests ``grant-pull-role`` (for the current SP) and ``remove-stale-role-assignment``.
"""

from __future__ import annotations

from tasks.checks import _identity_reads as ir
from tasks.checks import _rbac
from tasks.contract import Category, Evidence, Finding, Group, Status, Target
from tasks.reads import Reads
from tasks.registry import check

NAME = "pull-role-on-current-sp"
FIXES = ("grant-pull-role", "remove-stale-role-assignment")


@check(NAME, group=Group.IDENTITY, suggests=FIXES,
       permissions=("Microsoft.ContainerService/managedClusters/read",
                    "Microsoft.Authorization/roleAssignments/read",
                    "Microsoft.Authorization/roleDefinitions/read", "Graph Application.Read.All"),
       categories=(Category.UNAUTHORIZED,))
def pull_role_on_current_sp(target: Target, reads: Reads) -> Finding:
    def result(status: Status, summary: str, *evidence: Evidence, **kw: object) -> Finding:
        return Finding(check=NAME, status=status, summary=summary, group=Group.IDENTITY,
                       evidence=evidence, **kw)  # type: ignore[arg-type]

    if target.registry_id is None:
        return result(Status.NOT_APPLICABLE, "the image's registry is not visible")
    principal = ir.pulling_principal(reads, target)
    if principal.kind != "service-principal":
        return result(Status.NOT_APPLICABLE, "managed-identity cluster: no service principal")
    if ir.pull_creds(reads, target):
        return result(Status.NOT_APPLICABLE, "the pod pulls with an image pull secret")
    if principal.object_id is None:
        raise LookupError(f"the cluster's appId {principal.client_id} has no service principal")
    reg = ir.registry(reads, target.registry_id)
    action, data, role = _rbac.pull_action(reg)
    ev = [Evidence(source=f"ARM GET {target.cluster.id}", detail=f"current SP: {principal.label}",
                   data={"object_id": principal.object_id, "app_id": principal.client_id})]
    grant = _rbac.holds(reads, principal.object_id, reg.id, action, data,
                        groups=lambda oid: ir.groups_of(reads, oid))
    if grant is not None:
        return result(Status.PASS, f"the current SP holds {grant.role_name} at {grant.scope}", *ev)
    others = ir.other_app_holders(reads, reg.id, action, data, principal.object_id)
    if not others:
        return result(Status.NOT_APPLICABLE, "no other SP holds a pull role on the registry "
                      "(kubelet-identity-has-pull-role reports the missing role)", *ev)
    stale = [{"principal_id": g.principal_id, "display_name": sp.display_name,
              "app_id": sp.app_id, "role": g.role_name, "scope": g.scope} for g, sp in others]
    ev.append(Evidence(source=f"ARM GET {reg.id}/providers/Microsoft.Authorization/roleAssignments"
                       " + Graph GET servicePrincipals/{id}",
                       detail="pull grants on other SPs: " + ", ".join(
                           f"{s['display_name']} ({s['role']} at {s['scope']})" for s in stale),
                       data={"stale": stale}))
    holders = ", ".join(str(s["display_name"]) for s in stale)
    return result(Status.FAIL, f"{role} on {reg.name} is held by {holders}"
                  f", not by the cluster's current SP {principal.object_id}", *ev, suggests=FIXES,
                  root_cause=f"pull-role:{principal.object_id}@{reg.id.lower()}")
