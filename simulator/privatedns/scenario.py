"""Scenario builder for private DNS zones, their A records and VNet links.

.. code-block:: yaml

    - kind: private-dns-zone
      name: privatelink.azurecr.io
      group: rg-dns
      a_records: [{name: myacr, ips: [10.1.2.4]}]
      links: [{vnet: vnet:hub, name: hub-link}]
"""

from __future__ import annotations

from simulator.core.world import World
from simulator.privatedns.models import ZONE, check_link, create_zone, link_doc, put_a_record
from simulator.scenario import REF_TYPES, Spec, builder, resolve_scope, subscription_id

REF_TYPES["private-dns-zone"] = ZONE


class ARecordSpec(Spec):
    name: str
    ips: list[str]
    ttl: int = 3600


class LinkSpec(Spec):
    vnet: str  # vnet:NAME or an ARM id
    name: str | None = None  # default: the VNet's name
    registration: bool = False


class PrivateDnsZoneSpec(Spec):
    name: str
    group: str
    subscription: str | None = None
    tags: dict[str, str] = {}
    a_records: list[ARecordSpec] = []
    links: list[LinkSpec] = []


@builder("private-dns-zone", PrivateDnsZoneSpec)
def build_private_dns_zone(world: World, spec: PrivateDnsZoneSpec) -> None:
    sub = subscription_id(world, spec.subscription)
    zone_id = f"/subscriptions/{sub}/resourceGroups/{spec.group}/providers/{ZONE}/{spec.name}"
    world.require_scope(zone_id)
    zone = create_zone(world, zone_id, spec.name, spec.tags)
    for rec in spec.a_records:
        put_a_record(world, zone_id, rec.name, rec.ips, rec.ttl)
    for link in spec.links:
        vnet_id = resolve_scope(world, link.vnet)
        name = link.name or vnet_id.rstrip("/").rsplit("/", 1)[-1]
        vnet_id = check_link(world, zone, name, vnet_id)
        world.put(link_doc(zone, name, vnet_id, registration=link.registration))
