"""The cloud profile: the one seam between pullfix and a cloud.

A profile says where ARM, Entra and Graph are, which token audiences they accept, what a
registry's login server looks like and which CA to trust. Built in: the three public
clouds. Any other cloud (Azure Stack, a sovereign cloud, the pullfix simulator) is described
by its ARM ``/metadata/endpoints`` document, exactly as ``az cloud register`` reads it.
"""

from __future__ import annotations

import json
import os
import ssl
import urllib.request
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict


class CloudProfileError(Exception):
    """The cloud cannot be described; the message names the endpoint and what to do."""


class CloudProfile(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    arm_endpoint: str
    authority_host: str
    graph_endpoint: str
    arm_audience: str
    graph_audience: str
    acr_login_server_suffix: str
    ca_bundle: str | None = None
    # an HTTP CONNECT proxy through which registry hosts (``<name>.azurecr.io``) are reached,
    # when the cloud's registries are not on this network's DNS (the simulator's are not)
    registry_proxy: str | None = None
    # known clouds need no instance discovery; any other authority must skip it (MSAL would
    # otherwise ask the public cloud about an authority it cannot know)
    disable_instance_discovery: bool = False

    @property
    def arm_scope(self) -> str:
        return self.arm_audience.rstrip("/") + "/.default"

    @property
    def graph_scope(self) -> str:
        return self.graph_audience.rstrip("/") + "/.default"

    def acr_audience(self) -> str:
        """The Entra audience of ACR's ``/oauth2/exchange`` (what azure-containerregistry and
        ``az acr login`` request): one for every cloud, and valid even when a registry
        disables ARM-audience tokens (``azureADAuthenticationAsArmPolicy``)."""
        return "https://containerregistry.azure.net"


AZURE_PUBLIC = CloudProfile(
    name="AzureCloud",
    arm_endpoint="https://management.azure.com/",
    authority_host="https://login.microsoftonline.com/",
    graph_endpoint="https://graph.microsoft.com/",
    arm_audience="https://management.azure.com/",
    graph_audience="https://graph.microsoft.com/",
    acr_login_server_suffix="azurecr.io",
)
AZURE_CHINA = CloudProfile(
    name="AzureChinaCloud",
    arm_endpoint="https://management.chinacloudapi.cn/",
    authority_host="https://login.chinacloudapi.cn/",
    graph_endpoint="https://microsoftgraph.chinacloudapi.cn/",
    arm_audience="https://management.chinacloudapi.cn/",
    graph_audience="https://microsoftgraph.chinacloudapi.cn/",
    acr_login_server_suffix="azurecr.cn",
)
AZURE_US_GOV = CloudProfile(
    name="AzureUSGovernment",
    arm_endpoint="https://management.usgovcloudapi.net/",
    authority_host="https://login.microsoftonline.us/",
    graph_endpoint="https://graph.microsoft.us/",
    arm_audience="https://management.usgovcloudapi.net/",
    graph_audience="https://graph.microsoft.us/",
    acr_login_server_suffix="azurecr.us",
)
BUILT_IN: dict[str, CloudProfile] = {
    c.name.lower(): c for c in (AZURE_PUBLIC, AZURE_CHINA, AZURE_US_GOV)
}


def _slash(url: str) -> str:
    return url if url.endswith("/") else url + "/"


def from_metadata(document: dict, *, arm_endpoint: str, ca_bundle: str | None,
                  registry_proxy: str | None = None) -> CloudProfile:
    """A profile from an ARM ``/metadata/endpoints`` document."""
    try:
        auth = document["authentication"]
        graph = document.get("microsoftGraphResourceId") or document["graph"]
        return CloudProfile(
            name=document["name"],
            arm_endpoint=_slash(document.get("resourceManager") or arm_endpoint),
            authority_host=_slash(auth["loginEndpoint"]),
            graph_endpoint=_slash(graph),
            arm_audience=auth["audiences"][0],
            graph_audience=_slash(graph),
            acr_login_server_suffix=document.get("suffixes", {}).get("acrLoginServer",
                                                                    "azurecr.io"),
            ca_bundle=ca_bundle,
            registry_proxy=registry_proxy,
            disable_instance_discovery=True,
        )
    except (KeyError, IndexError, TypeError) as exc:
        raise CloudProfileError(
            f"{arm_endpoint}metadata/endpoints is not a cloud metadata document "
            f"(missing {exc}); check the ARM endpoint"
        ) from exc


def discover(arm_endpoint: str, *, ca_bundle: str | None = None, timeout: float = 10.0,
             registry_proxy: str | None = None) -> CloudProfile:
    """Read ``{arm_endpoint}/metadata/endpoints`` (the document ``az cloud register`` reads)."""
    url = _slash(arm_endpoint) + "metadata/endpoints?api-version=2022-09-01"
    context = ssl.create_default_context(cafile=ca_bundle) if ca_bundle else None
    try:
        with urllib.request.urlopen(url, timeout=timeout, context=context) as resp:  # noqa: S310
            document = json.loads(resp.read())
    except OSError as exc:
        raise CloudProfileError(
            f"cannot read the cloud metadata at {url}: {exc}. Is the endpoint right and "
            "reachable, and is its CA in the bundle (REQUESTS_CA_BUNDLE)?"
        ) from exc
    except ValueError as exc:
        raise CloudProfileError(f"{url} did not answer with JSON: {exc}") from exc
    if isinstance(document, list):  # some api-versions answer with a list of clouds
        document = document[0]
    return from_metadata(document, arm_endpoint=_slash(arm_endpoint), ca_bundle=ca_bundle,
                         registry_proxy=registry_proxy)


CA_VARIABLES = ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE")


def ca_bundle_from(env: dict[str, str]) -> str | None:
    """The CA bundle the environment names, as an absolute path.

    A relative path means "relative to the folder this process started in", and a Prefect
    process worker runs each flow in another (temporary, then the checkout) folder, where the
    same words name nothing or another file: a path that exists here is made absolute, one
    that does not is an error naming the variable, rather than a TLS failure later."""
    for name in CA_VARIABLES:
        value = env.get(name)
        if not value:
            continue
        path = os.path.abspath(os.path.expanduser(value))
        if not os.path.isfile(path):
            hint = "" if os.path.isabs(value) else (
                f" (a relative path, read in {os.getcwd()}; a Prefect worker runs flows in "
                "another folder: set an absolute path)")
            raise CloudProfileError(f"{name}={value}: no such CA bundle file{hint}")
        return path
    return None


@dataclass
class _Cache:
    profiles: dict[tuple[str, str | None, str | None], CloudProfile] = field(default_factory=dict)


_CACHE = _Cache()


def from_environment(env: dict[str, str] | None = None) -> CloudProfile:
    """The cloud this process talks to.

    ``PULLFIX_ARM_ENDPOINT`` (a cloud described by its metadata document, e.g. the
    simulator's connection-file ``env``) wins; else ``PULLFIX_CLOUD`` names a built-in cloud;
    else the public cloud.
    """
    env = dict(os.environ if env is None else env)
    ca = ca_bundle_from(env)
    endpoint = env.get("PULLFIX_ARM_ENDPOINT")
    proxy = env.get("PULLFIX_REGISTRY_PROXY") or None
    if endpoint:
        cache_key = (endpoint, ca, proxy)
        if cache_key not in _CACHE.profiles:
            _CACHE.profiles[cache_key] = discover(endpoint, ca_bundle=ca, registry_proxy=proxy)
        return _CACHE.profiles[cache_key]
    name = env.get("PULLFIX_CLOUD", "AzureCloud")
    try:
        return BUILT_IN[name.lower()].model_copy(update={"ca_bundle": ca, "registry_proxy": proxy})
    except KeyError:
        raise CloudProfileError(
            f"unknown cloud '{name}' in PULLFIX_CLOUD; use one of "
            f"{sorted(c.name for c in BUILT_IN.values())}, or set PULLFIX_ARM_ENDPOINT to a "
            "cloud's ARM endpoint"
        ) from None
