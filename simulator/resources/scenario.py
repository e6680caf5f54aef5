from __future__ import annotations

from simulator.core.world import World
from simulator.resources.models import create_resource_group, create_subscription
from simulator.scenario import Spec, builder, stable_uuid, subscription_id


class SubscriptionSpec(Spec):
    name: str
    id: str | None = None
    tags: dict[str, str] = {}


@builder("subscription", SubscriptionSpec)
def build_subscription(world: World, spec: SubscriptionSpec) -> None:
    create_subscription(world, spec.id or stable_uuid("subscription", spec.name), spec.name,
                        spec.tags)


class ResourceGroupSpec(Spec):
    name: str
    subscription: str | None = None
    location: str = "eastus"
    tags: dict[str, str] = {}


@builder("resource-group", ResourceGroupSpec)
def build_resource_group(world: World, spec: ResourceGroupSpec) -> None:
    create_resource_group(world, subscription_id(world, spec.subscription), spec.name,
                          spec.location, spec.tags)
