"""Routes of the per-cluster Kubernetes API: everything under ``/k8s/<cluster key>`` goes to one
handler, which routes like the API server (so unknown paths answer with a Kubernetes
``Status``, not an ARM error). ``service="k8s"``: the handler authenticates, not ARM."""

from simulator.core.routing import route
from simulator.kubernetes import responses as r

route("GET", "/k8s/{key}", service="k8s", write=False)(r.handle)
route("GET", "/k8s/{key}/{rest:path}", service="k8s", write=False)(r.handle)
route("POST|PUT|PATCH|DELETE", "/k8s/{key}/{rest:path}", service="k8s", write=True)(r.handle)
