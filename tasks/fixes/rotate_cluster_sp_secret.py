"""rotate-cluster-sp-secret — give a service-principal cluster a new, valid secret.

What it changes: Graph ``addPassword`` on the cluster SP's application (a new password
credential named ``pullfix-<plan hash prefix>``), then ``resetServicePrincipalProfile`` on the
cluster with the same appId and that secret (an LRO; what ``az aks update-credentials
--reset-service-principal`` does). A secret on the application alone heals nothing: the cluster
keeps signing in with the one it holds.

Secrets: the new password exists only in local variables between the Graph answer and the ARM
call; the plan says "new password credential", the result keeps its keyId, hint and end date.

Idempotence: a credential with this plan's name on the application means this plan already ran:
apply does nothing. If the reset fails after addPassword, the new credential is removed again
before the error propagates, so a re-run starts from the same state.

Why sign-off (high): every node re-authenticates; other consumers of the old secret keep working
(old credentials are not removed) — removing expired ones is left to the owner.

How it is undone: it is not reversible (the previous secret is expired and unknown to pullfix).
"""

from __future__ import annotations

from typing import Any, ClassVar

from azure.mgmt.containerservice import ContainerServiceClient
from azure.mgmt.containerservice.models import ManagedClusterServicePrincipalProfile

from tasks.checks import _identity_reads as ir
from tasks.contract import Finding, Target
from tasks.fix import AKS_WRITER, CLUSTER, Change, Fix, FixPlan, FixResult, Need, Risk, changed, fix
from tasks.fixes._idfix import add_password, failing, fresh, remove_password
from tasks.reads import Reads

CHECK = "cluster-sp-secret-valid"


@fix
class RotateClusterSpSecret(Fix):
    name: ClassVar[str] = "rotate-cluster-sp-secret"
    risk: ClassVar[Risk] = Risk.HIGH
    resolves: ClassVar[tuple[str, ...]] = (CHECK,)
    permissions: ClassVar[tuple[Need, ...]] = (
        Need("Microsoft.ContainerService/managedClusters/resetServicePrincipalProfile/action",
             changed("Microsoft.ContainerService/managedClusters", CLUSTER), AKS_WRITER),)
    other_rights: ClassVar[str] = "Graph addPassword on the application (Application.ReadWrite." \
                                  "OwnedBy as an owner, or Application.ReadWrite.All)"
    propagates: ClassVar[str] = "a new client secret is accepted by Entra within minutes"
    reversible: ClassVar[bool] = False

    def plan(self, target: Target, finding: Finding, reads: Reads) -> FixPlan | None:
        mc = ir.cluster(reads, target)
        if (mc.identity_profile or {}).get("kubeletidentity") is not None:
            return None
        app_id = mc.service_principal_profile.client_id
        app = ir.app_by_app_id(reads, app_id)
        if app is None or not failing(CHECK, target, reads):
            return None  # a deleted application cannot be given a secret; a valid one needs none
        app_res = f"graph:/applications/{app.id}"
        return FixPlan(
            fix=self.name, cluster=target.cluster, resolves=self.resolves, risk=self.risk,
            reversible=self.reversible,
            summary=f"add a password to {app.display_name} ({app_id}) and reset the cluster's "
                    "service principal profile with it",
            changes=(Change(resource=app_res, operation="action", api="Graph addPassword",
                            before={"valid_password_credentials": 0},
                            after={"password_credential": "new password credential"}),
                     Change(resource=target.cluster.id, operation="action",
                            api="ARM POST managedClusters/resetServicePrincipalProfile (LRO)",
                            before={"client_id": app_id, "secret_state": "expired"},
                            after={"client_id": app_id, "secret_state": "the new password credential"})),
            params={"app_id": app_id, "app_object_id": app.id},
            pods=(f"{target.pod.namespace}/{target.pod.name}",) if target.pod else ())

    def apply(self, plan: FixPlan, reads: Reads) -> FixResult:
        p, ref = plan.params, plan.cluster
        label = f"pullfix-{plan.hash[:12]}"
        app = ir.app_by_app_id(fresh(reads), p["app_id"])
        if app is None:
            raise LookupError(f"application {p['app_id']} no longer exists")
        if any((c.display_name or "") == label for c in app.password_credentials or []):
            return FixResult(fix=self.name, plan_hash=plan.hash, applied=(),
                             data={"already_applied": label})
        new = add_password(reads, p["app_object_id"], label)
        aks: Any = reads.clients.arm(ContainerServiceClient, ref.subscription_id)
        try:
            aks.managed_clusters.begin_reset_service_principal_profile(
                ref.resource_group, ref.name,
                ManagedClusterServicePrincipalProfile(client_id=p["app_id"], secret=new.secret),
            ).result()
        except Exception:
            remove_password(reads, p["app_object_id"], new.key_id)  # back to where we started
            raise
        info = new.public
        applied = (plan.changes[0].model_copy(update={"after": {"password_credential": info}}),
                   plan.changes[1].model_copy(update={"after": {"client_id": p["app_id"],
                                                                "secret_key_id": new.key_id}}))
        return FixResult(fix=self.name, plan_hash=plan.hash, applied=applied, data=info)
