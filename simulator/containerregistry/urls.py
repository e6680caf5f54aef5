from simulator.containerregistry import responses as r
from simulator.core.routing import route

SUB = "/subscriptions/{sub}"
REG = SUB + "/resourceGroups/{rg}/providers/Microsoft.ContainerRegistry/registries/{name}"
PEC = REG + "/privateEndpointConnections"

route("GET", SUB + "/providers/Microsoft.ContainerRegistry/registries")(r.list_registries)
route("GET", SUB + "/resourceGroups/{rg}/providers/Microsoft.ContainerRegistry/registries")(
    r.list_registries)
route("POST", SUB + "/providers/Microsoft.ContainerRegistry/checkNameAvailability", write=False,
      action="Microsoft.ContainerRegistry/checkNameAvailability/read")(r.check_name_availability)
route("GET", REG)(r.get_registry)
route("PUT", REG)(r.create_registry)
route("PATCH", REG)(r.update_registry)
route("DELETE", REG)(r.delete_registry)
route("POST", REG + "/listCredentials")(r.list_credentials)
route("POST", REG + "/regenerateCredential")(r.regenerate_credential)
route("GET", REG + "/privateLinkResources")(r.list_private_link_resources)
route("GET", REG + "/privateLinkResources/{group}")(r.get_private_link_resource)
route("GET", PEC)(r.list_connections)
route("GET", PEC + "/{pec}")(r.get_connection)
route("PUT", PEC + "/{pec}")(r.put_connection)
route("DELETE", PEC + "/{pec}")(r.delete_connection)
