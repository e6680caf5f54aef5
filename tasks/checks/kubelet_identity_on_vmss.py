"""kubelet-identity-on-vmss — a node pool's scale set lost the kubelet identity.

Failure mode: someone (a script, a policy, a manual ``az vmss identity remove``) removed the
kubelet's user-assigned identity from a node pool's VMSS. IMDS on those nodes returns no token for
it, the credential provider has nothing to exchange, and containerd falls back to an anonymous
token that ACR refuses — even though the role assignment is fine.

Kubelet text: ``failed to fetch anonymous token: … 401 Unauthorized`` on a managed-identity
cluster whose kubelet identity holds the pull role.

Evidence: the kubelet identity's resource id (ARM GET cluster), each scale set of the node
resource group (ARM list virtualMachineScaleSets) and whether its ``identity.userAssignedIdentities``
carries it (keys compared case-insensitively, as ARM ids are). Scale sets without the
``aks-managed-poolName`` tag are not node pools and are skipped. NOT_APPLICABLE on
service-principal clusters. Suggests ``reconcile-cluster`` (PUT the cluster's model back = ``az aks
update``; editing the VMSS directly is unsupported).
"""

from __future__ import annotations

from tasks.checks import _identity_reads as ir
from tasks.checks._rbac import guarded
from tasks.contract import Category, Evidence, Finding, Group, Status, Target
from tasks.reads import Reads
from tasks.registry import check

NAME = "kubelet-identity-on-vmss"


@check(NAME, group=Group.IDENTITY, suggests=("reconcile-cluster",),
       permissions=("Microsoft.ContainerService/managedClusters/read",
                    "Microsoft.Compute/virtualMachineScaleSets/read"),
       categories=(Category.UNAUTHORIZED,), cluster_wide=True)
def kubelet_identity_on_vmss(target: Target, reads: Reads) -> Finding:
    from tasks.lazy import importing

    with importing():
        from azure.mgmt.compute import ComputeManagementClient
    def result(status: Status, summary: str, *evidence: Evidence, **kw: object) -> Finding:
        return Finding(check=NAME, status=status, summary=summary, group=Group.IDENTITY,
                       evidence=evidence, **kw)  # type: ignore[arg-type]

    mc = ir.cluster(reads, target)
    kubelet = (mc.identity_profile or {}).get("kubeletidentity")
    if kubelet is None:
        return result(Status.NOT_APPLICABLE, "service-principal cluster: no kubelet identity")
    node_rg, sub = mc.node_resource_group, target.cluster.subscription_id
    scope = f"/subscriptions/{sub}/resourceGroups/{node_rg}"
    compute = reads.clients.arm(ComputeManagementClient, sub)
    sets = reads.memo(("vmss", scope.lower()), lambda: guarded(
        f"scale sets in {scope}", "Microsoft.Compute/virtualMachineScaleSets/read", "Reader")(
        lambda: list(compute.virtual_machine_scale_sets.list(node_rg))))
    pools = [s for s in sets if "aks-managed-poolName" in (s.tags or {})] or sets
    if not pools:
        raise LookupError(f"no node-pool scale sets in {scope}: cannot tell where the kubelet "
                          "identity should be")
    wanted = kubelet.resource_id.lower()
    missing, rows = [], []
    for s in pools:
        keys = {k.lower() for k in ((s.identity.user_assigned_identities if s.identity else None)
                                    or {})}
        rows.append({"vmss": s.name, "pool": (s.tags or {}).get("aks-managed-poolName"),
                     "has_kubelet_identity": wanted in keys})
        if wanted not in keys:
            missing.append(s.name)
    ev = [Evidence(source=f"ARM GET {target.cluster.id}",
                   detail=f"kubelet identity {kubelet.resource_id}",
                   data={"resource_id": kubelet.resource_id, "object_id": kubelet.object_id}),
          Evidence(source=f"ARM GET {scope}/providers/Microsoft.Compute/virtualMachineScaleSets",
                   detail=f"{len(pools) - len(missing)}/{len(pools)} node-pool scale sets carry it",
                   data={"scale_sets": rows})]
    if missing:
        return result(Status.FAIL, f"the kubelet identity is missing from scale set(s) "
                      f"{', '.join(missing)} in {node_rg}", *ev, suggests=("reconcile-cluster",),
                      root_cause=f"kubelet-identity-vmss:{target.cluster.id.lower()}")
    return result(Status.PASS, f"every node-pool scale set in {node_rg} carries the kubelet identity",
                  *ev)
