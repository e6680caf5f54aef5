from __future__ import annotations

from typing import Any

from simulator.core.world import World
from simulator.monitor.models import record_event
from simulator.scenario import Spec, builder, resolve_principal, resolve_scope, stable_uuid, when


class ActivityEventSpec(Spec):
    """A past write, e.g. who disabled the registry's admin user ten days ago."""

    operation: str  # e.g. Microsoft.ContainerRegistry/registries/write
    resource: str  # ARM id or a reference such as registry:NAME
    caller: str = "operator"  # a principal reference or an object id
    when: str = "-1d"
    status: str = "Succeeded"
    method: str = "PUT"
    http_status: int = 200
    correlation_id: str | None = None
    category: str = "Administrative"
    level: str = "Informational"
    properties: dict[str, Any] = {}


@builder("activity-event", ActivityEventSpec)
def build_activity_event(world: World, spec: ActivityEventSpec) -> None:
    # the operator is installed after every entry, but its object id is fixed per tenant
    caller: Any = resolve_principal(world, spec.caller) if spec.caller != "operator" else {
        "oid": stable_uuid("operator-sp", world.tenant_id), "tid": world.tenant_id,
        "appid": stable_uuid("operator-app", world.tenant_id), "ver": "1.0"}
    record_event(
        world, operation_name=spec.operation, resource_id=resolve_scope(world, spec.resource),
        caller=caller, status=spec.status, http_method=spec.method,
        http_status=spec.http_status, when=when(world, spec.when),
        correlation_id=spec.correlation_id, category=spec.category, level=spec.level,
        properties=spec.properties,
    )
