"""reconcile-cluster — put the cluster's current model back (what ``az aks update`` with no
arguments does), so AKS puts every node pool back into the state it wants: the kubelet
identity back on each node-pool scale set.

What it changes: one ``PUT managedClusters`` (``begin_create_or_update``, an LRO) with the model
just read by GET — no property changes. Editing the scale sets directly is unsupported by AKS
and never done.

Why sign-off (medium): a reconcile touches every node pool's scale set (an update, not a
reimage); the PUT is skipped when every scale set already carries the identity, so a second
apply writes nothing.

How it is undone: in the strict sense it is not reversible, and there is nothing to undo — the
PUT carries the model the cluster already had; what it restores (the identity on the scale
sets) is AKS's own desired state. ``reversible = False``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from azure.mgmt.containerservice import ContainerServiceClient

from tasks.contract import Finding, Target
from tasks.fix import AKS_WRITER, CLUSTER, Change, Fix, FixPlan, FixResult, Need, Risk, changed, fix
from tasks.fixes._idfix import check, evidence_data, fresh
from tasks.reads import Reads

CHECK = "kubelet-identity-on-vmss"


def _missing(target: Target, reads: Reads) -> list[str] | None:
    """Scale sets lacking the kubelet identity, per the check; None when it does not apply."""
    finding = check(CHECK, target, reads)
    rows = evidence_data(finding, "scale_sets")
    if rows is None:
        return None
    return sorted(r["vmss"] for r in rows if not r["has_kubelet_identity"])


@fix
class ReconcileCluster(Fix):
    name: ClassVar[str] = "reconcile-cluster"
    risk: ClassVar[Risk] = Risk.MEDIUM
    resolves: ClassVar[tuple[str, ...]] = (CHECK,)
    permissions: ClassVar[tuple[Need, ...]] = (
        Need("Microsoft.ContainerService/managedClusters/write",
             changed("Microsoft.ContainerService/managedClusters", CLUSTER), AKS_WRITER),)
    propagates: ClassVar[str] = "the nodes get a token for the re-attached kubelet identity " \
                                "once the reconcile has rolled the scale sets"
    reversible: ClassVar[bool] = False

    def plan(self, target: Target, finding: Finding, reads: Reads) -> FixPlan | None:
        missing = _missing(target, reads)
        if not missing:
            return None
        return FixPlan(
            fix=self.name, cluster=target.cluster, resolves=self.resolves, risk=self.risk,
            reversible=self.reversible,
            summary=f"PUT {target.cluster.name}'s current model back (az aks update) so AKS "
                    f"restores the kubelet identity on {', '.join(missing)}",
            changes=(Change(resource=target.cluster.id, operation="update",
                            api="ARM PUT managedClusters (current model, LRO)",
                            before={"scale_sets_without_kubelet_identity": missing},
                            after={"scale_sets_without_kubelet_identity": []}),),
            params={"target": Target(cluster=target.cluster).model_dump(mode="json")},
            pods=(f"{target.pod.namespace}/{target.pod.name}",) if target.pod else ())

    def apply(self, plan: FixPlan, reads: Reads) -> FixResult:
        ref = plan.cluster
        if not _missing(Target.model_validate(plan.params["target"]), fresh(reads)):
            return FixResult(fix=self.name, plan_hash=plan.hash, applied=())
        aks: Any = reads.clients.arm(ContainerServiceClient, ref.subscription_id)
        model = aks.managed_clusters.get(ref.resource_group, ref.name)
        aks.managed_clusters.begin_create_or_update(ref.resource_group, ref.name, model).result()
        return FixResult(fix=self.name, plan_hash=plan.hash, applied=plan.changes)
