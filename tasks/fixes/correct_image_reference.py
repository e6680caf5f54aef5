"""correct-image-reference — point the owning workload's container at the image the check
proposes (the nearest existing registry / repository / tag).

What it changes: the container's ``image`` in the owning Deployment / StatefulSet / DaemonSet /
CronJob's pod template (k8s PATCH, strategic merge on the container by name); the controller rolls
new pods. Never the bare pod; a Job's template is immutable and is not planned.

Where the proposal comes from: ``image-reference-valid``'s last evidence, ``data["proposal"]``
(None when it found nothing near enough: then there is no plan).

Why high risk (deny by default): the proposal is a guess — the nearest name is not necessarily
the intended one, and it changes what runs. Planned only while the template still holds the image
the finding saw, so a workload someone already corrected is left alone.

How it is undone: rollback patches the previous image back, if the template still holds ours.
"""

from __future__ import annotations

from typing import ClassVar

from tasks.contract import Finding, Status, Target, WorkloadRef
from tasks.fix import Change, Fix, FixPlan, FixResult, Risk, fix
from tasks.fixes import _workload as wl
from tasks.fixes._idfix import evidence_data
from tasks.reads import Reads

CHECK = "image-reference-valid"


@fix
class CorrectImageReference(Fix):
    name: ClassVar[str] = "correct-image-reference"
    risk: ClassVar[Risk] = Risk.HIGH
    resolves: ClassVar[tuple[str, ...]] = (CHECK,)
    other_rights: ClassVar[str] = "Kubernetes patch deployments/statefulsets/daemonsets/cronjobs"
    reversible: ClassVar[bool] = True

    def plan(self, target: Target, finding: Finding, reads: Reads) -> FixPlan | None:
        pod = target.pod
        proposal = evidence_data(finding, "proposal")
        if finding.status != Status.FAIL or pod is None or not proposal or wl.supported(
                pod.workload):
            return None
        w = pod.workload
        assert w is not None
        current = wl.container_image(wl.pod_spec(wl.read(reads, target.cluster, w), w.kind),
                                     pod.container, pod.init_container)
        if current != pod.image or current == proposal:
            return None  # already changed (by us or someone else)
        what = {"container": pod.container, "init_container": pod.init_container}
        return FixPlan(
            fix=self.name, cluster=target.cluster, resolves=self.resolves, risk=self.risk,
            reversible=self.reversible,
            summary=f"{w.kind} {w.namespace}/{w.name}: container {pod.container} image "
                    f"{current} -> {proposal}",
            changes=(Change(resource=wl.resource(target.cluster, w), operation="update",
                            api=f"k8s PATCH {w.kind.lower()}", before={**what, "image": current},
                            after={**what, "image": proposal}),),
            params={"workload": w.model_dump(mode="json")},
            pods=(f"{pod.namespace}/{pod.name}",))

    def _set(self, plan: FixPlan, reads: Reads, frm: str, to: str) -> bool:
        w = WorkloadRef.model_validate(plan.params["workload"])
        b = plan.changes[0].before or {}
        spec = wl.pod_spec(wl.read(reads, plan.cluster, w), w.kind)
        if wl.container_image(spec, b["container"], b["init_container"]) != frm:
            return False  # not what we expect: ours already, or someone changed it since
        wl.patch_pod_spec(reads, plan.cluster, w, wl.image_patch(b["container"],
                                                                 b["init_container"], to))
        return True

    def apply(self, plan: FixPlan, reads: Reads) -> FixResult:
        c = plan.changes[0]
        done = self._set(plan, reads, (c.before or {})["image"], (c.after or {})["image"])
        return FixResult(fix=self.name, plan_hash=plan.hash, applied=plan.changes if done else (),
                         data={"plan": plan.model_dump(mode="json")} if done else {})

    def rollback(self, result: FixResult, reads: Reads) -> None:
        if not result.applied:
            return
        plan = FixPlan.model_validate(result.data["plan"])
        c = plan.changes[0]
        self._set(plan, reads, (c.after or {})["image"], (c.before or {})["image"])
