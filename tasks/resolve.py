"""Turning what a person typed (a cluster name or ARM id) into a cluster reference, with a
message that says what to do when it does not match."""

from __future__ import annotations

from tasks.contract import ClusterRef
from tasks.errors import PermanentError
from tasks.inventory import clusters
from tasks.reads import Reads


class UnknownClusterError(PermanentError):
    pass


def resolve_cluster(reads: Reads, name_or_id: str) -> ClusterRef:
    found = reads.memo(("inventory",), lambda: clusters(reads.clients))
    want = name_or_id.strip().lower()
    if want.startswith("/subscriptions/"):
        matches = [c for c in found if c.id.lower() == want.rstrip("/")]
    else:
        matches = [c for c in found if c.name.lower() == want]
    if not matches:
        names = sorted({c.name for c in found})
        hint = f"visible clusters: {', '.join(names[:20])}{' …' if len(names) > 20 else ''}" \
            if names else "this identity sees no cluster in any subscription"
        raise UnknownClusterError(
            f"unknown cluster '{name_or_id}': no AKS cluster with that "
            f"{'id' if want.startswith('/') else 'name'} in the subscriptions this identity "
            f"can see ({len(reads.subscriptions())}); {hint}")
    if len(matches) > 1:
        raise UnknownClusterError(
            f"cluster name '{name_or_id}' is ambiguous; use its ARM id, one of: "
            + ", ".join(c.id for c in matches))
    c = matches[0]
    return ClusterRef(subscription_id=c.subscription_id, resource_group=c.resource_group,
                      name=c.name, id=c.id)


def resolve_subscriptions(reads: Reads, wanted: list[str] | None) -> set[str] | None:
    """Subscription names or ids → visible subscription ids (None = all visible)."""
    if not wanted:
        return None
    visible = {s.lower(): name for s, name in reads.subscriptions()}
    out: set[str] = set()
    for s in wanted:
        match = [sid for sid, name in visible.items() if s.lower() in (sid, name.lower())]
        if not match:
            raise PermanentError(
                f"subscription '{s}' is not visible to this identity; visible: "
                + (", ".join(f"{n} ({sid})" for sid, n in visible.items()) or "none")
                + ". Grant the identity Reader on it, or check the name/id.")
        out.update(match)
    return out
