"""The only place that builds Azure and Kubernetes clients.

Every client is built from the cloud profile (endpoints, audiences, CA bundle) and one shared
credential, and cached, so a sweep over a fleet reuses connections and tokens instead of
building a client per pod.
"""

from __future__ import annotations

import ssl
import threading
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from azure.containerregistry import ContainerRegistryClient
from azure.core.credentials import TokenCredential
from azure.identity import DefaultAzureCredential

from tasks.cloud import CloudProfile, from_environment
from tasks.kube_access import (
    AKS_SERVER_SCOPE,
    AccessPath,
    KubeAccess,
    RunCommandApiClient,
    access_path,
    is_entra,
)
from tasks.ratelimit import ArmBudgetPolicy, Budget

T = TypeVar("T")
# azure-core's retryable methods (RetryPolicy's default) plus POST, for the POST actions that
# only read (listClusterUserCredential): a lost answer is asked for again
READ_ACTION_RETRY = frozenset({"HEAD", "GET", "PUT", "DELETE", "OPTIONS", "TRACE", "POST"})


def _ssl_context(ca_bundle: str | None) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=ca_bundle) if ca_bundle else ssl.create_default_context()


def build_credential(profile: CloudProfile) -> TokenCredential:
    """DefaultAzureCredential against the profile's authority.

    Works unchanged with a service principal (``AZURE_CLIENT_ID``/``AZURE_CLIENT_SECRET``),
    workload identity, or a managed identity (``IDENTITY_ENDPOINT``/``IDENTITY_HEADER``).
    """
    kwargs: dict[str, Any] = {
        "authority": profile.authority_host,
        "exclude_interactive_browser_credential": True,
        "exclude_visual_studio_code_credential": True,
        "exclude_shared_token_cache_credential": True,
        "exclude_powershell_credential": True,
        "exclude_developer_cli_credential": True,
    }
    if profile.disable_instance_discovery:
        kwargs["disable_instance_discovery"] = True
    if profile.ca_bundle:
        kwargs["connection_verify"] = profile.ca_bundle
    return DefaultAzureCredential(**kwargs)


class Clients:
    """Shared, lazily built clients for one cloud and one identity."""

    def __init__(self, profile: CloudProfile | None = None,
                 credential: TokenCredential | None = None, *,
                 arm_rate_per_second: float | None = None,
                 rate_limit: ArmBudgetPolicy | None = None) -> None:
        self.profile = profile or from_environment()
        # ARM's budget, paced before sending (tasks/ratelimit.py); ``arm_rate_per_second``
        # sets the sustained read rate (ARM's is 25), the burst ten seconds of it
        self.rate_limit = rate_limit or (ArmBudgetPolicy({"reads": Budget(
            min(250.0, 10 * arm_rate_per_second), arm_rate_per_second)})
            if arm_rate_per_second else None)
        self.credential = credential or build_credential(self.profile)
        self._cache: dict[Any, Any] = {}
        self._lock = threading.Lock()

    def _transport_kwargs(self) -> dict[str, Any]:
        return {"connection_verify": self.profile.ca_bundle} if self.profile.ca_bundle else {}

    def arm(self, client_cls: Callable[..., T], subscription_id: str | None = None, **kwargs: Any) -> T:
        """An azure-mgmt-* client for ``subscription_id`` (cached per class+subscription)."""
        cache_key = (client_cls, subscription_id, tuple(sorted(kwargs.items())))
        with self._lock:
            if cache_key not in self._cache:
                args: list[Any] = [self.credential]
                if subscription_id is not None:
                    args.append(subscription_id)
                extra = dict(kwargs)
                if self.rate_limit is not None:
                    extra.setdefault("per_retry_policies", [self.rate_limit])
                self._cache[cache_key] = client_cls(
                    *args,
                    base_url=self.profile.arm_endpoint,
                    credential_scopes=[self.profile.arm_scope],
                    **self._transport_kwargs(),
                    **extra,
                )
            return self._cache[cache_key]

    def registry(self, login_server: str) -> ContainerRegistryClient:
        """An azure-containerregistry client for one registry (cached per login server).

        Entra tokens for the profile's ACR audience are exchanged for registry tokens by the
        SDK; the profile's registry proxy, when set, is how the registry host is reached
        (azure-core's ProxyPolicy hands ``proxies`` to the requests transport per request)."""
        cache_key = ("registry", login_server.lower())
        with self._lock:
            if cache_key not in self._cache:
                kwargs: dict[str, Any] = dict(self._transport_kwargs())
                if self.profile.registry_proxy:
                    kwargs["proxies"] = {"https": self.profile.registry_proxy}
                self._cache[cache_key] = ContainerRegistryClient(
                    endpoint=f"https://{login_server}", credential=self.credential,
                    audience=self.profile.acr_audience(), **kwargs,
                )
            return self._cache[cache_key]

    def graph(self) -> Any:
        """A msgraph GraphServiceClient against the profile's Graph endpoint."""
        with self._lock:
            if "graph" not in self._cache:
                import httpx

                from tasks.lazy import importing

                with importing():  # msgraph-sdk: the largest import pullfix makes
                    from kiota_authentication_azure.azure_identity_authentication_provider import (
                        AzureIdentityAuthenticationProvider,
                    )
                    from msgraph import GraphRequestAdapter, GraphServiceClient
                    from msgraph_core import GraphClientFactory

                host = self.profile.graph_endpoint.split("://", 1)[1].split("/")[0].split(":")[0]
                auth = AzureIdentityAuthenticationProvider(
                    self.credential, scopes=[self.profile.graph_scope], allowed_hosts=[host]
                )
                # no keep-alive: a pooled connection belongs to the event loop that opened it,
                # and callers run each Graph call in its own asyncio.run()
                http = GraphClientFactory.create_with_default_middleware(
                    client=httpx.AsyncClient(verify=_ssl_context(self.profile.ca_bundle), http2=False,
                                             limits=httpx.Limits(max_keepalive_connections=0))
                )
                adapter = GraphRequestAdapter(auth, http)
                adapter.base_url = self.profile.graph_endpoint.rstrip("/") + "/v1.0"
                self._cache["graph"] = GraphServiceClient(request_adapter=adapter)
            return self._cache["graph"]

    def kube_access(self, subscription_id: str, resource_group: str, cluster: str, *,
                    document: Mapping[str, Any] | None = None) -> KubeAccess:
        """How to reach the cluster's Kubernetes API (see :mod:`tasks.kube_access`), chosen
        from its ARM ``document`` (read here when not given) and cached per cluster: one ARM
        read and one credential call per cluster, never per pod."""
        cache_key = ("kube", subscription_id.lower(), resource_group.lower(), cluster.lower())
        with self._lock:
            cached = self._cache.get(cache_key)
        if cached is not None:
            return cached  # type: ignore[no-any-return]
        from azure.mgmt.containerservice import ContainerServiceClient

        aks = self.arm(ContainerServiceClient, subscription_id)
        if document is None:
            document = aks.managed_clusters.get(resource_group, cluster)
        path = access_path(document)
        api: Any = None
        if path is AccessPath.RUN_COMMAND:
            api = RunCommandApiClient(aks.managed_clusters, resource_group, cluster,
                                      self._aks_token if is_entra(document) else None)
        elif path is not AccessPath.STOPPED:
            api = self._kube_direct(aks, resource_group, cluster, entra=path is AccessPath.ENTRA)
        access = KubeAccess(path=path, api=api, cluster=cluster)
        with self._lock:
            self._cache[cache_key] = access
        return access

    def release_kube(self, subscription_id: str, resource_group: str, cluster: str) -> None:
        """Close and forget one cluster's Kubernetes client (its connection pool and TLS
        context): a sweep holds one cluster's at a time per worker, not the fleet's; the next
        use builds it again."""
        cache_key = ("kube", subscription_id.lower(), resource_group.lower(), cluster.lower())
        with self._lock:
            access = self._cache.pop(cache_key, None)
        if isinstance(access, KubeAccess) and access.api is not None:
            access.api.close()

    def _aks_token(self) -> str:
        """An Entra token for the AKS server application, from pullfix's own credential
        (azure-identity caches and refreshes it)."""
        return self.credential.get_token(AKS_SERVER_SCOPE).token

    def _kube_direct(self, aks: Any, resource_group: str, cluster: str, *, entra: bool) -> Any:
        """A kubernetes ApiClient on the user kubeconfig (listClusterUserCredential). For an
        Entra ID cluster its kubelogin ``exec`` user is replaced by pullfix's own Entra token,
        refreshed before each request — no kubelogin binary."""
        from kubernetes import config as k8s_config

        from tasks import kube
        from tasks.kubeconfig import parse_kubeconfig

        # a POST that only reads: azure-core retries it on a lost answer too (by default it
        # retries POST only on a 500/503/504)
        creds = aks.managed_clusters.list_cluster_user_credentials(
            resource_group, cluster, retry_on_methods=READ_ACTION_RETRY)
        if not creds.kubeconfigs:
            raise LookupError(f"cluster {cluster} returned no kubeconfig")
        doc = parse_kubeconfig(creds.kubeconfigs[0].value, cluster=cluster)
        if not entra:
            return kube.client_go_retries(k8s_config.new_client_from_config_dict(doc))
        for user in doc.get("users") or []:
            user["user"] = {"token": self._aks_token()}
        api = kube.client_go_retries(k8s_config.new_client_from_config_dict(doc))

        def refresh(conf: Any) -> None:
            conf.api_key["authorization"] = f"Bearer {self._aks_token()}"

        api.configuration.refresh_api_key_hook = refresh
        return api

    def kube(self, subscription_id: str, resource_group: str, cluster: str) -> Any:
        """A kubernetes ApiClient for the cluster, whichever way it is reached; a stopped
        cluster raises :class:`ClusterStopped`."""
        return self.kube_access(subscription_id, resource_group, cluster).client()

    def close(self) -> None:
        for cached in self._cache.values():
            client = cached.api if isinstance(cached, KubeAccess) else cached
            close = getattr(client, "close", None)
            if callable(close):
                try:
                    close()
                except TypeError:  # async clients' close() is a coroutine; nothing to flush
                    pass
