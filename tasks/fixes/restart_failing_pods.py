"""restart-failing-pods — delete the backed-off pods of the affected workload so their
controller creates new ones that pull now, instead of at the end of the kubelet's image back-off
(up to 5 minutes). Used after a fix that changed something outside the pod.

What it changes: deletes pods of the failing pod's owning controller whose container waits in
``ImagePullBackOff`` (the kubelet is sitting out the back-off; a pod in ``ErrImagePull`` has just
tried and is not listed). Only controller-owned pods — a bare pod deleted is gone for good — and
at most ``Params.max_pods`` (20) per run; the plan's summary says when it was capped.

Why it is safe (low): the controller replaces each pod; nothing else changes. Apply deletes a
pod only if it is still the one planned (same uid), so a second apply writes nothing.

How it is undone: it is not reversible (a deleted pod is replaced, not restored).
"""

from __future__ import annotations

from typing import Any, ClassVar

from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException
from pydantic import BaseModel, ConfigDict

from tasks.contract import Finding, Target
from tasks.detect import PULL_FAILURES, failing_pods
from tasks.fix import Change, Fix, FixPlan, FixResult, Risk, fix
from tasks.fixes._idfix import fresh, k8s_id
from tasks.reads import Reads


def _pull_failing(pod: Any) -> bool:
    st = pod.status
    statuses = ((st.init_container_statuses or []) + (st.container_statuses or [])) if st else []
    return any(s.state and s.state.waiting and s.state.waiting.reason in PULL_FAILURES
               for s in statuses)


@fix
class RestartFailingPods(Fix):
    name: ClassVar[str] = "restart-failing-pods"
    risk: ClassVar[Risk] = Risk.LOW
    resolves: ClassVar[tuple[str, ...]] = ()  # it heals no check: it makes the pods retry now
    other_rights: ClassVar[str] = "Kubernetes delete pods"
    reversible: ClassVar[bool] = False

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid", frozen=True)
        max_pods: int = 20

    def __init__(self, params: Params | None = None) -> None:
        self.params = params or self.Params()

    def plan(self, target: Target, finding: Finding, reads: Reads) -> FixPlan | None:
        w = target.pod.workload if target.pod else None
        if w is None or w.kind == "Pod":
            return None
        found: dict[str, str] = {}
        for fp in failing_pods(fresh(reads), target.cluster):
            if fp.workload == w and fp.reason == "ImagePullBackOff":
                found.setdefault(f"{fp.namespace}/{fp.name}", fp.uid)
        if not found:
            return None
        names = sorted(found)
        chosen = names[: self.params.max_pods]
        capped = (f" (capped at {self.params.max_pods} of {len(names)}; the rest next run)"
                  if len(names) > len(chosen) else "")
        changes = tuple(Change(resource=k8s_id(target.cluster.id, "Pod", *n.split("/", 1)),
                               operation="delete", api="k8s DELETE pod",
                               before={"uid": found[n], "waiting": "ImagePullBackOff"})
                        for n in chosen)
        return FixPlan(
            fix=self.name, cluster=target.cluster, resolves=self.resolves, risk=self.risk,
            reversible=self.reversible, changes=changes, pods=tuple(chosen),
            summary=f"delete {len(chosen)} backed-off pod(s) of {w.kind} {w.namespace}/{w.name} "
                    f"so they pull now: {', '.join(chosen)}{capped}",
            params={"max_pods": self.params.max_pods, "capped": bool(capped)})

    def apply(self, plan: FixPlan, reads: Reads) -> FixResult:
        core = k8s.CoreV1Api(reads.kube(plan.cluster))
        done = []
        for change in plan.changes[: self.params.max_pods]:
            ns, name = change.resource.rsplit("/k8s/Pod/", 1)[1].split("/", 1)
            try:
                pod = core.read_namespaced_pod(name, ns)
                uid = pod.metadata.uid  # type: ignore[union-attr]
                if uid != (change.before or {}).get("uid") or not _pull_failing(pod):
                    continue  # already replaced, or it pulled meanwhile: leave it running
                core.delete_namespaced_pod(name, ns, body=k8s.V1DeleteOptions(
                    preconditions=k8s.V1Preconditions(uid=uid)))
            except ApiException as exc:
                if exc.status in (404, 409):
                    continue  # gone, or replaced between the read and the delete
                raise
            done.append(change)
        return FixResult(fix=self.name, plan_hash=plan.hash, applied=tuple(done))
