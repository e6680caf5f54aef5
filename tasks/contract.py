"""The domain's contract: what a diagnosis is made of.

Enum values and field names are a stable contract (CLI JSON output, policy files, the audit
log): add, never rename.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Category(StrEnum):
    """What kind of pull error a message shows (DESIGN.md "Classifying pull errors")."""

    UNAUTHORIZED = "unauthorized"
    NOT_FOUND = "not_found"
    FORBIDDEN = "forbidden"
    TIMEOUT = "timeout"
    PLATFORM_MISMATCH = "platform_mismatch"
    OTHER = "other"


class Classification(Frozen):
    """The classifier's reading of one kubelet event / container status message."""

    category: Category
    subcause: str | None = None  # for OTHER: rate_limited, dns, tls, registry_error, ...
    confidence: float = Field(ge=0.0, le=1.0)
    ambiguous: bool = False  # the text alone cannot tell the cause
    image: str | None = None
    registry_host: str | None = None
    http_status: int | None = None
    credentials_sent: bool | None = None  # "oauth token" = yes, "anonymous token" = no
    runtime: str | None = None  # containerd | dockerd | cri-o | None
    reason: str = ""  # one line: why this category


class Status(StrEnum):
    PASS = "pass"
    FAIL = "fail"  # the check found the problem: a normal answer, not an exception
    ERROR = "error"  # the check could not determine its answer (reason says why)
    NOT_APPLICABLE = "not_applicable"


class Group(StrEnum):
    """Root-cause families findings are grouped by."""

    IDENTITY = "identity"
    REGISTRY = "registry"
    NETWORK = "network"
    WORKLOAD = "workload"


class ClusterRef(Frozen):
    subscription_id: str
    resource_group: str
    name: str
    id: str


class WorkloadRef(Frozen):
    kind: str  # Deployment | StatefulSet | DaemonSet | Job | CronJob | Pod
    namespace: str
    name: str


class FailingPod(Frozen):
    """A pod with a container (init included) in ErrImagePull / ImagePullBackOff, and the
    evidence captured when it was first seen (events expire after an hour)."""

    namespace: str
    name: str
    uid: str
    node: str | None
    container: str
    init_container: bool = False
    image: str
    reason: str  # ErrImagePull | ImagePullBackOff
    message: str  # the kubelet's pull error (Failed event), else the status message
    workload: WorkloadRef | None = None
    image_pull_secrets: tuple[str, ...] = ()
    service_account: str | None = None
    node_os: str | None = None
    node_arch: str | None = None
    node_pool: str | None = None
    node_selector: dict[str, str] = {}


class Target(Frozen):
    """What a check looks at: one failing container of one pod on one cluster (or the cluster
    alone, for cluster-wide checks)."""

    cluster: ClusterRef
    pod: FailingPod | None = None
    classification: Classification | None = None
    registry_host: str | None = None
    registry_id: str | None = None  # None when the host is not a registry pullfix can see


class Evidence(Frozen):
    source: str  # the read, e.g. "ARM GET <id>" or "k8s list events"
    detail: str  # what it showed, one line
    data: dict[str, Any] = {}


class Finding(Frozen):
    check: str
    status: Status
    summary: str
    group: Group
    evidence: tuple[Evidence, ...] = ()
    suggests: tuple[str, ...] = ()  # fix names, when FAIL
    root_cause: str | None = None  # grouping key: one broken identity = one finding
    reason: str | None = None  # for ERROR: why the check could not tell
