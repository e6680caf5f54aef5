from simulator.core.routing import route
from simulator.resources import responses as r

RG = "/subscriptions/{sub}/resourceGroups/{rg}"
route("GET", "/subscriptions", action="")(r.list_subscriptions)
route("GET", "/tenants", action="")(r.list_tenants)
route("GET", "/subscriptions/{sub}")(r.get_subscription)
route("GET", "/subscriptions/{sub}/resourcegroups")(r.list_groups)
route("GET", RG)(r.get_group)
route("HEAD", RG)(r.head_group)
route("PUT", RG)(r.put_group)
route("DELETE", RG)(r.delete_group)
route("GET", "/subscriptions/{sub}/resources")(r.list_resources)
route("GET", RG + "/resources")(r.list_resources)
route("GET", "/subscriptions/{sub}/providers", action="Microsoft.Resources/subscriptions/read")(
    r.list_providers)
route("GET", "/subscriptions/{sub}/providers/{ns}",
      action="Microsoft.Resources/subscriptions/read")(r.get_provider)
