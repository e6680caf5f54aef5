"""Generated fleets: many subscriptions and clusters from a seed, for scale and sweep tests.

``generate(3, 4, seed=7)`` is an ordinary scenario document (the same builders a YAML world
uses), so ``--scenario fleet:3x4:7`` serves it. The same arguments always give the same
document; the seed spreads environments, versions, regions and node-pool shapes.

Fleets have pods too: each subscription holds a Premium registry with one multi-arch image,
restricted to selected networks that allow the subscription's egress range; each cluster
egresses through its own public IP, holds AcrPull on its subscription's registry and runs one
Deployment of that image. A seeded fraction of clusters is broken for one cause each (see
``CAUSES``), and the document's ``expect`` lists exactly those clusters' pods.
"""

from __future__ import annotations

import random
import re
from typing import Any

VERSIONS = ("1.29.9", "1.30.6", "1.30.6", "1.31.2")
LOCATIONS = ("eastus", "eastus2", "westeurope", "northeurope", "westus3")
# cause -> (failing check, fix, a stable fragment of the Failed event)
CAUSES: dict[str, tuple[str, str, str]] = {
    "missing-role": ("kubelet-identity-has-pull-role", "grant-pull-role", "401 Unauthorized"),
    "egress-ip": ("registry-allows-cluster-egress", "allow-cluster-egress-on-registry",
                  "403 Forbidden"),
    "typo": ("image-reference-valid", "correct-image-reference", "no such host"),
}
BROKEN_FRACTION = 0.25
_SPEC = re.compile(r"^(?P<s>\d+)x(?P<c>\d+)(?::(?P<seed>\d+))?$")


def _pools(rng: random.Random) -> list[dict[str, Any]]:
    pools: list[dict[str, Any]] = [{"name": "system", "count": rng.choice((1, 2, 3))}]
    if rng.random() < 0.3:
        pools.append({"name": "arm", "arch": "arm64", "mode": "user",
                      "count": rng.choice((1, 2))})
    if rng.random() < 0.2:
        pools.append({"name": "win", "os": "windows", "mode": "user", "count": 1})
    return pools


def _registry(sub: str, s: int) -> tuple[str, list[dict[str, Any]]]:
    name = f"fleetacr{s:02d}"
    group = f"rg-fleet-registry-{s:02d}"
    return name, [
        {"kind": "resource-group", "name": group, "subscription": sub, "location": "eastus"},
        # selected networks: the subscription's egress range (every cluster's own public IP)
        {"kind": "registry", "name": name, "group": group, "subscription": sub,
         "sku": "Premium", "default_action": "Deny", "ip_rules": [f"20.{100 + s}.0.0/16"]},
        {"kind": "image", "registry": f"registry:{name}", "repository": "app/web",
         "tags": ["v1"], "platforms": ["linux/amd64", "linux/arm64"]},
    ]


def _egress_address(s: int, c: int, outside: bool) -> str:
    """The cluster's own egress IP: inside the subscription's allowed range, or (egress-ip
    cause) an address that was never added to the registry's rules."""
    return f"{52 if outside else 20}.{100 + s}.{c // 250}.{c % 250 + 4}"


def _pods(sub: str, s: int, c: int, name: str, group: str, location: str, registry: str,
          cause: str | None) -> list[dict[str, Any]]:
    """The cluster's egress IP, pull role and workload, broken for ``cause`` if given."""
    host = f"{registry}.azure{'acr' if cause == 'typo' else 'cr'}.io"
    out: list[dict[str, Any]] = [
        {"kind": "public-ip", "name": f"pip-{name}", "group": group, "subscription": sub,
         "location": location, "address": _egress_address(s, c, cause == "egress-ip")}]
    if cause != "missing-role":
        out.append({"kind": "role-assignment", "principal": f"kubelet:{name}", "role": "AcrPull",
                    "scope": f"registry:{registry}"})
    out.append({"kind": "workload", "cluster": name, "namespace": "app", "name": "web",
                "replicas": 2, "node_selector": {"kubernetes.io/os": "linux"},
                "containers": [{"name": "web", "image": f"{host}/app/web:v1"}]})
    return out


def generate(subscriptions: int, clusters_per_subscription: int, seed: int = 0,
             broken: float = BROKEN_FRACTION) -> dict[str, Any]:
    if subscriptions < 1 or clusters_per_subscription < 0:
        raise ValueError("a fleet needs at least one subscription and zero or more clusters")
    rng = random.Random(seed)
    # a second stream for the breakage, so adding pods left the clusters' shapes as they were
    faults = random.Random(f"fleet-faults-{seed}")
    resources: list[dict[str, Any]] = []
    expected: list[dict[str, Any]] = []
    causes: list[str] = []
    for s in range(1, subscriptions + 1):
        sub = f"fleet-sub-{s:02d}"
        resources.append({"kind": "subscription", "name": sub,
                          "tags": {"fleet": f"seed-{seed}"}})
        registry, entries = _registry(sub, s)
        resources += entries
        for c in range(1, clusters_per_subscription + 1):
            env = rng.choice(("prod", "nonprod"))
            location = rng.choice(LOCATIONS)
            name = f"aks-{env}-{s:02d}-{c:02d}"
            group = f"rg-{name}"
            resources.append({"kind": "resource-group", "name": group, "subscription": sub,
                              "location": location, "tags": {"env": env}})
            cause = faults.choice(sorted(CAUSES)) if faults.random() < broken else None
            pod_entries = _pods(sub, s, c, name, group, location, registry, cause)
            resources.append(pod_entries[0])  # the egress IP, before the cluster uses it
            resources.append({
                "kind": "cluster", "name": name, "group": group, "subscription": sub,
                "location": location, "kubernetes_version": rng.choice(VERSIONS),
                "node_pools": _pools(rng),
                "network": {"outbound_type": "loadBalancer",
                            "outbound_ips": [f"public-ip:pip-{name}"]},
                "tags": {"env": env, "team": rng.choice(("payments", "search", "platform",
                                                         "data")), "fleet": f"seed-{seed}"},
            })
            resources += pod_entries[1:]
            if cause:
                causes.append(cause)
                expected.append({"cluster": name, "namespace": "app", "workload": "web",
                                 "message_contains": [CAUSES[cause][2]]})
    return {
        "name": f"fleet-{subscriptions}x{clusters_per_subscription}-{seed}",
        "description": f"Generated fleet: {subscriptions} subscription(s) x "
                       f"{clusters_per_subscription} cluster(s), seed {seed}.",
        "resources": resources,
        "expect": {
            "clusters": subscriptions * clusters_per_subscription,
            "failing_checks": sorted({CAUSES[x][0] for x in causes}),
            "fixes": sorted({CAUSES[x][1] for x in causes}),
            "pods": expected,
            "notes": "broken clusters (cluster: cause): " + ", ".join(
                f"{p['cluster']}: {x}" for p, x in zip(expected, causes, strict=True)),
        },
    }


def generate_from_spec(spec: str) -> dict[str, Any]:
    """``SxC[:SEED]``, e.g. ``3x4:7`` — three subscriptions of four clusters, seed 7."""
    m = _SPEC.match(spec.strip())
    if not m:
        raise ValueError(f"fleet spec '{spec}' is not SxC[:SEED] (for example 3x4:7)")
    return generate(int(m["s"]), int(m["c"]), int(m["seed"] or 0))
