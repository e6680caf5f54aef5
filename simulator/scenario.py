"""Scenarios: YAML worlds.

A scenario is ``name``, ``description``, optional ``tenant``/``settings``/``operator``, a list
of ``resources`` (each an entry with a ``kind`` whose builder a provider package registers)
and an ``expect:`` block (the specification later work is tested against). Entries are built
in order, so an entry may refer to any entry above it by reference (``registry:NAME``,
``identity:NAME``, ``app:NAME`` ...). Every entry is validated by its builder's pydantic
model, so a typo names the entry, the field and what is allowed.
"""

from __future__ import annotations

import datetime as dt
import importlib
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from simulator import safe_yaml
from simulator.core.world import DEFAULT_SETTINGS, World, merge

NAMESPACE = uuid.UUID("6f1b9a57-2f55-4d5e-9a0e-5c4d7e0b1a11")
PROVIDERS = (
    "identity", "resources", "authorization", "containerservice", "containerregistry",
    "compute", "network", "privatedns", "monitor", "policy", "graph", "registry",
    "kubelet", "kubernetes",
)


class ScenarioError(Exception):
    """A scenario cannot be loaded; the message names the file, the entry and the problem."""


class Spec(BaseModel):
    """Base for builder models: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


@dataclass
class Builder:
    kind: str
    model: type[Spec]
    fn: Callable[[World, Any], None]


BUILDERS: dict[str, Builder] = {}
# reference prefix -> ARM resource type, for scope references like ``registry:NAME``
REF_TYPES: dict[str, str] = {}


def builder(kind: str, model: type[Spec]) -> Callable[[Callable[[World, Any], None]],
                                                     Callable[[World, Any], None]]:
    def deco(fn: Callable[[World, Any], None]) -> Callable[[World, Any], None]:
        BUILDERS[kind] = Builder(kind, model, fn)
        return fn

    return deco


def load_providers() -> None:
    """Import every provider's routes and scenario builders (those that exist)."""
    for name in PROVIDERS:
        for module in ("urls", "scenario"):
            try:
                importlib.import_module(f"simulator.{name}.{module}")
            except ModuleNotFoundError as exc:
                if exc.name not in (f"simulator.{name}", f"simulator.{name}.{module}"):
                    raise
    importlib.import_module("simulator.core.lro")
    importlib.import_module("simulator.core.control")


# -- helpers for builders ----------------------------------------------------------------------
def stable_uuid(*parts: str) -> str:
    return str(uuid.uuid5(NAMESPACE, "|".join(p.lower() for p in parts)))


_REL = re.compile(r"^(?P<sign>[+-])(?P<n>\d+(?:\.\d+)?)(?P<unit>[smhd])$")


def when(world: World, value: str | int | float | dt.date) -> float:
    """``-30d`` / ``+90d`` / ``+2h`` relative to world time, or an ISO date/time."""
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, dt.datetime):
        return value.timestamp()
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC).timestamp()
    m = _REL.match(value.strip())
    if m:
        seconds = float(m["n"]) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[m["unit"]]
        return world.now() + (seconds if m["sign"] == "+" else -seconds)
    try:
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError as exc:
        raise ValueError(f"'{value}' is not a time: use -30d, +90d, +2h or an ISO date") from exc


def subscription_id(world: World, ref: str | None) -> str:
    subs = world.state["subscriptions"]
    if ref is None:
        if not subs:
            raise ValueError("no subscription defined yet; add a 'subscription' entry first")
        return next(iter(subs))
    for sid, sub in subs.items():
        if ref.lower() in (sid.lower(), sub["displayName"].lower()):
            return sid
    raise ValueError(f"unknown subscription '{ref}'; defined: "
                     f"{[s['displayName'] for s in subs.values()]}")


def resolve_scope(world: World, ref: str) -> str:
    """An ARM id, or ``subscription:NAME``, ``group:NAME`` / ``group:SUB/NAME``,
    ``<kind>:NAME`` (or ``<kind>:NAME@GROUP``) for any registered reference kind."""
    if ref.startswith("/"):
        return ref
    prefix, _, name = ref.partition(":")
    if prefix == "subscription":
        return f"/subscriptions/{subscription_id(world, name)}"
    if prefix == "group":
        sub, _, rg = name.rpartition("/")
        for r in world.named("Microsoft.Resources/resourceGroups", rg,
                             f"/subscriptions/{subscription_id(world, sub)}" if sub else None):
            return r["id"]
        raise ValueError(f"unknown resource group '{name}'")
    if prefix in REF_TYPES:
        # ``NAME@GROUP`` (or ``NAME@SUB/GROUP``) picks one of several resources with one name
        name, _, where = name.partition("@")
        scope = resolve_scope(world, f"group:{where}") if where else None
        candidates = world.named(REF_TYPES[prefix], name, scope)
        if not candidates:
            raise ValueError(f"unknown {prefix} '{name}'{' in ' + where if where else ''} "
                             "(define it above this entry)")
        return candidates[0]["id"]
    raise ValueError(f"cannot resolve scope '{ref}': use an ARM id or one of "
                     f"{sorted(['subscription', 'group', *REF_TYPES])}:NAME")


PRINCIPAL_RESOLVERS: dict[str, Callable[[World, str], str]] = {}


def resolve_principal(world: World, ref: str) -> str:
    """``identity:NAME``, ``app:NAME``, ``user:UPN``, ``group:NAME``, ``operator``, any
    resolver a provider registers (e.g. ``kubelet:CLUSTER``), or an object id."""
    if re.fullmatch(r"[0-9a-fA-F-]{36}", ref):
        return ref
    if ref == "operator":
        return world.state["scenario"]["operator"]["_credentials"]["object_id"]
    prefix, _, name = ref.partition(":")
    g = world.graph
    if prefix == "app":
        for sp in g["servicePrincipals"].values():
            if sp["displayName"].lower() == name.lower() and sp["servicePrincipalType"] == \
                    "Application":
                return sp["id"]
    elif prefix == "identity":
        for sp in g["servicePrincipals"].values():
            if sp["displayName"].lower() == name.lower() and sp["servicePrincipalType"] == \
                    "ManagedIdentity":
                return sp["id"]
    elif prefix == "user":
        for u in g["users"].values():
            if name.lower() in (u["userPrincipalName"].lower(), u["displayName"].lower()):
                return u["id"]
    elif prefix == "group":
        for grp in g["groups"].values():
            if grp["displayName"].lower() == name.lower():
                return grp["id"]
    elif prefix in PRINCIPAL_RESOLVERS:
        return PRINCIPAL_RESOLVERS[prefix](world, name)
    else:
        raise ValueError(f"cannot resolve principal '{ref}': use an object id, 'operator' or "
                         f"one of {sorted(['app', 'identity', 'user', 'group', *PRINCIPAL_RESOLVERS])}:NAME")
    raise ValueError(f"unknown principal '{ref}' (define it above this entry)")


# -- loading -----------------------------------------------------------------------------------
class OperatorSpec(Spec):
    roles: list[dict[str, str]] | None = None


class ExpectedPod(Spec):
    """A pod the scenario leaves unable to pull, as ``kubectl`` shows it."""

    cluster: str
    namespace: str = "default"
    workload: str  # the owning workload's name (the pod's app label)
    container: str | None = None  # default: the workload's only/first failing container
    message_contains: list[str] = []  # fragments of the kubelet's Failed event message


class ExpectRemediation(Spec):
    """What remediating the scenario's cluster must end in (pullfix's remediation loop):
    ``outcome`` healed | partly_healed | blocked | failed; ``kept``: the fixes applied and kept
    (never rolled back); ``blocked``: fix → a fragment of why it was blocked before any write;
    ``writes``: the exact number of write requests the twin may see (0: nothing attempted);
    ``min_passes``: a cause hidden behind another needs more than one pass."""

    cluster: str = "aks-app"
    policy: str = "default"  # policies/NAME.yaml or tests/policies/NAME.yaml
    outcome: Literal["healed", "partly_healed", "blocked", "failed"]
    kept: list[str] = []
    blocked: dict[str, str] = {}
    writes: int | None = None
    min_passes: int = 1


class ExpectSpec(Spec):
    """The specification a scenario is tested against (later work: diagnosis and fixes).

    ``failing_checks``: exactly the checks (DESIGN.md catalogue names) that must report FAIL;
    ``fixes``: the fixes that heal it; ``category``: the classifier category of the pull error
    (``unauthorized | not_found | forbidden | timeout | platform_mismatch | other``) and, for
    ``other``, its ``subcause``; ``pods``: the pods that cannot pull. A healthy scenario has
    empty lists.
    """

    failing_checks: list[str] = []
    fixes: list[str] = []
    category: str | None = None
    subcause: str | None = None
    pods: list[ExpectedPod] = []
    clusters: int | None = None  # fleets: how many clusters the world holds
    causes: dict[str, str] = {}  # fleets: broken cluster -> its cause (simulator.fleet)
    remediation: ExpectRemediation | None = None
    notes: str = ""


class ScenarioDoc(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    description: str = ""
    tenant: dict[str, str] = {}
    settings: dict[str, Any] = {}
    operator: OperatorSpec = OperatorSpec()
    resources: list[dict[str, Any]] = []
    expect: ExpectSpec = ExpectSpec()


def scenario_dir() -> Path:
    return Path(str(resources.files("simulator").joinpath("scenarios")))


def scenario_names() -> list[str]:
    return sorted(p.stem for p in scenario_dir().glob("*.yaml"))


def read_scenario(name_or_path: str) -> tuple[dict[str, Any], str]:
    """The scenario document and where it came from."""
    if name_or_path.startswith("generate:") or name_or_path.startswith("fleet:"):
        from simulator.fleet import generate_from_spec

        try:
            return generate_from_spec(name_or_path.split(":", 1)[1]), name_or_path
        except ValueError as exc:
            raise ScenarioError(str(exc)) from None
    path = Path(name_or_path)
    if not path.exists():
        path = scenario_dir() / f"{name_or_path}.yaml"
    if not path.exists():
        raise ScenarioError(
            f"unknown scenario '{name_or_path}': not a file, and not one of the built-in "
            f"scenarios {scenario_names()} (list them with: python -m simulator scenarios)"
        )
    try:
        doc = safe_yaml.read(path)
    except safe_yaml.YamlLimitError as exc:
        raise ScenarioError(f"{path}: {exc}") from None
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{path}: not valid YAML: {exc}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"{path}: cannot read: {getattr(exc, 'strerror', None) or exc}") from None
    if not isinstance(doc, dict):
        raise ScenarioError(f"{path}: a scenario is a mapping with 'name' and 'resources'")
    return doc, str(path)


def _entry_label(i: int, entry: dict[str, Any]) -> str:
    name = entry.get("name") or entry.get("id") or ""
    return f"resources[{i}] (kind: {entry.get('kind')}{', name: ' + str(name) if name else ''})"


def build_world(doc: dict[str, Any], origin: str = "<scenario>") -> World:
    load_providers()
    try:
        scen = ScenarioDoc.model_validate(doc)
    except ValidationError as exc:
        raise ScenarioError(f"{origin}: {_pretty(exc)}") from exc
    tenant_id = scen.tenant.get("id") or stable_uuid("tenant", scen.name)
    world = World(tenant_id)
    unknown = set(scen.settings) - set(DEFAULT_SETTINGS)
    if unknown:
        raise ScenarioError(f"{origin}: unknown settings {sorted(unknown)}; valid: "
                            f"{sorted(DEFAULT_SETTINGS)}")
    merge(world.settings, scen.settings)
    world.state["scenario"] = {
        "name": scen.name,
        "description": scen.description,
        "domains": [scen.tenant.get("domain", f"{scen.name.replace('_', '-')}.onmicrosoft.com")],
        "expect": scen.expect.model_dump(),
        "operator": {},
    }
    from simulator.authorization.models import install_builtin_roles

    install_builtin_roles(world)
    for i, entry in enumerate(scen.resources):
        kind = entry.get("kind")
        if kind not in BUILDERS:
            raise ScenarioError(f"{origin}: {_entry_label(i, entry)}: unknown kind '{kind}'; "
                                f"valid: {sorted(BUILDERS)}")
        b = BUILDERS[kind]
        try:
            spec = b.model.model_validate({k: v for k, v in entry.items() if k != "kind"})
            b.fn(world, spec)
        except ValidationError as exc:
            raise ScenarioError(f"{origin}: {_entry_label(i, entry)}: {_pretty(exc)}") from exc
        except (ValueError, KeyError) as exc:
            raise ScenarioError(f"{origin}: {_entry_label(i, entry)}: {exc}") from exc
    try:
        _install_operator(world, scen.operator)
    except (ValueError, KeyError) as exc:
        raise ScenarioError(f"{origin}: operator: {exc}") from exc
    world.settle()
    world.mark_initial()
    return world


def _pretty(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(x) for x in err["loc"]) or "(top)"
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown field"
        parts.append(f"field '{loc}': {msg}")
    return "; ".join(parts)


def _install_operator(world: World, spec: OperatorSpec) -> None:
    """The identity pullfix runs as: an app registration (service principal) with a secret,
    and a user-assigned managed identity served by the managed-identity endpoint."""
    from simulator.authorization.models import create_role_assignment, role_by_name
    from simulator.identity.models import (
        create_application,
        create_managed_identity_principal,
        make_password_credential,
        new_secret,
    )
    from simulator.resources.models import create_resource_group

    app, sp = create_application(
        world, "pullfix-operator", app_id=stable_uuid("operator-app", world.tenant_id),
        object_id=stable_uuid("operator-app-obj", world.tenant_id),
        sp_object_id=stable_uuid("operator-sp", world.tenant_id),
    )
    secret = new_secret()
    cred, _ = make_password_credential(world, display_name="pullfix", end=world.now() + 2 * 365
                                       * 86400, value=secret)
    app["passwordCredentials"].append(cred)
    sub = subscription_id(world, None) if world.state["subscriptions"] else None
    mi_client = stable_uuid("operator-mi-client", world.tenant_id)
    mi_principal = stable_uuid("operator-mi-principal", world.tenant_id)
    mi_id = ""
    if sub:
        rg = create_resource_group(world, sub, "pullfix-system", "eastus")
        mi_id = f"{rg['id']}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/pullfix"
        world.put({
            "id": mi_id, "name": "pullfix", "location": "eastus", "tags": {},
            "type": "Microsoft.ManagedIdentity/userAssignedIdentities",
            "properties": {"tenantId": world.tenant_id, "principalId": mi_principal,
                           "clientId": mi_client, "isolationScope": "None"},
        })
        create_managed_identity_principal(world, name="pullfix", resource_id=mi_id,
                                          client_id=mi_client, principal_id=mi_principal)
    world.state["scenario"]["operator"] = {
        "_credentials": {"client_id": app["appId"], "client_secret": secret,
                         "object_id": sp["id"], "mi_client_id": mi_client,
                         "mi_principal_id": mi_principal},
        "_host_identities": [{"client_id": mi_client, "principal_id": mi_principal,
                              "resource_id": mi_id}] if mi_id else [],
    }
    roles = spec.roles
    if roles is None:
        roles = [{"role": "Owner", "scope": f"/subscriptions/{s}"}
                 for s in world.state["subscriptions"]]
    for principal in (sp["id"], mi_principal):
        for r in roles:
            create_role_assignment(
                world, scope=resolve_scope(world, r["scope"]),
                role_definition_id=role_by_name(world, r["role"])["name"],
                principal_id=principal, effective_now=True,
                name=stable_uuid("operator-ra", principal, r["role"], r["scope"]),
            )
