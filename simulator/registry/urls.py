from simulator.containerregistry.models import registry_for_host
from simulator.core.routing import HOST_SERVICES, route
from simulator.registry import responses as r

# registry routes answer only on a registry's login server or data endpoint
HOST_SERVICES["acr"] = lambda world, host: registry_for_host(world, host) is not None

ACR = {"service": "acr", "action": ""}
route("GET|HEAD", "/v2/", **ACR)(r.v2_base)
route("GET", "/v2/_catalog", **ACR)(r.v2_catalog)
route("GET", "/v2/{name:path}/tags/list", **ACR)(r.v2_tags)
route("GET|HEAD", "/v2/{name:path}/manifests/{reference}", **ACR)(r.v2_manifest)
route("GET|HEAD", "/v2/{name:path}/blobs/{digest}", **ACR)(r.v2_blob)
route("GET", "/oauth2/token", **ACR)(r.token_get)
route("POST", "/oauth2/token", **ACR)(r.token_post)
route("POST", "/oauth2/exchange", **ACR)(r.exchange)
route("GET", "/acr/v1/_catalog", **ACR)(r.acr_catalog)
route("GET", "/acr/v1/{name:path}/_tags/{reference}", **ACR)(r.acr_tag)
route("GET", "/acr/v1/{name:path}/_tags", **ACR)(r.acr_tags)
route("GET", "/acr/v1/{name:path}/_manifests/{digest}", **ACR)(r.acr_manifest)
route("GET", "/acr/v1/{name:path}/_manifests", **ACR)(r.acr_manifests)
route("GET", "/acr/v1/{name:path}", **ACR)(r.acr_repository)
