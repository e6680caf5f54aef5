"""What the API server does to an object before storing it: defaulting (the values every
object read back carries), validation (422 ``Invalid`` in the server's words) and the
ServiceAccount admission plugin (a pod gets its service account's ``imagePullSecrets`` when it
names none, and is forbidden when the service account does not exist)."""

from __future__ import annotations

import base64
import json
import secrets as _secrets
from typing import Any

from simulator.kubernetes import errors

ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # k8s.io/apimachinery/pkg/util/rand
DEFAULT_TOLERATIONS = [
    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute",
     "tolerationSeconds": 300},
    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute",
     "tolerationSeconds": 300},
]
WORKLOADS = {"Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job", "CronJob"}


def random_suffix(n: int = 5) -> str:
    return "".join(_secrets.choice(ALPHABET) for _ in range(n))


def pull_policy(image: str) -> str:
    last = image.rsplit("/", 1)[-1]
    if "@" in last:
        return "IfNotPresent"
    tag = last.split(":", 1)[1] if ":" in last else ""
    return "Always" if tag in ("", "latest") else "IfNotPresent"


def pod_spec(spec: dict[str, Any]) -> dict[str, Any]:
    for key in ("initContainers", "containers"):
        for c in spec.get(key) or []:
            c.setdefault("imagePullPolicy", pull_policy(c.get("image", "")))
            c.setdefault("terminationMessagePath", "/dev/termination-log")
            c.setdefault("terminationMessagePolicy", "File")
            c.setdefault("resources", {})
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("securityContext", {})
    spec.setdefault("schedulerName", "default-scheduler")
    return spec


def _template(obj: dict[str, Any], path: str) -> list[tuple[str, str]]:
    tpl = obj["spec"].get("template")
    if not isinstance(tpl, dict) or not (tpl.get("spec") or {}).get("containers"):
        return [(f"{path}.spec.containers", "Required value")]
    pod_spec(tpl["spec"])
    tpl.setdefault("metadata", {})
    return []


def _selector_causes(obj: dict[str, Any]) -> list[tuple[str, str]]:
    from simulator.kubernetes.selectors import selector_matches

    sel = obj["spec"].get("selector")
    if not sel:
        return [("spec.selector", "Required value")]
    labels = (obj["spec"].get("template") or {}).get("metadata", {}).get("labels") or {}
    if not selector_matches(sel, labels):
        return [("spec.template.metadata.labels",
                 f"Invalid value: {json.dumps(labels)}: `selector` does not match template "
                 "`labels`")]
    return []


def _job_spec(spec: dict[str, Any], path: str) -> list[tuple[str, str]]:
    spec.setdefault("parallelism", 1)
    spec.setdefault("completions", 1)
    spec.setdefault("backoffLimit", 6)
    spec.setdefault("completionMode", "NonIndexed")
    spec.setdefault("suspend", False)
    spec.setdefault("podReplacementPolicy", "TerminatingOrFailed")
    tpl = spec.get("template") or {}
    policy = (tpl.get("spec") or {}).get("restartPolicy") or "Always"
    if policy not in ("Never", "OnFailure"):
        return [(f"{path}.template.spec.restartPolicy",
                 f'Unsupported value: "{policy}": supported values: "OnFailure", "Never"')]
    return []


def default_and_validate(obj: dict[str, Any]) -> None:
    """Default ``obj`` in place; raise 422 ``Invalid`` for what the server rejects."""
    kind, meta = obj["kind"], obj["metadata"]
    name = meta.get("name", "")
    causes: list[tuple[str, str]] = []
    if kind in WORKLOADS:
        meta.setdefault("generation", 1)
        spec = obj.setdefault("spec", {})
        if kind == "CronJob":
            if not spec.get("schedule"):
                causes.append(("spec.schedule", "Required value"))
            spec.setdefault("concurrencyPolicy", "Allow")
            spec.setdefault("suspend", False)
            spec.setdefault("successfulJobsHistoryLimit", 3)
            spec.setdefault("failedJobsHistoryLimit", 1)
            jt = spec.setdefault("jobTemplate", {}).setdefault("spec", {})
            causes += _template({"spec": jt}, "spec.jobTemplate.spec.template")
            if not causes:
                causes += _job_spec(jt, "spec.jobTemplate.spec")
        else:
            causes += _template(obj, "spec.template")
        if kind == "Job" and not causes:
            causes += _job_spec(spec, "spec")
        if kind in ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet") and not causes:
            causes += _selector_causes(obj)
        if kind in ("Deployment", "ReplicaSet", "StatefulSet"):
            spec.setdefault("replicas", 1)
            spec.setdefault("revisionHistoryLimit", 10)
        if kind == "Deployment":
            spec.setdefault("progressDeadlineSeconds", 600)
            spec.setdefault("strategy", {"type": "RollingUpdate", "rollingUpdate": {
                "maxSurge": "25%", "maxUnavailable": "25%"}})
        if kind == "StatefulSet":
            spec.setdefault("podManagementPolicy", "OrderedReady")
            spec.setdefault("updateStrategy", {"type": "RollingUpdate",
                                               "rollingUpdate": {"partition": 0}})
            spec.setdefault("persistentVolumeClaimRetentionPolicy",
                            {"whenDeleted": "Retain", "whenScaled": "Retain"})
        if kind == "DaemonSet":
            spec.setdefault("revisionHistoryLimit", 10)
            spec.setdefault("updateStrategy", {"type": "RollingUpdate", "rollingUpdate": {
                "maxUnavailable": 1, "maxSurge": 0}})
        obj.setdefault("status", {})
    elif kind == "Pod":
        spec = obj.setdefault("spec", {})
        if not spec.get("containers"):
            causes.append(("spec.containers", "Required value"))
        for i, c in enumerate([*(spec.get("initContainers") or []), *(spec.get("containers") or [])]):
            if not c.get("name"):
                causes.append((f"spec.containers[{i}].name", "Required value"))
            if not c.get("image"):
                causes.append((f"spec.containers[{i}].image", "Required value"))
        pod_spec(spec)
        spec.setdefault("serviceAccountName", spec.get("serviceAccount") or "default")
        spec["serviceAccount"] = spec["serviceAccountName"]
        spec.setdefault("enableServiceLinks", True)
        spec.setdefault("preemptionPolicy", "PreemptLowerPriority")
        spec.setdefault("priority", 0)
        tolerations = spec.setdefault("tolerations", [])
        for t in DEFAULT_TOLERATIONS:
            if not any(x.get("key") == t["key"] for x in tolerations):
                tolerations.append(dict(t))
        obj.setdefault("status", {}).setdefault("phase", "Pending")
        obj["status"].setdefault("qosClass", "BestEffort")
    elif kind == "Secret":
        obj.setdefault("type", "Opaque")
        data = obj.setdefault("data", {})
        for k, v in (obj.pop("stringData", None) or {}).items():
            data[k] = base64.b64encode(v.encode()).decode()
        if obj["type"] == "kubernetes.io/dockerconfigjson":
            raw = data.get(".dockerconfigjson")
            if not raw:
                causes.append(("data[.dockerconfigjson]", "Required value"))
            else:
                try:
                    json.loads(base64.b64decode(raw))
                except ValueError:
                    causes.append(("data[.dockerconfigjson]", "Invalid value: \"<secret contents "
                                   "redacted>\": invalid character looking for beginning of "
                                   "value"))
    elif kind == "Namespace":
        meta.setdefault("labels", {})["kubernetes.io/metadata.name"] = name
        obj.setdefault("spec", {"finalizers": ["kubernetes"]})
        obj.setdefault("status", {"phase": "Active"})
    if causes:
        raise errors.invalid(kind, name, causes)


def admit_pod(pod: dict[str, Any], service_account: dict[str, Any] | None) -> None:
    """The ServiceAccount admission plugin."""
    spec = pod["spec"]
    ns = pod["metadata"]["namespace"]
    sa = spec["serviceAccountName"]
    if service_account is None:
        name = pod["metadata"].get("name") or pod["metadata"].get("generateName", "")
        raise errors.status_error(403, f'pods "{name}" is forbidden: error looking up service '
                                  f'account {ns}/{sa}: serviceaccount "{sa}" not found',
                                  "Forbidden", {"name": name, "kind": "pods"})
    if not spec.get("imagePullSecrets") and service_account.get("imagePullSecrets"):
        spec["imagePullSecrets"] = [{"name": s["name"]}
                                    for s in service_account["imagePullSecrets"]]


POD_MUTABLE = "spec.containers[*].image,spec.initContainers[*].image,spec.activeDeadlineSeconds," \
    "spec.tolerations (only additions to existing tolerations),spec.terminationGracePeriodSeconds " \
    "(allow it to be set to 1 if it was previously negative)"


def check_pod_update(old: dict[str, Any], new: dict[str, Any]) -> None:
    """A pod's spec is immutable but for images and a few fields."""
    def strip(spec: dict[str, Any]) -> dict[str, Any]:
        spec = json.loads(json.dumps(spec))
        for key in ("containers", "initContainers"):
            for c in spec.get(key) or []:
                c.pop("image", None)
        for key in ("activeDeadlineSeconds", "tolerations", "nodeName"):
            spec.pop(key, None)
        return spec

    if strip(old["spec"]) != strip(new["spec"]):
        raise errors.invalid("Pod", old["metadata"]["name"], [(
            "spec", f"Forbidden: pod updates may not change fields other than {POD_MUTABLE}")])
