"""Generated fleets: many subscriptions and clusters from a seed, for scale and sweep tests.

``generate(3, 4, seed=7)`` is an ordinary scenario document (the same builders a YAML world
uses), so ``--scenario fleet:3x4:7`` serves it. The same arguments always give the same
document; the seed spreads environments, versions, regions and node-pool shapes.

Fleets have pods too: each subscription holds a Premium registry with one multi-arch image,
restricted to selected networks that allow the subscription's egress range; each cluster
egresses through its own public IP, holds AcrPull on its subscription's registry and runs
Deployments of that image. A seeded share of clusters is broken for one cause each, and the
document's ``expect`` lists exactly those clusters' failing pods, checks, fixes and causes.

Two forms of spec (:func:`generate_from_spec`):

- ``SxC[:SEED]`` — the classic fleet: 2 pods per cluster, each cluster broken with
  probability 0.25 for one of the three :data:`CAUSES`. Seeds give the worlds they always gave.
- ``SxC[:SEED]?pods=N&failing=F[&causes=...]`` — the benchmark fleet: ``pods`` per cluster
  (Deployments of at most 10 replicas), exactly ``round(F × clusters)`` clusters broken (a
  seeded sample), their causes dealt in turn from a seeded shuffle of ``causes`` — by default
  every cause of :data:`CATALOGUE` (each documented cause a cluster can have alone without
  breaking the others), ``classic`` for the three classic ones, or a comma-separated list.
"""

from __future__ import annotations

import math
import random
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

VERSIONS = ("1.29.9", "1.30.6", "1.30.6", "1.31.2")
LOCATIONS = ("eastus", "eastus2", "westeurope", "northeurope", "westus3")
# cause -> (failing check, fix, a stable fragment of the Failed event): the classic three
CAUSES: dict[str, tuple[str, str, str]] = {
    "missing-role": ("kubelet-identity-has-pull-role", "grant-pull-role", "401 Unauthorized"),
    "egress-ip": ("registry-allows-cluster-egress", "allow-cluster-egress-on-registry",
                  "403 Forbidden"),
    "typo": ("image-reference-valid", "correct-image-reference", "no such host"),
}
BROKEN_FRACTION = 0.25
MAX_REPLICAS = 10  # pods per Deployment in the benchmark form
_SPEC = re.compile(r"^(?P<s>\d+)x(?P<c>\d+)(?::(?P<seed>\d+))?(?:\?(?P<query>.*))?$")


@dataclass(frozen=True)
class Cause:
    """One way a cluster cannot pull (DESIGN.md, "The catalogue"), as the fleet builds it.

    ``check``: the check that FAILs; ``fix``: the fix that heals it ("" = report only);
    ``fragment``: a stable part of the pods' Failed event; ``scope``: ``cluster`` when every
    workload of the cluster fails, ``workload`` when only the first one does (its image or
    placement is wrong); ``scenario``: the built-in scenario it is modelled on."""

    check: str
    fix: str
    fragment: str
    scope: str
    scenario: str


CATALOGUE: dict[str, Cause] = {
    "missing-role": Cause("kubelet-identity-has-pull-role", "grant-pull-role",
                          "401 Unauthorized", "cluster", "missing-pull-role"),
    "egress-ip": Cause("registry-allows-cluster-egress", "allow-cluster-egress-on-registry",
                       "403 Forbidden", "cluster", "registry-firewall-missing-egress-ip"),
    "typo": Cause("image-reference-valid", "correct-image-reference", "no such host",
                  "workload", "login-server-typo"),
    "missing-tag": Cause("image-reference-valid", "correct-image-reference",
                         "app/web:v2: not found", "workload", "missing-tag"),
    "missing-repository": Cause("image-reference-valid", "correct-image-reference",
                                "failed to fetch anonymous token", "workload",
                                "missing-repository"),
    "arm64-pool": Cause("image-platform-matches-node", "set-os-node-selector",
                        "no match for platform in manifest", "workload",
                        "amd64-image-on-arm64-pool"),
    "windows-node-selector": Cause("image-platform-matches-node", "set-os-node-selector",
                                   "no match for platform in manifest", "workload",
                                   "linux-image-on-windows-pool"),
    "public-access-disabled": Cause("registry-allows-cluster-egress", "enable-selected-networks",
                                    "403 Forbidden", "cluster", "public-access-disabled"),
    "dns-zone-not-linked": Cause("private-dns-zone-linked", "link-private-dns-zone",
                                 "403 Forbidden", "cluster", "private-dns-zone-not-linked"),
    "peering-missing": Cause("vnet-peering-connected", "repair-vnet-peering", "i/o timeout",
                             "cluster", "peering-missing"),
    "nsg-deny": Cause("nsg-allows-registry", "", "i/o timeout", "cluster", "nsg-deny"),
    "pull-secret-sp-expired": Cause("pull-secret-sp-valid", "rotate-pull-secret-sp",
                                    "failed to fetch oauth token", "cluster",
                                    "pull-secret-sp-expired"),
    "pull-secret-admin-stale": Cause("pull-secret-admin-valid", "refresh-pull-secret-admin",
                                     "failed to fetch oauth token", "cluster",
                                     "pull-secret-admin-regenerated"),
    "cluster-sp-secret-expired": Cause("cluster-sp-secret-valid", "rotate-cluster-sp-secret",
                                       "failed to fetch oauth token", "cluster",
                                       "cluster-sp-secret-expired"),
    "kubelet-identity-removed": Cause("kubelet-identity-on-vmss", "reconcile-cluster",
                                      "failed to fetch anonymous token", "cluster",
                                      "kubelet-identity-removed-from-vmss"),
}
PRIVATE = ("dns-zone-not-linked", "peering-missing", "nsg-deny")  # private-endpoint causes


@dataclass(frozen=True)
class Options:
    """What the benchmark form sets; None for the classic form."""

    pods: int = 2
    failing: float = BROKEN_FRACTION
    causes: tuple[str, ...] = tuple(sorted(CATALOGUE))


def _pools(rng: random.Random) -> list[dict[str, Any]]:
    pools: list[dict[str, Any]] = [{"name": "system", "count": rng.choice((1, 2, 3))}]
    if rng.random() < 0.3:
        pools.append({"name": "arm", "arch": "arm64", "mode": "user",
                      "count": rng.choice((1, 2))})
    if rng.random() < 0.2:
        pools.append({"name": "win", "os": "windows", "mode": "user", "count": 1})
    return pools


def _registry(sub: str, s: int, *, legacy_image: bool) -> tuple[str, list[dict[str, Any]]]:
    name = f"fleetacr{s:02d}"
    group = f"rg-fleet-registry-{s:02d}"
    entries: list[dict[str, Any]] = [
        {"kind": "resource-group", "name": group, "subscription": sub, "location": "eastus"},
        # selected networks: the subscription's egress range (every cluster's own public IP)
        {"kind": "registry", "name": name, "group": group, "subscription": sub,
         "sku": "Premium", "default_action": "Deny", "ip_rules": [f"20.{100 + s}.0.0/16"]},
        {"kind": "image", "registry": f"registry:{name}", "repository": "app/web",
         "tags": ["v1"], "platforms": ["linux/amd64", "linux/arm64"]},
    ]
    if legacy_image:  # an amd64-only image, for the platform causes
        entries.append({"kind": "image", "registry": f"registry:{name}",
                        "repository": "app/legacy", "tags": ["v1"],
                        "platforms": ["linux/amd64"]})
    return name, entries


def _egress_address(s: int, c: int, outside: bool) -> str:
    """The cluster's own egress IP: inside the subscription's allowed range, or (egress-ip
    cause) an address that was never added to the registry's rules."""
    return f"{52 if outside else 20}.{100 + s}.{c // 250}.{c % 250 + 4}"


def _workloads(pods: int) -> list[tuple[str, int]]:
    """(name, replicas) of the Deployments that hold ``pods`` pods: ``web`` first."""
    count = max(1, math.ceil(pods / MAX_REPLICAS))
    names = ["web"] + [f"web-{i:02d}" for i in range(2, count + 1)]
    return [(n, pods // count + (1 if i < pods % count else 0)) for i, n in enumerate(names)]


@dataclass
class _Cluster:
    sub: str
    s: int
    c: int
    name: str
    group: str
    location: str
    registry: str
    cause: str | None


def _private_network(k: _Cluster) -> tuple[str, list[dict[str, Any]], dict[str, Any]]:
    """A private registry of the cluster's own behind a private endpoint in a hub VNet, and an
    AKS VNet for the cluster, broken as its cause says: the zone not linked to the AKS VNet,
    no peering, or an NSG denying 443 to the endpoints' subnet. Returns the registry's name,
    the entries and the cluster's network."""
    reg = f"fleetpe{k.s:02d}{k.c:04d}"
    hub, aks, nsg = f"vnet-hub-{k.name}", f"vnet-aks-{k.name}", f"nsg-{k.name}"
    zone = f"private-dns-zone:privatelink.azurecr.io@{k.group}"
    subnet: dict[str, Any] = {"name": "aks", "prefix": "10.41.0.0/22"}
    entries: list[dict[str, Any]] = [
        {"kind": "registry", "name": reg, "group": k.group, "subscription": k.sub,
         "location": k.location, "sku": "Premium", "public_network_access": "Disabled"},
        {"kind": "image", "registry": f"registry:{reg}", "repository": "app/web",
         "tags": ["v1"], "platforms": ["linux/amd64", "linux/arm64"]},
        {"kind": "vnet", "name": hub, "group": k.group, "subscription": k.sub,
         "location": k.location, "address_space": ["10.30.0.0/16"],
         "subnets": [{"name": "private-endpoints", "prefix": "10.30.1.0/24"}]},
    ]
    if k.cause == "nsg-deny":
        entries.append({"kind": "nsg", "name": nsg, "group": k.group, "subscription": k.sub,
                        "location": k.location, "rules": [
                            {"name": "deny-private-endpoints-443", "priority": 100,
                             "direction": "Outbound", "access": "Deny", "protocol": "Tcp",
                             "destination": "10.30.1.0/24", "destination_port": "443"}]})
        subnet["nsg"] = nsg
    entries.append({"kind": "vnet", "name": aks, "group": k.group, "subscription": k.sub,
                    "location": k.location, "address_space": ["10.41.0.0/16"],
                    "subnets": [subnet]})
    if k.cause != "peering-missing":
        entries.append({"kind": "peering", "from": f"vnet:{aks}", "to": f"vnet:{hub}",
                        "both_sides": True})
    links = [{"vnet": f"vnet:{hub}"}]
    if k.cause != "dns-zone-not-linked":
        links.append({"vnet": f"vnet:{aks}"})
    entries += [
        {"kind": "private-dns-zone", "name": "privatelink.azurecr.io", "group": k.group,
         "subscription": k.sub, "links": links},
        {"kind": "private-endpoint", "name": f"pe-{reg}", "group": k.group,
         "subscription": k.sub, "location": k.location,
         "subnet": f"vnet:{hub}/subnets/private-endpoints", "target": f"registry:{reg}",
         "dns_zone_group": {"zones": [zone]}},
    ]
    return reg, entries, {"subnet": f"vnet:{aks}/subnets/aks"}


def _cluster_entries(k: _Cluster, rng: random.Random, env: str, seed: int,
                     pods: int) -> list[dict[str, Any]]:
    """The cluster, what it pulls with and its workloads, broken for ``k.cause`` if given.
    Draws from ``rng`` exactly as the classic fleet always did (versions, pools, teams)."""
    from simulator.scenario import stable_uuid

    cause = k.cause
    registry = k.registry
    before: list[dict[str, Any]] = [
        {"kind": "public-ip", "name": f"pip-{k.name}", "group": k.group, "subscription": k.sub,
         "location": k.location, "address": _egress_address(k.s, k.c, cause == "egress-ip")}]
    network: dict[str, Any] = {"outbound_type": "loadBalancer",
                               "outbound_ips": [f"public-ip:pip-{k.name}"]}
    after: list[dict[str, Any]] = []
    kubelet = f"kubelet:{k.name}"
    pull_role = cause not in ("missing-role", "pull-secret-sp-expired", "pull-secret-admin-stale")
    secrets: list[str] = []
    cluster_extra: dict[str, Any] = {}
    if cause in PRIVATE:
        registry, entries, private_net = _private_network(k)
        before += entries
        network.update(private_net)
    elif cause == "public-access-disabled":
        registry = f"fleetpa{k.s:02d}{k.c:04d}"
        before += [{"kind": "registry", "name": registry, "group": k.group,
                    "subscription": k.sub, "location": k.location, "sku": "Premium",
                    "public_network_access": "Disabled"},
                   {"kind": "image", "registry": f"registry:{registry}",
                    "repository": "app/web", "tags": ["v1"],
                    "platforms": ["linux/amd64", "linux/arm64"]}]
    elif cause == "pull-secret-admin-stale":
        # the registry's admin password was regenerated; the secret holds the previous one
        registry = f"fleetad{k.s:02d}{k.c:04d}"
        before += [{"kind": "registry", "name": registry, "group": k.group,
                    "subscription": k.sub, "location": k.location, "sku": "Standard",
                    "admin_user_enabled": True,
                    "admin_password": f"Zq4+{stable_uuid('admin', k.name)[:18]}",
                    "admin_password2": f"Zq4+{stable_uuid('admin2', k.name)[:18]}"},
                   {"kind": "image", "registry": f"registry:{registry}",
                    "repository": "app/web", "tags": ["v1"],
                    "platforms": ["linux/amd64", "linux/arm64"]}]
        after.append({"kind": "pull-secret", "cluster": k.name, "namespace": "app",
                      "name": "acr-admin", "server": f"{registry}.azurecr.io",
                      "username": registry,
                      "password": f"Hx7/{stable_uuid('previous', k.name)[:18]}"})
        secrets = ["acr-admin"]
    elif cause == "pull-secret-sp-expired":
        app = f"acr-puller-{k.name}"
        before += [{"kind": "application", "name": app, "secrets": [
                       {"name": "pull", "value": f"{app}-secret", "created": "-180d",
                        "expires": "-2d"}]},
                   {"kind": "role-assignment", "principal": f"app:{app}", "role": "AcrPull",
                    "scope": f"registry:{registry}"}]
        after.append({"kind": "pull-secret", "cluster": k.name, "namespace": "app",
                      "name": "acr-pull", "server": f"{registry}.azurecr.io",
                      "username": stable_uuid("app", app), "password": f"app-secret:{app}/pull"})
        secrets = ["acr-pull"]
    elif cause == "cluster-sp-secret-expired":
        app = f"{k.name}-sp"
        before.append({"kind": "application", "name": app, "secrets": [
            {"name": "cluster", "value": f"{app}-secret", "created": "-366d", "expires": "-1d"}]})
        cluster_extra = {"identity": "service-principal", "service_principal": f"app:{app}"}
        kubelet = f"app:{app}"
    elif cause == "kubelet-identity-removed":
        cluster_extra = {"kubelet_identity_on_vmss": False}
    version = rng.choice(VERSIONS)
    pools = _pools(rng)
    team = rng.choice(("payments", "search", "platform", "data"))
    if cause == "arm64-pool":
        pools = [{"name": "armpool", "arch": "arm64", "mode": "system",
                  "count": pools[0]["count"]}]
    elif cause == "windows-node-selector" and not any(p.get("os") == "windows" for p in pools):
        pools.append({"name": "win", "os": "windows", "mode": "user", "count": 1})
    cluster = {
        "kind": "cluster", "name": k.name, "group": k.group, "subscription": k.sub,
        "location": k.location, "kubernetes_version": version,
        "node_pools": pools, "network": network,
        "tags": {"env": env, "team": team, "fleet": f"seed-{seed}"},
        **cluster_extra,
    }
    if pull_role:
        after.insert(0, {"kind": "role-assignment", "principal": kubelet, "role": "AcrPull",
                         "scope": f"registry:{registry}"})
    for i, (wname, replicas) in enumerate(_workloads(pods)):
        host = f"{registry}.azure{'acr' if cause == 'typo' and i == 0 else 'cr'}.io"
        image = f"{host}/app/web:v1"
        selector = {"kubernetes.io/os": "linux"}
        if i == 0:
            image = {"missing-tag": f"{host}/app/web:v2", "missing-repository":
                     f"{host}/app/webb:v1", "arm64-pool": f"{host}/app/legacy:v1"}.get(
                         cause or "", image)
            if cause == "windows-node-selector":
                selector = {"kubernetes.io/os": "windows"}
        workload: dict[str, Any] = {
            "kind": "workload", "cluster": k.name, "namespace": "app", "name": wname,
            "replicas": replicas, "node_selector": selector,
            "containers": [{"name": "web", "image": image}]}
        if secrets:
            workload["image_pull_secrets"] = secrets
        after.append(workload)
    return [*before, cluster, *after]


def generate(subscriptions: int, clusters_per_subscription: int, seed: int = 0,
             broken: float = BROKEN_FRACTION, *, options: Options | None = None
             ) -> dict[str, Any]:
    """The fleet document; ``options`` (the benchmark form) set pods, the exact failing share
    and the causes, else the classic fleet (``broken`` is each cluster's chance to break)."""
    if subscriptions < 1 or clusters_per_subscription < 0:
        raise ValueError("a fleet needs at least one subscription and zero or more clusters")
    rng = random.Random(seed)
    # a second stream for the breakage, so adding pods left the clusters' shapes as they were
    faults = random.Random(f"fleet-faults-{seed}")
    total = subscriptions * clusters_per_subscription
    dealt: dict[int, str] = {}
    if options is not None:
        picked = sorted(faults.sample(range(total), round(options.failing * total)))
        order = list(options.causes)
        faults.shuffle(order)
        dealt = {n: order[i % len(order)] for i, n in enumerate(picked)}
    legacy_image = options is not None and "arm64-pool" in options.causes
    pods = options.pods if options is not None else 2
    resources: list[dict[str, Any]] = []
    expected: list[dict[str, Any]] = []
    causes: dict[str, str] = {}
    for s in range(1, subscriptions + 1):
        sub = f"fleet-sub-{s:02d}"
        resources.append({"kind": "subscription", "name": sub,
                          "tags": {"fleet": f"seed-{seed}"}})
        registry, entries = _registry(sub, s, legacy_image=legacy_image)
        resources += entries
        for c in range(1, clusters_per_subscription + 1):
            env = rng.choice(("prod", "nonprod"))
            location = rng.choice(LOCATIONS)
            name = f"aks-{env}-{s:02d}-{c:02d}"
            group = f"rg-{name}"
            resources.append({"kind": "resource-group", "name": group, "subscription": sub,
                              "location": location, "tags": {"env": env}})
            if options is None:
                cause = faults.choice(sorted(CAUSES)) if faults.random() < broken else None
            else:
                cause = dealt.get((s - 1) * clusters_per_subscription + (c - 1))
            k = _Cluster(sub, s, c, name, group, location, registry, cause)
            resources += _cluster_entries(k, rng, env, seed, pods)
            if cause:
                causes[name] = cause
                spec = CATALOGUE[cause]
                failing = _workloads(pods)[: 1 if spec.scope == "workload" else None]
                expected += [{"cluster": name, "namespace": "app", "workload": w,
                              "message_contains": [spec.fragment]} for w, _ in failing]
    name = f"fleet-{subscriptions}x{clusters_per_subscription}-{seed}"
    if options is not None:
        name += f"-pods{options.pods}-failing{options.failing:g}"
        if options.causes != Options().causes:
            name += "-causes-" + "-".join(options.causes)
    return {
        "name": name,
        "description": f"Generated fleet: {subscriptions} subscription(s) x "
                       f"{clusters_per_subscription} cluster(s), seed {seed}"
                       + (f", {pods} pods per cluster, {len(causes)} broken." if options
                          else "."),
        "resources": resources,
        "expect": {
            "clusters": total,
            "failing_checks": sorted({CATALOGUE[x].check for x in causes.values()}),
            "fixes": sorted({CATALOGUE[x].fix for x in causes.values()} - {""}),
            "pods": expected,
            "causes": causes,
            "notes": "broken clusters (cluster: cause): " + ", ".join(
                f"{n}: {x}" for n, x in causes.items()),
        },
    }


def generate_from_spec(spec: str) -> dict[str, Any]:
    """``SxC[:SEED][?pods=N&failing=F&causes=...]``, e.g. ``3x4:7`` (three subscriptions of
    four clusters, seed 7) or ``1x1000:7?pods=20&failing=0.05``."""
    m = _SPEC.match(spec.strip())
    if not m:
        raise ValueError(f"fleet spec '{spec}' is not SxC[:SEED][?pods=N&failing=F] (for "
                         "example 3x4:7 or 1x1000:7?pods=20&failing=0.05)")
    options = None if m["query"] is None else parse_options(m["query"])
    return generate(int(m["s"]), int(m["c"]), int(m["seed"] or 0), options=options)


def parse_options(query: str) -> Options:
    """The benchmark form's parameters; every mistake names the parameter and what is valid."""
    try:
        params = parse_qs(query, keep_blank_values=True, strict_parsing=bool(query))
    except ValueError:
        raise ValueError(f"fleet options '{query}' are not NAME=VALUE pairs joined by '&' "
                         "(for example pods=20&failing=0.05)") from None
    unknown = sorted(set(params) - {"pods", "failing", "causes"})
    if unknown:
        raise ValueError(f"unknown fleet option(s) {unknown}; valid: causes, failing, pods")
    one = {k: v[-1] for k, v in params.items()}
    out = Options()
    if "pods" in one:
        if not one["pods"].isdigit() or int(one["pods"]) < 1:
            raise ValueError(f"fleet option pods must be a whole number >= 1 (pods per "
                             f"cluster), got '{one['pods']}'")
        out = Options(int(one["pods"]), out.failing, out.causes)
    if "failing" in one:
        try:
            failing = float(one["failing"])
        except ValueError:
            failing = -1.0
        if not 0 <= failing <= 1:
            raise ValueError(f"fleet option failing must be a share between 0 and 1 (0.05 = "
                             f"5 % of the clusters broken), got '{one['failing']}'")
        out = Options(out.pods, failing, out.causes)
    if "causes" in one:
        value = one["causes"].strip()
        chosen = tuple(sorted(CAUSES)) if value == "classic" else tuple(sorted(CATALOGUE)) \
            if value in ("all", "") else tuple(sorted({x.strip() for x in value.split(",")}))
        bad = sorted(set(chosen) - set(CATALOGUE))
        if bad:
            raise ValueError(f"unknown fleet cause(s) {bad}; valid: all, classic or any of "
                             f"{sorted(CATALOGUE)}")
        out = Options(out.pods, out.failing, chosen)
    return out
