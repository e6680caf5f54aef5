from __future__ import annotations

from typing import Any, Literal

from simulator.core.errors import CloudError
from simulator.core.ids import parse
from simulator.core.world import World
from simulator.policy import models
from simulator.policy.builtins import builtin_definitions
from simulator.scenario import Spec, builder, resolve_scope, subscription_id


class CustomDefinitionSpec(Spec):
    """A custom definition: ``if`` the resource type (and ``condition``) then ``effect``."""

    name: str  # display name
    effect: Literal["Audit", "Deny", "Modify", "Disabled", "AuditIfNotExists"]
    resource_type: str = "Microsoft.ContainerRegistry/registries"
    condition: dict[str, Any] | None = None  # policy-language condition ANDed with the type
    operations: list[dict[str, Any]] = []  # Modify: [{operation, field, value}]
    mode: str = "Indexed"


class PolicyAssignmentSpec(Spec):
    name: str
    scope: str  # subscription:NAME, group:NAME, registry:NAME or an ARM id
    definition: str | CustomDefinitionSpec  # built-in display name or GUID, or a custom one
    display_name: str | None = None
    parameters: dict[str, Any] = {}
    enforcement_mode: Literal["Default", "DoNotEnforce"] = "Default"
    not_scopes: list[str] = []
    description: str | None = None


def _definition_id(world: World, spec: PolicyAssignmentSpec, scope: str) -> str:
    d = spec.definition
    if isinstance(d, str):
        found = models.builtin(d)
        if found is None:
            names = sorted(x["properties"]["displayName"] for x in builtin_definitions())
            raise ValueError(f"unknown built-in policy definition '{d}'; known: {names}")
        return found["id"]
    rule_if: dict[str, Any] = {"allOf": [{"field": "type", "equals": d.resource_type}]}
    if d.condition:
        rule_if["allOf"].append(d.condition)
    then: dict[str, Any] = {"effect": d.effect}
    if d.operations:
        then["details"] = {"roleDefinitionIds": [
            "/providers/microsoft.authorization/roleDefinitions/"
            "b24988ac-6180-42a0-ab88-20f7382dd24c"], "operations": d.operations}
    sub = parse(scope).subscription or subscription_id(world, None)
    return models.create_custom_definition(
        world, sub=sub, display_name=d.name, policy_rule={"if": rule_if, "then": then},
        mode=d.mode)["id"]


@builder("policy-assignment", PolicyAssignmentSpec)
def build_policy_assignment(world: World, spec: PolicyAssignmentSpec) -> None:
    scope = resolve_scope(world, spec.scope)
    try:
        models.create_assignment(
            world, scope=scope, name=spec.name,
            policy_definition_id=_definition_id(world, spec, scope), parameters=spec.parameters,
            enforcement_mode=spec.enforcement_mode, display_name=spec.display_name,
            not_scopes=[resolve_scope(world, s) for s in spec.not_scopes],
            description=spec.description,
        )
    except CloudError as exc:
        raise ValueError(exc.body["error"]["message"]) from exc
