from simulator.core.routing import route
from simulator.identity import responses as r

route("GET", "/metadata/endpoints", service="public")(r.metadata_endpoints)
route("GET", "/msi/token", service="mi")(r.managed_identity_token)
route("GET", "/common/discovery/instance", service="entra")(r.instance_discovery)
route("GET", "/{tenant}/v2.0/.well-known/openid-configuration", service="entra")(
    r.openid_configuration)
route("GET", "/{tenant}/.well-known/openid-configuration", service="entra")(
    r.openid_configuration)
route("GET", "/{tenant}/discovery/v2.0/keys", service="entra")(r.keys)
route("GET", "/{tenant}/discovery/keys", service="entra")(r.keys)
route("POST", "/{tenant}/oauth2/v2.0/token", service="entra")(r.token)
route("POST", "/{tenant}/oauth2/token", service="entra")(r.token)
