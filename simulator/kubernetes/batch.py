"""The batch/v1 controllers: a Job creates pods until ``completions`` succeed (or
``backoffLimit`` failures), a deleted active pod is replaced; a CronJob creates a Job at each
scheduled time that world time passes (``<cronjob>-<minutes since epoch>``, as the controller
names them) and prunes finished Jobs beyond its history limits."""

from __future__ import annotations

import copy
from typing import Any

from simulator.core.world import World
from simulator.kubernetes import cron, pods, store
from simulator.kubernetes.controllers import (
    active_pods,
    condition,
    create_pod,
    event,
    write_status,
)


def prepare_job(job: dict[str, Any]) -> None:
    """The Job API's own defaulting at create: the generated selector and pod labels."""
    uid = job["metadata"]["uid"]
    name = job["metadata"]["name"]
    spec = job["spec"]
    if not spec.get("manualSelector"):
        spec["selector"] = {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}
        labels = spec["template"].setdefault("metadata", {}).setdefault("labels", {})
        labels.update({"batch.kubernetes.io/controller-uid": uid, "batch.kubernetes.io/job-name":
                       name, "controller-uid": uid, "job-name": name})


def reconcile_job(world: World, key: str, job: dict[str, Any]) -> None:
    spec, status = job["spec"], dict(job.get("status") or {})
    mine = pods.owned_by(world, key, "pods", job)
    succeeded = sum(1 for p in mine if p["status"].get("phase") == "Succeeded")
    failed = sum(1 for p in mine if p["status"].get("phase") == "Failed")
    completions = int(spec.get("completions") or 1)
    now = store.rfc3339(world.now())
    conds = [c for c in status.get("conditions") or []]
    finished = any(c["type"] in ("Complete", "Failed") and c["status"] == "True" for c in conds)
    if not finished and not spec.get("suspend"):
        if succeeded >= completions:
            conds = [condition(job, "SuccessCriteriaMet", "True", "CompletionsReached",
                               "Reached expected number of succeeded pods", now),
                     condition(job, "Complete", "True", "CompletionsReached",
                               "Reached expected number of succeeded pods", now)]
            status["completionTime"] = now
            event(world, key, job, "Completed", "Job completed")
        elif failed > int(spec.get("backoffLimit", 6)):
            conds = [condition(job, "FailureTarget", "True", "BackoffLimitExceeded",
                               "Job has reached the specified backoff limit", now),
                     condition(job, "Failed", "True", "BackoffLimitExceeded",
                               "Job has reached the specified backoff limit", now)]
            event(world, key, job, "BackoffLimitExceeded",
                  "Job has reached the specified backoff limit", "Warning")
        else:
            want = min(int(spec.get("parallelism", 1)), completions - succeeded)
            for _ in range(want - len(active_pods(world, key, job))):
                if create_pod(world, key, job, spec["template"]) is None:
                    break
    active = active_pods(world, key, job)
    status.update(startTime=status.get("startTime") or now, active=len(active),
                  ready=sum(1 for p in active if pods.is_ready(p)), succeeded=succeeded,
                  failed=failed, terminating=0, uncountedTerminatedPods={}, conditions=conds)
    write_status(world, key, "batch/jobs", job, status)


def start_job(world: World, key: str, cj: dict[str, Any], at: float) -> dict[str, Any]:
    """Create the Job a CronJob runs at scheduled time ``at``."""
    tpl = copy.deepcopy(cj["spec"]["jobTemplate"])
    name = f"{cj['metadata']['name']}-{int(at // 60)}"
    job = {"apiVersion": "batch/v1", "kind": "Job",
           "metadata": {"name": name, "namespace": cj["metadata"]["namespace"],
                        "labels": dict((tpl.get("metadata") or {}).get("labels") or {}),
                        "annotations": {"batch.kubernetes.io/cronjob-scheduled-timestamp":
                                        store.rfc3339(at)},
                        "ownerReferences": [pods.owner_ref(cj)], "generation": 1},
           "spec": tpl["spec"], "status": {}}
    from simulator.kubernetes import defaults

    defaults.default_and_validate(job)
    store.put(world, key, "batch/jobs", job)
    prepare_job(job)
    event(world, key, cj, "SuccessfulCreate", f"Created job {name}")
    reconcile_job(world, key, job)
    status = dict(cj.get("status") or {}, lastScheduleTime=store.rfc3339(at))
    store.put(world, key, "batch/cronjobs", {**cj, "status": status})
    return job


def _finished(job: dict[str, Any]) -> str | None:
    for c in (job.get("status") or {}).get("conditions") or []:
        if c["type"] in ("Complete", "Failed") and c["status"] == "True":
            return c["type"]
    return None


def reconcile_cronjob(world: World, key: str, cj: dict[str, Any]) -> None:
    spec = cj["spec"]
    status = cj.get("status") or {}
    last = status.get("lastScheduleTime") or cj["metadata"]["creationTimestamp"]
    if not spec.get("suspend"):
        try:
            due = cron.next_after(spec["schedule"], store.parse_time(last))
        except ValueError:
            due = None
        latest = None
        for _ in range(100):  # the controller gives up counting after 100 missed schedules
            if due is None or due > world.now():
                break
            latest = due
            due = cron.next_after(spec["schedule"], due)
        if latest is not None:
            start_job(world, key, cj, latest)
            cj = store.get(world, key, "batch/cronjobs", cj["metadata"]["name"],
                           cj["metadata"]["namespace"]) or cj
    jobs = sorted(pods.owned_by(world, key, "batch/jobs", cj),
                  key=lambda j: j["metadata"]["creationTimestamp"])
    for kind, limit in (("Complete", spec.get("successfulJobsHistoryLimit", 3)),
                        ("Failed", spec.get("failedJobsHistoryLimit", 1))):
        done = [j for j in jobs if _finished(j) == kind]
        for j in done[: max(0, len(done) - int(limit))]:
            store.delete(world, key, "batch/jobs", j["metadata"]["name"], j["metadata"]["namespace"])
            event(world, key, cj, "SuccessfulDelete", f"Deleted job {j['metadata']['name']}")
    jobs = pods.owned_by(world, key, "batch/jobs", cj)
    active = [{"kind": "Job", "namespace": j["metadata"]["namespace"], "name": j["metadata"]["name"],
               "uid": j["metadata"]["uid"], "apiVersion": "batch/v1",
               "resourceVersion": j["metadata"]["resourceVersion"]}
              for j in sorted(jobs, key=lambda j: j["metadata"]["name"]) if not _finished(j)]
    new_status = {k: v for k, v in (cj.get("status") or {}).items() if k != "active"}
    if active:
        new_status["active"] = active
    ok = [j for j in jobs if _finished(j) == "Complete"]
    if ok:
        new_status["lastSuccessfulTime"] = max(j["status"].get("completionTime", "") for j in ok)
    write_status(world, key, "batch/cronjobs", cj, new_status)


def reconcile_all(world: World, key: str) -> None:
    for cj in list(store.objects(world, key, "batch/cronjobs").values()):
        reconcile_cronjob(world, key, cj)
    for job in list(store.objects(world, key, "batch/jobs").values()):
        reconcile_job(world, key, job)
