"""The ``kubelet-settings`` scenario entry: how a cluster's (or one pool's) nodes word pull
errors, and kubelet throttling.

```yaml
- kind: kubelet-settings
  cluster: aks-legacy             # cluster:NAME or a name
  pool: system                    # omit for every pool of the cluster
  runtime: containerd             # or dockerd (dockershim-era nodes)
  containerd_version: "1.6.26"    # 1.6 words token errors 'unexpected status: 401 Unauthorized'
  kubelet_version: "1.27.9"       # < 1.28 keeps 'rpc error: code = Unknown desc =' and the
                                  # in-tree credential provider's anonymous fallback
  pull_qps_exceeded: true         # every pull on these nodes fails with 'pull QPS exceeded'
```

Stored as the private ``_kubelet`` key of each matching ``agentPoolProfile`` (it survives
reconcile PUTs, which copy the profiles), read by :func:`simulator.kubelet.pull.wording`.
"""

from __future__ import annotations

from typing import Literal

from simulator.core.world import World
from simulator.scenario import Spec, builder, resolve_scope

CLUSTER_TYPE = "Microsoft.ContainerService/managedClusters"


class KubeletSettingsSpec(Spec):
    cluster: str
    pool: str | None = None
    runtime: Literal["containerd", "dockerd"] | None = None
    containerd_version: str | None = None
    kubelet_version: str | None = None
    pull_qps_exceeded: bool | None = None


@builder("kubelet-settings", KubeletSettingsSpec)
def build_kubelet_settings(world: World, spec: KubeletSettingsSpec) -> None:
    ref = spec.cluster if ":" in spec.cluster or spec.cluster.startswith("/") else \
        f"cluster:{spec.cluster}"
    cluster = world.must_get(resolve_scope(world, ref))
    pools = [p for p in cluster["properties"]["agentPoolProfiles"]
             if spec.pool is None or p["name"].lower() == spec.pool.lower()]
    if not pools:
        raise ValueError(f"cluster '{cluster['name']}' has no pool '{spec.pool}'")
    values = {k: v for k, v in spec.model_dump().items()
              if k not in ("cluster", "pool") and v is not None}
    for p in pools:
        p.setdefault("_kubelet", {}).update(values)
