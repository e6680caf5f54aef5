from __future__ import annotations

from simulator.authorization.models import create_custom_role, create_role_assignment, role_by_name
from simulator.core.world import World
from simulator.scenario import Spec, builder, resolve_principal, resolve_scope, stable_uuid, when


class RoleAssignmentSpec(Spec):
    principal: str
    role: str
    scope: str
    name: str | None = None
    description: str | None = None
    # e.g. "+10m": granted just before the story starts and not yet honoured (Azure's
    # propagation delay), so "the role is there but the pull still fails" can be staged
    propagates_in: str | None = None


@builder("role-assignment", RoleAssignmentSpec)
def build_role_assignment(world: World, spec: RoleAssignmentSpec) -> None:
    try:
        role = role_by_name(world, spec.role)
    except KeyError:
        raise ValueError(f"unknown role '{spec.role}' (built-in name, custom role defined "
                         "above, or role definition GUID)") from None
    scope = resolve_scope(world, spec.scope)
    principal = resolve_principal(world, spec.principal)
    ra = create_role_assignment(
        world, scope=scope, role_definition_id=role["name"], principal_id=principal,
        name=spec.name or stable_uuid("ra", scope, principal, role["name"]), effective_now=True,
        description=spec.description,
    )
    if spec.propagates_in:
        ra["_effectiveAt"] = when(world, spec.propagates_in)


class PermissionSpec(Spec):
    actions: list[str] = []
    notActions: list[str] = []  # noqa: N815 - ARM's own field names
    dataActions: list[str] = []  # noqa: N815
    notDataActions: list[str] = []  # noqa: N815


class CustomRoleSpec(Spec):
    name: str
    scope: str
    description: str = ""
    permissions: list[PermissionSpec]


@builder("custom-role", CustomRoleSpec)
def build_custom_role(world: World, spec: CustomRoleSpec) -> None:
    create_custom_role(
        world, name=spec.name, scope=resolve_scope(world, spec.scope),
        permissions=[p.model_dump() for p in spec.permissions], description=spec.description,
    )
