"""azure-policy-conflicts — an Azure Policy assignment would deny or revert a fix's change.

Failure mode: a fix that changes the registry (``allow-cluster-egress-on-registry``,
``enable-selected-networks``: public network access Enabled with selected networks) is denied by
a ``Deny`` assignment ("Container registries should disable public network access" with effect
Deny) or silently undone by a ``Modify`` one ("Configure Container registries to disable public
network access"). The plan must say so instead of failing at apply time.

How: the policy assignments that apply to the registry (ARM ``policyAssignments`` listForResource:
at the registry, its group, its subscription, management groups), each one's definition (built-in
or custom), its effective effect (the assignment's ``effect`` parameter, else the definition's
default; ``enforcementMode: DoNotEnforce`` never conflicts), and the definition's ``if`` evaluated
on the registry as the fix would leave it (equals/notEquals/in/notIn/exists/allOf/anyOf/not; an
operator this evaluator does not know counts as matching — a false alarm is cheaper than a fix
that fails half-way). Initiatives (policy set definitions) are listed as not evaluated.

Kubelet text: none — a cross-cutting check, run per registry.
Evidence: each applicable assignment, its effect and whether it blocks a fix.
:func:`conflicts` is the pure entry point the remediation flow calls. NOT_APPLICABLE when the
registry is not visible. No fix is suggested.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from tasks.checks import _identity_reads as ir
from tasks.checks._rbac import guarded
from tasks.contract import Evidence, Finding, Group, Status, Target
from tasks.reads import Reads, parse_id
from tasks.registry import check

NAME = "azure-policy-conflicts"
RTYPE = "Microsoft.ContainerRegistry/registries"


def _leaves() -> dict[str, dict[str, Any]]:
    """What each registry-changing fix leaves behind (policy aliases without the type prefix),
    as the fix classes declare it (``Fix.leaves``)."""
    from tasks.fix import load_fixes

    return {name: dict(cls.leaves) for name, cls in load_fixes().items() if cls.leaves}


def _state(reg: Any, fix: str) -> dict[str, Any]:
    rules = reg.network_rule_set
    base = {"type": RTYPE, "name": reg.name, "location": reg.location,
            "publicNetworkAccess": str(getattr(reg.public_network_access, "value",
                                               reg.public_network_access) or "Enabled"),
            "networkRuleSet.defaultAction": str(getattr(rules.default_action, "value",
                                                        rules.default_action)) if rules else "Allow",
            "adminUserEnabled": bool(reg.admin_user_enabled),
            "anonymousPullEnabled": bool(reg.anonymous_pull_enabled)}
    return {k.lower(): v for k, v in {**base, **_leaves()[fix]}.items()}


def _same(a: Any, b: Any) -> bool:
    return str(a).lower() == str(b).lower()


def matches(cond: dict[str, Any], state: dict[str, Any]) -> bool:
    if "allOf" in cond:
        return all(matches(c, state) for c in cond["allOf"])
    if "anyOf" in cond:
        return any(matches(c, state) for c in cond["anyOf"])
    if "not" in cond:
        return not matches(cond["not"], state)
    field = str(cond.get("field", "")).lower().removeprefix(RTYPE.lower() + "/")
    value = state.get(field)
    if "equals" in cond:
        return value is not None and _same(value, cond["equals"])
    if "notEquals" in cond:
        return value is None or not _same(value, cond["notEquals"])
    if "in" in cond:
        return any(_same(value, v) for v in cond["in"])
    if "notIn" in cond:
        return not any(_same(value, v) for v in cond["notIn"])
    if "exists" in cond:
        return (value is not None) == _same(cond["exists"], "true")
    return True  # an operator we do not evaluate: assume it matches


def _assignments(reads: Reads, registry_id: str) -> list[tuple[Any, Any]]:
    from tasks.lazy import importing

    with importing():
        from azure.mgmt.resource.policy import PolicyClient
    p = parse_id(registry_id)
    client = reads.clients.arm(PolicyClient, p["subscription"])
    read = guarded(f"policy assignments for {registry_id}",
                   "Microsoft.Authorization/policyAssignments/read", "Reader")

    def load() -> list[tuple[Any, Any]]:
        out = []
        for a in read(lambda: list(client.policy_assignments.list_for_resource(
                p["resource_group"], "Microsoft.ContainerRegistry", "", "registries", p["name"]))):
            def_id = a.policy_definition_id or ""
            if "/policysetdefinitions/" in def_id.lower():
                out.append((a, None))
                continue
            name = def_id.rsplit("/", 1)[-1]
            getter = (client.policy_definitions.get_built_in if def_id.lower().startswith(
                "/providers/") else client.policy_definitions.get)
            defn = read(partial(getter, name))
            out.append((a, defn))
        return out
    return reads.memo(("policy", registry_id.lower()), load)


def _effect(a: Any, defn: Any) -> str:
    rule_effect = str((defn.policy_rule or {}).get("then", {}).get("effect", ""))
    if rule_effect.startswith("[parameters('"):
        pname = rule_effect.split("'")[1]
        given = (a.parameters or {}).get(pname)
        if given is not None and getattr(given, "value", None) is not None:
            return str(given.value)
        default = (defn.parameters or {}).get(pname)
        return str(getattr(default, "default_value", "") or "")
    return rule_effect


def conflicts(fix_names: list[str] | tuple[str, ...], target: Target, reads: Reads) -> dict[str, str]:
    """fix → the policy assignments that would deny or revert its change on ``target``'s registry."""
    if target.registry_id is None:
        return {}
    reg = ir.registry(reads, target.registry_id)
    leaves = _leaves()
    out: dict[str, str] = {}
    for fix in fix_names:
        if fix not in leaves:
            continue
        blocking = []
        for a, defn in _assignments(reads, reg.id):
            mode = str(getattr(a.enforcement_mode, "value", a.enforcement_mode) or "Default")
            if defn is None or mode.lower() == "donotenforce":
                continue
            effect = _effect(a, defn)
            if effect.lower() in ("deny", "modify") and matches(
                    (defn.policy_rule or {}).get("if", {}), _state(reg, fix)):
                blocking.append(f"policy assignment '{a.name}' ({defn.display_name}, "
                                f"{effect}) at {a.scope}")
        if blocking:
            out[fix] = f"{fix} is blocked by " + "; ".join(blocking)
    return out


@check(NAME, group=Group.REGISTRY, permissions=("Microsoft.Authorization/policyAssignments/read",
                                                "Microsoft.Authorization/policyDefinitions/read"))
def azure_policy_conflicts(target: Target, reads: Reads) -> Finding:
    if target.registry_id is None:
        return Finding(check=NAME, status=Status.NOT_APPLICABLE, group=Group.REGISTRY,
                       summary="the image's registry is not visible")
    found = conflicts(sorted(_leaves()), target, reads)
    listed = [{"assignment": a.name, "scope": a.scope, "definition": defn.display_name if defn
               else a.policy_definition_id, "effect": _effect(a, defn) if defn else "initiative"}
              for a, defn in _assignments(reads, target.registry_id)]
    ev = (Evidence(source=f"ARM GET {target.registry_id}/providers/Microsoft.Authorization/"
                   "policyAssignments", detail=f"{len(listed)} assignment(s) apply to the registry",
                   data={"assignments": listed, "conflicts": found}),)
    if found:
        return Finding(check=NAME, status=Status.FAIL, group=Group.REGISTRY, evidence=ev,
                       summary="; ".join(found.values()),
                       root_cause=f"policy-conflict:{target.registry_id.lower()}")
    return Finding(check=NAME, status=Status.PASS, group=Group.REGISTRY, evidence=ev,
                   summary="no policy assignment denies or reverts a registry fix")
