"""set-os-node-selector — schedule the workload on nodes whose platform its image supports.

What it changes: the owning workload's pod template ``nodeSelector`` — ``kubernetes.io/os`` (and
``kubernetes.io/arch`` when the selector already pins one or the pools of that OS differ in
architecture) set to a platform that the image serves *and* a node pool of the cluster runs
(``image-platform-matches-node``'s evidence: ``platforms``, ``pools``, ``fitting_pools``). Other
selector keys are kept. The controller rolls new pods onto the matching pool.

Not applicable when no pool can run the image (an amd64-only image on an Arm64-only cluster):
no plan, and :attr:`reason` says why — adding a pool or building a multi-platform image is the
owner's decision, and the finding stays.

Why sign-off (medium): it moves pods to another pool. How it is undone: rollback restores the
previous value of every selector key it set (removing the keys that were absent), if the template
still holds ours.
"""

from __future__ import annotations

from typing import Any, ClassVar

from tasks.contract import Finding, Status, Target, WorkloadRef
from tasks.fix import Change, Fix, FixPlan, FixResult, Risk, fix
from tasks.fixes import _workload as wl
from tasks.fixes._idfix import evidence_data
from tasks.reads import Reads

OS, ARCH = "kubernetes.io/os", "kubernetes.io/arch"


def _selector(reads: Reads, plan_or_target: Any, w: WorkloadRef) -> dict[str, str]:
    spec = wl.pod_spec(wl.read(reads, plan_or_target.cluster, w), w.kind)
    return dict(spec.node_selector or {})


@fix
class SetOsNodeSelector(Fix):
    name: ClassVar[str] = "set-os-node-selector"
    risk: ClassVar[Risk] = Risk.MEDIUM
    resolves: ClassVar[tuple[str, ...]] = ("image-platform-matches-node", "image-arch-matches-node")
    other_rights: ClassVar[str] = "Kubernetes patch deployments/statefulsets/daemonsets/cronjobs"
    reversible: ClassVar[bool] = True
    reason: str | None = None  # why the last plan() returned None

    def _none(self, why: str) -> FixPlan | None:
        self.reason = why
        return None

    def plan(self, target: Target, finding: Finding, reads: Reads) -> FixPlan | None:
        self.reason = None
        pod = target.pod
        if finding.status != Status.FAIL or pod is None:
            return self._none("the image's platform matches the node")
        if why := wl.supported(pod.workload):
            return self._none(why)
        w = pod.workload
        assert w is not None
        platforms = [tuple(p.split("/", 1)) for p in evidence_data(finding, "platforms") or []]
        pools: dict[str, str] = evidence_data(finding, "pools") or {}
        fits = [(p, tuple(pools[p].split("/", 1))) for p in evidence_data(finding, "fitting_pools")
                or [] if p in pools]
        if not fits:
            return self._none(f"no node pool of {target.cluster.name} runs a platform the image "
                              f"has ({', '.join('/'.join(p) for p in platforms) or '?'}); add such "
                              "a pool or build a multi-platform image — the fix is not applicable")
        old = _selector(reads, target, w)
        pool, (os_, arch) = fits[0]
        new = {OS: os_}
        same_os = {a for o_a in pools.values() for o, a in [o_a.split("/", 1)] if o == os_}
        if ARCH in old or len(same_os) > 1:
            new[ARCH] = arch
        if all(old.get(k) == v for k, v in new.items()):
            return self._none(f"the nodeSelector already names {os_}/{arch}")
        before = {k: old.get(k) for k in new}
        return FixPlan(
            fix=self.name, cluster=target.cluster, resolves=self.resolves, risk=self.risk,
            reversible=self.reversible,
            summary=f"{w.kind} {w.namespace}/{w.name}: nodeSelector {before} -> {new} "
                    f"(pool {pool} runs {os_}/{arch})",
            changes=(Change(resource=wl.resource(target.cluster, w), operation="update",
                            api=f"k8s PATCH {w.kind.lower()}", before={"nodeSelector": before},
                            after={"nodeSelector": new}),),
            params={"workload": w.model_dump(mode="json")}, pods=(f"{pod.namespace}/{pod.name}",))

    def _set(self, plan: FixPlan, reads: Reads, frm: dict[str, Any], to: dict[str, Any]) -> bool:
        w = WorkloadRef.model_validate(plan.params["workload"])
        current = _selector(reads, plan, w)
        if any(current.get(k) != v for k, v in frm.items()):
            return False  # not the selector we expect: ours already, or changed since
        wl.patch_pod_spec(reads, plan.cluster, w, {"nodeSelector": to})  # None deletes a key
        return True

    def apply(self, plan: FixPlan, reads: Reads) -> FixResult:
        c = plan.changes[0]
        done = self._set(plan, reads, (c.before or {})["nodeSelector"],
                         (c.after or {})["nodeSelector"])
        return FixResult(fix=self.name, plan_hash=plan.hash, applied=plan.changes if done else (),
                         data={"plan": plan.model_dump(mode="json")} if done else {})

    def rollback(self, result: FixResult, reads: Reads) -> None:
        if not result.applied:
            return
        plan = FixPlan.model_validate(result.data["plan"])
        c = plan.changes[0]
        self._set(plan, reads, (c.after or {})["nodeSelector"], (c.before or {})["nodeSelector"])
