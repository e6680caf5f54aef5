"""Render diagnoses for people (markdown, tables) and machines (JSON-able dicts).

The JSON shape is a contract (``pullfix diagnose|sweep -o json``): add keys, never rename.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from tasks.contract import Status
from tasks.diagnose import ClusterDiagnosis


def cluster_json(d: ClusterDiagnosis) -> dict[str, Any]:
    return {
        "cluster": d.cluster.name,
        "id": d.cluster.id,
        "subscription": d.cluster.subscription_id,
        "resource_group": d.cluster.resource_group,
        "error": d.error,
        "access": d.access,
        "not_diagnosed": d.not_diagnosed,
        "failing_pods": len({(r.pod.namespace, r.pod.name) for r in d.pods}),
        "failing_checks": d.failing_checks,
        "suggested_fixes": d.suggested_fixes,
        "checks_run": d.checks_run,
        "root_causes": [rc.model_dump(mode="json") for rc in d.root_causes],
        "pods": [{"namespace": r.pod.namespace, "name": r.pod.name, "container": r.pod.container,
                  "image": r.pod.image, "reason": r.pod.reason, "message": r.pod.message,
                  "workload": r.pod.workload.model_dump() if r.pod.workload else None,
                  "classification": r.classification.model_dump(mode="json"),
                  "checks": list(r.checks)} for r in d.pods],
        "findings": [f.model_dump(mode="json") for f in d.findings],
    }


def sweep_json(diagnoses: list[ClusterDiagnosis], *, mode: str) -> dict[str, Any]:
    """The fleet summary: clusters, failing pods, and root causes grouped across clusters."""
    causes: dict[str, dict[str, Any]] = {}
    for d in diagnoses:
        for rc in d.root_causes:
            entry = causes.setdefault(rc.key, {
                "key": rc.key, "check": rc.check, "group": rc.group.value,
                "summary": rc.summary, "fixes": list(rc.suggests), "clusters": [], "pods": 0})
            entry["clusters"].append(d.cluster.id)
            entry["pods"] += len(rc.pods)
    failing = [d for d in diagnoses if d.pods]
    return {
        "mode": mode,
        "clusters": len(diagnoses),
        "failing_clusters": len(failing),
        "unreachable_clusters": [d.cluster.id for d in diagnoses if d.error],
        "stopped_clusters": [d.cluster.id for d in diagnoses if d.not_diagnosed],
        "failing_pods": sum(len({(r.pod.namespace, r.pod.name) for r in d.pods})
                            for d in diagnoses),
        "root_causes": sorted(causes.values(), key=lambda c: (-c["pods"], c["key"])),
        "results": [cluster_json(d) for d in diagnoses],
    }


def cluster_markdown(d: ClusterDiagnosis) -> str:
    lines = [f"# Diagnosis of `{d.cluster.name}`", "",
             f"Cluster `{d.cluster.id}`", ""]
    if d.access:
        lines += [f"Reached through: **{d.access}**", ""]
    if d.not_diagnosed:
        return "\n".join([*lines, f"**Not diagnosed:** {d.not_diagnosed}"])
    if d.error:
        return "\n".join([*lines, f"**Could not diagnose:** {d.error}"])
    if not d.pods:
        return "\n".join([*lines, "No pod is failing to pull an image."])
    lines += [f"**{len({(r.pod.namespace, r.pod.name) for r in d.pods})} pod(s)** cannot pull.",
              "", "## Root causes", ""]
    for rc in d.root_causes:
        lines.append(f"- **{rc.check}** ({rc.group.value}): {rc.summary} — fix: "
                     f"{', '.join(rc.suggests) or 'report only'}; {len(rc.pods)} pod(s)")
    if not d.root_causes:
        lines.append("- none determined (see the findings)")
    lines += ["", "## Findings", "", "| check | status | summary |", "|---|---|---|"]
    for f in sorted(d.findings, key=lambda f: (f.status != Status.FAIL, f.check)):
        lines.append(f"| {f.check} | {f.status.value} | {f.summary.replace('|', '/')} |")
    lines += ["", "## Evidence", ""]
    for f in d.findings:
        for e in f.evidence:
            lines.append(f"- `{f.check}` — {e.source}: {e.detail}")
    by_class: dict[str, int] = defaultdict(int)
    for r in d.pods:
        by_class[r.classification.category.value] += 1
    lines += ["", "## Pull errors by class", ""] + [f"- {k}: {v}" for k, v in
                                                   sorted(by_class.items())]
    return "\n".join(lines)


def findings_table(d: ClusterDiagnosis) -> list[dict[str, str]]:
    return [{"check": f.check, "status": f.status.value, "group": f.group.value,
             "summary": f.summary, "fixes": ", ".join(f.suggests)} for f in d.findings]
