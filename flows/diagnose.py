"""The diagnose flow for one cluster: detect → classify → checks → findings by root cause,
published as Prefect artifacts."""

from __future__ import annotations

from typing import Any

from prefect import flow
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from tasks.clients import Clients
from tasks.contract import ClusterRef
from tasks.reads import Reads
from tasks.remediate import previews_json
from tasks.report import cluster_json, cluster_markdown, findings_table
from tasks.resolve import resolve_cluster
from tasks.runner import diagnose_cluster_task


def _artifact_key(name: str) -> str:
    return "diagnosis-" + "".join(c if c.isalnum() else "-" for c in name.lower())[:40]


@flow(name="diagnose-cluster", log_prints=False, persist_result=False)
def diagnose_cluster_flow(cluster: str, namespace: str | None = None) -> dict[str, Any]:
    """Diagnose one cluster (name or ARM id) and publish the findings."""
    reads = Reads(Clients())
    ref: ClusterRef = resolve_cluster(reads, cluster)
    diagnosis = diagnose_cluster_task(reads, ref, namespace)
    create_markdown_artifact(key=_artifact_key(ref.name), markdown=cluster_markdown(diagnosis),
                             description=f"pullfix diagnosis of {ref.id}")
    create_table_artifact(key=_artifact_key(ref.name) + "-findings",
                          table=findings_table(diagnosis) or [{"check": "-", "status": "-"}],
                          description="findings")
    # the fixes it calls for, each with whether Azure would let pullfix make it
    return cluster_json(diagnosis) | previews_json(Reads(reads.clients), diagnosis)
