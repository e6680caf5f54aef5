from __future__ import annotations

from typing import Literal

from simulator.containerregistry.models import build_registry
from simulator.containerregistry.private_endpoints import add_connection
from simulator.core.errors import CloudError
from simulator.core.world import World
from simulator.scenario import REF_TYPES, Spec, builder, subscription_id

REF_TYPES["registry"] = "Microsoft.ContainerRegistry/registries"


class IpRuleSpec(Spec):
    value: str  # an IPv4 address or CIDR range
    action: Literal["Allow"] = "Allow"


class RegistrySpec(Spec):
    name: str
    group: str
    subscription: str | None = None
    location: str = "eastus"
    sku: Literal["Basic", "Standard", "Premium"] = "Standard"
    admin_user_enabled: bool = False
    admin_password: str | None = None  # a fixed 'password' lets a scenario pre-wire secrets
    admin_password2: str | None = None
    public_network_access: Literal["Enabled", "Disabled"] = "Enabled"
    default_action: Literal["Allow", "Deny"] = "Allow"
    ip_rules: list[str | IpRuleSpec] = []
    anonymous_pull: bool = False
    role_assignment_mode: Literal["LegacyRegistryPermissions",
                                  "AbacRepositoryPermissions"] = "LegacyRegistryPermissions"
    data_endpoint_enabled: bool = False
    tags: dict[str, str] = {}
    # ids of private endpoints already connected (auto-approved) to the registry
    private_endpoint_connections: list[str] = []


@builder("registry", RegistrySpec)
def build_registry_entry(world: World, spec: RegistrySpec) -> None:
    sub = subscription_id(world, spec.subscription)
    rules = [{"action": "Allow", "value": r} if isinstance(r, str) else r.model_dump()
             for r in spec.ip_rules]
    world.require_scope(f"/subscriptions/{sub}/resourceGroups/{spec.group}")
    try:
        doc = build_registry(
            world, sub=sub, group=spec.group, name=spec.name, location=spec.location,
            sku=spec.sku, tags=spec.tags, properties={
                "adminUserEnabled": spec.admin_user_enabled,
                "publicNetworkAccess": spec.public_network_access,
                "networkRuleSet": {"defaultAction": spec.default_action, "ipRules": rules},
                "anonymousPullEnabled": spec.anonymous_pull,
                "roleAssignmentMode": spec.role_assignment_mode,
                "dataEndpointEnabled": spec.data_endpoint_enabled,
            },
            admin_passwords={"password": spec.admin_password or "",
                             "password2": spec.admin_password2 or ""},
        )
    except CloudError as exc:
        raise ValueError(exc.body["error"]["message"]) from exc
    world.put(doc)
    for endpoint in spec.private_endpoint_connections:
        add_connection(world, doc["id"], private_endpoint_id=endpoint)
