"""kubelet-identity-has-pull-role — the node's pulling principal holds no role that lets it pull.

Failure mode: the kubelet identity (managed-identity clusters: ``identityProfile.kubeletidentity``;
service-principal clusters: the SP of ``servicePrincipalProfile.clientId``, appId → objectId via
Graph) holds no role whose permissions allow ``Microsoft.ContainerRegistry/registries/pull/read``
at the registry or a parent scope. Custom roles count: wildcards and notActions are evaluated per
permission block, and roles reached through a group count. A registry in ABAC mode
(``roleAssignmentMode: AbacRepositoryPermissions``) honours only the data action
``…/registries/repositories/content/read`` (Container Registry Repository Reader): AcrPull alone
fails there.

Kubelet text: ``failed to fetch anonymous token: … 401 Unauthorized`` (MI: the exchange was refused,
containerd fell back to anonymous) or ``failed to fetch oauth token: … 401 Unauthorized`` (SP).

Not applicable when the pod pulls with an image pull secret for this registry (the pull-secret
checks own that path), or when the registry is not visible. On an SP cluster whose pull role sits
on another application SP only, ``pull-role-on-current-sp`` owns the finding (one cause, one
finding) and this check defers to it.

Evidence: the cluster (ARM GET), the principal, the registry's mode, the role assignments at the
registry's scope chain (ARM list roleAssignments) and the roles the principal does hold.
Suggests ``grant-pull-role``.
"""

from __future__ import annotations

from tasks.checks import _identity_reads as ir
from tasks.checks import _rbac
from tasks.contract import Category, Evidence, Finding, Group, Status, Target
from tasks.reads import Reads
from tasks.registry import check

NAME = "kubelet-identity-has-pull-role"


@check(NAME, group=Group.IDENTITY, suggests=("grant-pull-role",),
       permissions=("Microsoft.ContainerService/managedClusters/read",
                    "Microsoft.ContainerRegistry/registries/read",
                    "Microsoft.Authorization/roleAssignments/read",
                    "Microsoft.Authorization/roleDefinitions/read"),
       categories=(Category.UNAUTHORIZED,))
def kubelet_identity_has_pull_role(target: Target, reads: Reads) -> Finding:
    def result(status: Status, summary: str, *evidence: Evidence, **kw: object) -> Finding:
        return Finding(check=NAME, status=status, summary=summary, group=Group.IDENTITY,
                       evidence=evidence, **kw)  # type: ignore[arg-type]

    if target.registry_id is None:
        return result(Status.NOT_APPLICABLE, f"{target.registry_host or 'the image host'} is no "
                      "registry pullfix can see")
    creds = ir.pull_creds(reads, target)
    if creds:
        names = sorted({c.secret for c in creds})
        return result(Status.NOT_APPLICABLE, f"the pod pulls from {target.registry_host} with "
                      f"image pull secret(s) {', '.join(names)}; the pull-secret checks apply",
                      Evidence(source="k8s get secrets", detail=f"{len(creds)} matching entries",
                               data={"secrets": names}))
    principal = ir.pulling_principal(reads, target)
    reg = ir.registry(reads, target.registry_id)
    action, data, role = _rbac.pull_action(reg)
    ev = [Evidence(source=f"ARM GET {target.cluster.id}", detail=f"pulls as {principal.label}",
                   data={"kind": principal.kind, "object_id": principal.object_id,
                         "client_id": principal.client_id}),
          Evidence(source=f"ARM GET {reg.id}",
                   detail=f"role assignment mode {_rbac.mode(reg)}: "
                          f"pulling needs {action} ({role})")]
    if principal.object_id is None:
        raise LookupError(f"the cluster's service principal appId {principal.client_id} has no "
                          "service principal in the tenant (Graph 404): the cluster cannot sign in")
    grant = _rbac.holds(reads, principal.object_id, reg.id, action, data,
                        groups=lambda oid: ir.groups_of(reads, oid))
    source = f"ARM GET {reg.id}/providers/Microsoft.Authorization/roleAssignments"
    if grant is not None:
        return result(Status.PASS, f"{principal.kind} {principal.object_id} holds {grant.role_name} "
                      f"at {grant.scope}", *ev,
                      Evidence(source=source, detail=f"{grant.role_name} grants {action}",
                               data={"role": grant.role_name, "scope": grant.scope}))
    held = _rbac.assigned_roles(reads, reg.id, principal.object_id)
    ev.append(Evidence(source=source, detail="roles held at the registry's scope chain: "
                       + (", ".join(held) or "none"), data={"roles": held}))
    if principal.kind == "service-principal":
        others = ir.other_app_holders(reads, reg.id, action, data, principal.object_id)
        if others:
            holders = ", ".join(f"{sp.display_name} ({g.role_name})" for g, sp in others)
            return result(Status.NOT_APPLICABLE, f"the current SP lacks the pull role but other "
                          f"SPs hold it ({holders}): see pull-role-on-current-sp", *ev)
    why = (" — it holds AcrPull, which an ABAC-mode registry does not honour" if data and any(
        h.startswith("AcrPull ") for h in held) else "")
    return result(Status.FAIL, f"{principal.kind} {principal.object_id} has no role allowing "
                  f"{action} on {reg.name}{why}", *ev, suggests=("grant-pull-role",),
                  root_cause=f"pull-role:{principal.object_id}@{reg.id.lower()}")
