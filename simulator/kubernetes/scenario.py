"""Scenario entries for what lives inside a cluster: ``namespace``, ``pull-secret``,
``service-account`` and ``workload``. Each names its ``cluster`` (a ``cluster`` entry above it,
``NAME`` or ``NAME@GROUP``). Objects are created through the same code as the API (defaulting,
ServiceAccount admission, controllers, scheduler), so a world starts converged: the cluster's
nodes exist as soon as one of these entries refers to it (otherwise on its first request).

```yaml
- kind: pull-secret
  cluster: aks-prod
  namespace: shop
  name: acr-creds
  server: contosoacr.azurecr.io
  username: contosoacr
  password: registry-admin:contosoacr      # or app-secret:APP/SECRET, or a literal
- kind: service-account
  cluster: aks-prod
  namespace: shop
  name: web
  image_pull_secrets: [acr-creds]
- kind: workload
  cluster: aks-prod
  namespace: shop
  type: Deployment                         # the scenario's `kind:` is the entry kind
  name: web
  replicas: 2
  containers: [{name: web, image: contosoacr.azurecr.io/shop/web:1.4.2}]
  node_selector: {kubernetes.io/os: linux}
```
"""

from __future__ import annotations

import base64
import json
from typing import Any, Literal

from pydantic import AliasChoices, Field

from simulator.core.world import World
from simulator.kubernetes import batch, defaults, nodes, pods, store, sync
from simulator.scenario import Spec, builder, resolve_scope


def cluster_key(world: World, ref: str) -> tuple[str, dict[str, Any]]:
    """The Kubernetes key and document of a ``cluster`` entry; nodes and the bootstrap
    namespaces are created on first use."""
    ref = ref if ref.startswith(("cluster:", "/")) else f"cluster:{ref}"
    doc = world.get(resolve_scope(world, ref))
    if doc is None or "_k8s_key" not in doc:
        raise ValueError(f"'{ref}' is not a cluster")
    key = doc["_k8s_key"]
    sync.bootstrap(world, key)
    nodes.sync(world, key, doc)
    return key, doc


def _namespace(world: World, key: str, name: str) -> None:
    if store.get(world, key, "namespaces", name) is None:
        sync.ensure_namespace(world, key, name)


class NamespaceSpec(Spec):
    cluster: str
    name: str
    labels: dict[str, str] = {}


@builder("namespace", NamespaceSpec)
def build_namespace(world: World, spec: NamespaceSpec) -> None:
    key, _ = cluster_key(world, spec.cluster)
    if store.get(world, key, "namespaces", spec.name):
        raise ValueError(f"namespace '{spec.name}' already exists in cluster '{spec.cluster}'")
    sync.ensure_namespace(world, key, spec.name, spec.labels)


def resolve_password(world: World, value: str) -> str:
    """A literal, ``app-secret:APP/SECRET`` (the value fixed in that application's secret) or
    ``registry-admin:REGISTRY`` (the registry's current first admin password)."""
    prefix, _, rest = value.partition(":")
    if prefix == "app-secret":
        app_name, _, secret_name = rest.partition("/")
        for app in world.graph["applications"].values():
            if app["displayName"].lower() == app_name.lower():
                for cred in app["passwordCredentials"]:
                    if (cred.get("displayName") or "secret") == (secret_name or "secret") and \
                            cred.get("_scenarioValue"):
                        return cred["_scenarioValue"]
                raise ValueError(f"application '{app_name}' has no scenario secret "
                                 f"'{secret_name}'")
        raise ValueError(f"unknown application '{app_name}' (define it above this entry)")
    if prefix == "registry-admin":
        doc = world.get(resolve_scope(world, f"registry:{rest}"))
        if doc is None:
            raise ValueError(f"unknown registry '{rest}'")
        return doc["_adminPasswords"]["password"]
    return value


def dockerconfigjson(server: str, username: str, password: str, email: str | None = None) -> str:
    """The ``.dockerconfigjson`` ``kubectl create secret docker-registry`` writes."""
    entry: dict[str, str] = {"username": username, "password": password}
    if email:
        entry["email"] = email
    entry["auth"] = base64.b64encode(f"{username}:{password}".encode()).decode()
    return json.dumps({"auths": {server: entry}}, separators=(",", ":"))


class PullSecretSpec(Spec):
    cluster: str
    namespace: str = "default"
    name: str
    server: str
    username: str
    password: str
    email: str | None = None


@builder("pull-secret", PullSecretSpec)
def build_pull_secret(world: World, spec: PullSecretSpec) -> None:
    key, _ = cluster_key(world, spec.cluster)
    _namespace(world, key, spec.namespace)
    text = dockerconfigjson(spec.server, spec.username, resolve_password(world, spec.password),
                            spec.email)
    secret = {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/dockerconfigjson",
              "metadata": {"name": spec.name, "namespace": spec.namespace},
              "data": {".dockerconfigjson": base64.b64encode(text.encode()).decode()}}
    defaults.default_and_validate(secret)
    store.put(world, key, "secrets", secret)


class ServiceAccountSpec(Spec):
    cluster: str
    namespace: str = "default"
    name: str
    image_pull_secrets: list[str] = []


@builder("service-account", ServiceAccountSpec)
def build_service_account(world: World, spec: ServiceAccountSpec) -> None:
    key, _ = cluster_key(world, spec.cluster)
    _namespace(world, key, spec.namespace)
    sa = store.get(world, key, "serviceaccounts", spec.name, spec.namespace) or {
        "apiVersion": "v1", "kind": "ServiceAccount",
        "metadata": {"name": spec.name, "namespace": spec.namespace}}
    if spec.image_pull_secrets:
        sa["imagePullSecrets"] = [{"name": n} for n in spec.image_pull_secrets]
    store.put(world, key, "serviceaccounts", sa)


class ContainerSpec(Spec):
    name: str
    image: str
    image_pull_policy: Literal["Always", "IfNotPresent", "Never"] | None = None
    command: list[str] | None = None


class WorkloadSpec(Spec):
    cluster: str
    namespace: str = "default"
    workload_kind: Literal["Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "Pod"] = \
        Field("Deployment", validation_alias=AliasChoices("type", "workload_kind"))
    name: str
    replicas: int = Field(1, ge=0)
    containers: list[ContainerSpec] = Field(min_length=1)
    init_containers: list[ContainerSpec] = []
    image_pull_secrets: list[str] = []
    node_selector: dict[str, str] = {}
    service_account: str | None = None
    labels: dict[str, str] = {}
    schedule: str = "*/5 * * * *"  # CronJob


def _containers(items: list[ContainerSpec]) -> list[dict[str, Any]]:
    out = []
    for c in items:
        d: dict[str, Any] = {"name": c.name, "image": c.image}
        if c.image_pull_policy:
            d["imagePullPolicy"] = c.image_pull_policy
        if c.command:
            d["command"] = list(c.command)
        out.append(d)
    return out


def pod_template(spec: WorkloadSpec, restart: str | None = None) -> dict[str, Any]:
    labels = {"app": spec.name, **spec.labels}
    pod: dict[str, Any] = {"containers": _containers(spec.containers)}
    if spec.init_containers:
        pod["initContainers"] = _containers(spec.init_containers)
    if spec.image_pull_secrets:
        pod["imagePullSecrets"] = [{"name": n} for n in spec.image_pull_secrets]
    if spec.node_selector:
        pod["nodeSelector"] = dict(spec.node_selector)
    if spec.service_account:
        pod["serviceAccountName"] = spec.service_account
    if restart:
        pod["restartPolicy"] = restart
    return {"metadata": {"labels": labels}, "spec": pod}


@builder("workload", WorkloadSpec)
def build_workload(world: World, spec: WorkloadSpec) -> None:
    key, cluster = cluster_key(world, spec.cluster)
    _namespace(world, key, spec.namespace)
    kind = spec.workload_kind
    meta = {"name": spec.name, "namespace": spec.namespace, "labels": {"app": spec.name,
                                                                       **spec.labels}}
    if kind == "Pod":
        tpl = pod_template(spec)
        pods.create(world, key, {"metadata": {**meta, "labels": tpl["metadata"]["labels"]},
                                 "spec": tpl["spec"]})
        sync.sync(world, key, cluster)
        return
    group, plural = {"Deployment": ("apps", "deployments"), "StatefulSet": ("apps", "statefulsets"),
                     "DaemonSet": ("apps", "daemonsets"), "Job": ("batch", "jobs"),
                     "CronJob": ("batch", "cronjobs")}[kind]
    restart = "Never" if kind in ("Job", "CronJob") else None
    tpl = pod_template(spec, restart)
    body: dict[str, Any] = {"apiVersion": f"{group}/v1", "kind": kind, "metadata": meta}
    if kind == "CronJob":
        body["spec"] = {"schedule": spec.schedule, "jobTemplate": {"spec": {"template": tpl}}}
    elif kind == "Job":
        body["spec"] = {"template": tpl}
    else:
        body["spec"] = {"selector": {"matchLabels": dict(tpl["metadata"]["labels"])},
                        "template": tpl}
        if kind != "DaemonSet":
            body["spec"]["replicas"] = spec.replicas
        if kind == "StatefulSet":
            body["spec"]["serviceName"] = spec.name
    if store.get(world, key, f"{group}/{plural}", spec.name, spec.namespace):
        raise ValueError(f"{kind} '{spec.namespace}/{spec.name}' already exists")
    defaults.default_and_validate(body)
    store.put(world, key, f"{group}/{plural}", body)
    if kind == "Job":
        batch.prepare_job(body)
    if kind == "CronJob":
        # a world starts as if the schedule had just fired once
        batch.start_job(world, key, body, world.now())
    sync.sync(world, key, cluster)
