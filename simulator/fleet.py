"""Generated fleets: many subscriptions and clusters from a seed, for scale and sweep tests.

``generate(3, 4, seed=7)`` is an ordinary scenario document (the same builders a YAML world
uses), so ``--scenario fleet:3x4:7`` serves it. The same arguments always give the same
document; the seed spreads environments, versions, regions and node-pool shapes.
"""

from __future__ import annotations

import random
import re
from typing import Any

VERSIONS = ("1.29.9", "1.30.6", "1.30.6", "1.31.2")
LOCATIONS = ("eastus", "eastus2", "westeurope", "northeurope", "westus3")
_SPEC = re.compile(r"^(?P<s>\d+)x(?P<c>\d+)(?::(?P<seed>\d+))?$")


def _pools(rng: random.Random) -> list[dict[str, Any]]:
    pools: list[dict[str, Any]] = [{"name": "system", "count": rng.choice((1, 2, 3))}]
    if rng.random() < 0.3:
        pools.append({"name": "arm", "arch": "arm64", "mode": "user",
                      "count": rng.choice((1, 2))})
    if rng.random() < 0.2:
        pools.append({"name": "win", "os": "windows", "mode": "user", "count": 1})
    return pools


def generate(subscriptions: int, clusters_per_subscription: int, seed: int = 0
             ) -> dict[str, Any]:
    if subscriptions < 1 or clusters_per_subscription < 0:
        raise ValueError("a fleet needs at least one subscription and zero or more clusters")
    rng = random.Random(seed)
    resources: list[dict[str, Any]] = []
    for s in range(1, subscriptions + 1):
        sub = f"fleet-sub-{s:02d}"
        resources.append({"kind": "subscription", "name": sub,
                          "tags": {"fleet": f"seed-{seed}"}})
        for c in range(1, clusters_per_subscription + 1):
            env = rng.choice(("prod", "nonprod"))
            location = rng.choice(LOCATIONS)
            name = f"aks-{env}-{s:02d}-{c:02d}"
            group = f"rg-{name}"
            resources.append({"kind": "resource-group", "name": group, "subscription": sub,
                              "location": location, "tags": {"env": env}})
            resources.append({
                "kind": "cluster", "name": name, "group": group, "subscription": sub,
                "location": location, "kubernetes_version": rng.choice(VERSIONS),
                "node_pools": _pools(rng),
                "network": {"outbound_type": "loadBalancer"},
                "tags": {"env": env, "team": rng.choice(("payments", "search", "platform",
                                                         "data")), "fleet": f"seed-{seed}"},
            })
    return {
        "name": f"fleet-{subscriptions}x{clusters_per_subscription}-{seed}",
        "description": f"Generated fleet: {subscriptions} subscription(s) x "
                       f"{clusters_per_subscription} cluster(s), seed {seed}.",
        "resources": resources,
        "expect": {},
    }


def generate_from_spec(spec: str) -> dict[str, Any]:
    """``SxC[:SEED]``, e.g. ``3x4:7`` — three subscriptions of four clusters, seed 7."""
    m = _SPEC.match(spec.strip())
    if not m:
        raise ValueError(f"fleet spec '{spec}' is not SxC[:SEED] (for example 3x4:7)")
    return generate(int(m["s"]), int(m["c"]), int(m["seed"] or 0))
