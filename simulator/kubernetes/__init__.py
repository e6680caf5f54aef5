"""Each simulated AKS cluster's Kubernetes API (served at ``/k8s/<cluster key>``).

- ``urls.py`` / ``responses.py``: one handler for every path under ``/k8s/<key>``; it
  authenticates (``auth.py``), syncs the cluster (``sync.py``), then serves discovery
  (``discovery.py``) or a resource verb (``api.py``: selectors, paging, Table output via
  ``tables.py``, the three PATCH flavours via ``patch.py``); errors are ``Status`` objects
  (``errors.py``).
- ``store.py``: where objects live (the contract with the kubelet); ``resources.py``: the
  served types; ``defaults.py``: API-server defaulting, validation, ServiceAccount admission.
- Control plane: ``nodes.py`` (Nodes from the agent pools), ``pods.py`` (creation, scheduler,
  garbage collection), ``controllers.py`` + ``apps.py`` + ``sets.py`` + ``batch.py`` +
  ``cron.py`` (workload controllers), ``events.py`` (the event recorder).
- ``scenario.py``: the ``namespace``, ``pull-secret``, ``service-account`` and ``workload``
  entries.

Nodes and the bootstrap namespaces of a cluster are created when a scenario entry first refers
to the cluster, otherwise lazily on the cluster's first request; from then on every request
re-derives the nodes from the cluster document (pool count, pools added/removed/stopped).
"""
