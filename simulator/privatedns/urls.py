"""Microsoft.Network/privateDnsZones paths. Links are registered before the generic record
set routes, which would otherwise also match ``virtualNetworkLinks/{name}``."""

from simulator.core.routing import route
from simulator.privatedns import responses as r

ZONES = "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Network/privateDnsZones"
ZONE = ZONES + "/{zone}"

route("GET", "/subscriptions/{sub}/providers/Microsoft.Network/privateDnsZones")(r.list_zones)
route("GET", ZONES)(r.list_zones)
route("GET", ZONE)(r.get_zone)
route("GET", ZONE + "/virtualNetworkLinks")(r.list_links)
route("GET", ZONE + "/virtualNetworkLinks/{link}")(r.get_link)
route("PUT", ZONE + "/virtualNetworkLinks/{link}")(r.put_link)
route("PATCH", ZONE + "/virtualNetworkLinks/{link}")(r.patch_link)
route("DELETE", ZONE + "/virtualNetworkLinks/{link}")(r.delete_link)
route("GET", ZONE + "/recordsets")(r.list_records)
route("GET", ZONE + "/ALL")(r.list_records)
route("GET", ZONE + "/{type}")(r.list_records)
route("GET", ZONE + "/{type}/{record}")(r.get_record)
route("PUT", ZONE + "/{type}/{record}")(r.put_record)
