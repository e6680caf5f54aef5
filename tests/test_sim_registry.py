"""The ACR data plane, driven by the real azure-containerregistry client and raw HTTPS through
the simulator's registry proxy, as a client on the internet reaches a registry."""

from __future__ import annotations

import hashlib
import socket
from pathlib import Path
from typing import Any

import pytest
import requests
from azure.containerregistry import ContainerRegistryClient
from azure.core.exceptions import ClientAuthenticationError, ResourceNotFoundError

from tests.parity import example_response, shape_diff
from tests.simharness import Sim

WORLD = str(Path(__file__).parent / "worlds" / "reg-data.yaml")
pytestmark = pytest.mark.scenario(WORLD)

REGPULL = "regpull.azurecr.io"
ADMIN = ("regpull", "reg-admin-password-0001")
AUTH_MSG = "authentication required, visit https://aka.ms/acr/authorization for more information."
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_V2 = "application/vnd.docker.distribution.manifest.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"


def get(sim: Sim, host: str, path: str, **kwargs: Any) -> requests.Response:
    """Raw HTTPS to a registry host, through the proxy the connection file names."""
    return sim.session.get(f"https://{host}{path}", proxies={"https": sim.conn["registry_proxy"]},
                           verify=sim.ca, timeout=30, **kwargs)


def app_id(sim: Sim, name: str) -> str:
    apps = sim.snapshot()["graph"]["applications"].values()
    return next(a["appId"] for a in apps if a["displayName"] == name)


def admin_token(sim: Sim, scope: str, host: str = REGPULL, auth: Any = ADMIN) -> requests.Response:
    return get(sim, host, f"/oauth2/token?service={host}&scope={scope}", auth=auth)


def error_code(exc: Exception) -> str:
    return exc.response.json()["errors"][0]["code"]  # type: ignore[attr-defined]


# -- the challenge and where registry routes answer ------------------------------------------------
def test_v2_answers_with_acrs_exact_bearer_challenge(sim: Sim) -> None:
    # when a client without credentials asks the registry's API root
    resp = get(sim, REGPULL, "/v2/")
    # then ACR's challenge names its token realm and service, and its error body
    assert resp.status_code == 401
    assert resp.headers["WWW-Authenticate"] == (
        'Bearer realm="https://regpull.azurecr.io/oauth2/token",service="regpull.azurecr.io"')
    assert resp.json() == {"errors": [{"code": "UNAUTHORIZED", "message": AUTH_MSG,
                                       "detail": None}]}
    assert resp.headers["Docker-Distribution-Api-Version"] == "registry/2.0"


def test_repository_challenge_carries_the_pull_scope(sim: Sim) -> None:
    resp = get(sim, REGPULL, "/v2/app/web/manifests/v1")
    assert resp.status_code == 401
    assert resp.headers["WWW-Authenticate"].endswith(',scope="repository:app/web:pull"')
    assert resp.json()["errors"][0]["detail"] == [
        {"Type": "repository", "Name": "app/web", "Action": "pull"}]


def test_registry_routes_do_not_answer_on_the_simulator_address(sim: Sim) -> None:
    # given the simulator's own (ARM) address, /v2/ is no registry
    resp = sim.session.get(sim.arm + "v2/", verify=sim.ca, timeout=30)
    assert resp.status_code == 404
    assert resp.json()["error"]["code"] == "NotFound"


# -- the SDK with Entra tokens ----------------------------------------------------------------------
def test_operator_with_acrpull_lists_repositories_and_tags(sim: Sim) -> None:
    client = sim.clients().registry(REGPULL)
    assert sorted(client.list_repository_names()) == ["app/api", "app/web", "tools/busybox"]
    tags = {t.name: t for t in client.list_tag_properties("app/web")}
    assert set(tags) == {"latest", "v1"}
    v1 = client.get_tag_properties("app/web", "v1")
    # both tags were pushed together: one manifest
    assert v1.digest == tags["latest"].digest
    assert v1.name == "v1"
    props = client.get_repository_properties("app/web")
    assert (props.tag_count, props.manifest_count) == (2, 4)


def test_manifest_list_platforms_and_children(sim: Sim) -> None:
    client = sim.clients().registry(REGPULL)
    # when the SDK reads the manifest list by tag (it verifies Docker-Content-Digest itself)
    result = client.get_manifest("app/web", "v1")
    assert result.media_type == DOCKER_LIST
    platforms = [(m["platform"]["os"], m["platform"]["architecture"],
                  m["platform"].get("variant"), m["platform"].get("os.version"))
                 for m in result.manifest["manifests"]]
    assert platforms == [("linux", "amd64", None, None), ("linux", "arm64", "v8", None),
                         ("windows", "amd64", None, "10.0.20348.2582")]
    # then the manifest properties of each child carry its platform
    props = client.get_manifest_properties("app/web", "v1")
    assert props.digest == result.digest
    children = [m["digest"] for m in result.manifest["manifests"]]
    assert [(p.operating_system.value, p.architecture.value) for p in
            (client.get_manifest_properties("app/web", d) for d in children)] == [
        ("linux", "amd64"), ("linux", "arm64"), ("windows", "amd64")]
    # and each child is a single-platform docker v2 manifest, readable by digest
    child = client.get_manifest("app/web", children[1])
    assert child.media_type == DOCKER_V2 and child.digest == children[1]
    # the metadata API lists the list's references with their platforms
    attrs = get(sim, REGPULL, f"/acr/v1/app/web/_manifests/{result.digest}",
                headers=_bearer(sim, "repository:app/web:metadata_read")).json()["manifest"]
    assert attrs["references"] == [{"digest": d, "architecture": a, "os": o} for d, (o, a) in
                                   zip(children, [("linux", "amd64"), ("linux", "arm64"),
                                                  ("windows", "amd64")], strict=True)]


def test_oci_manifest_and_index(sim: Sim) -> None:
    client = sim.clients().registry(REGPULL)
    single = client.get_manifest("tools/busybox", "1.36")
    assert single.media_type == OCI_MANIFEST
    assert single.manifest["config"]["mediaType"] == "application/vnd.oci.image.config.v1+json"
    index = client.get_manifest("app/api", "v2")
    assert index.media_type == OCI_INDEX
    assert [m["platform"].get("variant") for m in index.manifest["manifests"]] == [None, "v8"]


def test_config_and_layer_blobs_download_with_their_digests(sim: Sim) -> None:
    client = sim.clients().registry(REGPULL)
    manifest = client.get_manifest("tools/busybox", "1.36").manifest
    for desc in [manifest["config"], *manifest["layers"]]:
        data = b"".join(client.download_blob("tools/busybox", desc["digest"]))
        assert "sha256:" + hashlib.sha256(data).hexdigest() == desc["digest"]
        assert len(data) == desc["size"]


def test_missing_tag_and_repository_in_acrs_words(sim: Sim) -> None:
    client = sim.clients().registry(REGPULL)
    with pytest.raises(ResourceNotFoundError):
        client.get_manifest("app/web", "v9")
    with pytest.raises(ResourceNotFoundError):
        client.get_manifest("app/nope", "v1")
    headers = _bearer(sim, "repository:app/web:pull")
    body = get(sim, REGPULL, "/v2/app/web/manifests/v9", headers=headers).json()["errors"][0]
    assert (body["code"], body["message"]) == ("MANIFEST_UNKNOWN",
                                               'manifest tagged by "v9" is not found')
    headers = _bearer(sim, "repository:app/nope:pull")
    resp = get(sim, REGPULL, "/v2/app/nope/manifests/v1", headers=headers)
    body = resp.json()["errors"][0]
    assert resp.status_code == 404
    assert (body["code"], body["message"]) == ("NAME_UNKNOWN",
                                               "repository name not known to registry")


def test_identity_without_a_pull_role_is_refused(sim: Sim) -> None:
    # given a registry where the operator holds no role at all
    client = sim.clients().registry("regnorole.azurecr.io")
    # then the SDK's token request for the scope is refused with ACR's 401
    with pytest.raises(ClientAuthenticationError) as exc:
        client.get_manifest("app/web", "v1")
    assert error_code(exc.value) == "UNAUTHORIZED"
    with pytest.raises(ClientAuthenticationError):
        list(client.list_repository_names())


def test_pull_role_granted_at_runtime_is_honoured(sim: Sim) -> None:
    from azure.mgmt.authorization import AuthorizationManagementClient
    from azure.mgmt.authorization.models import RoleAssignmentCreateParameters

    snap = sim.snapshot()
    reg_id = next(r["id"] for r in snap["resources"].values() if r.get("name") == "regnorole")
    acrpull = next(r["id"] for r in snap["resources"].values()
                   if r.get("properties", {}).get("roleName") == "AcrPull")
    sp_none = next(sp["id"] for sp in snap["graph"]["servicePrincipals"].values()
                   if sp["displayName"] == "sp-none")
    creds = (app_id(sim, "sp-none"), "sp-none-secret-0001")
    host = "regnorole.azurecr.io"
    # given an SP refused a pull token
    assert admin_token(sim, "repository:app/web:pull", host, creds).status_code == 401
    # when an access administrator grants it AcrPull on the registry with the real SDK call
    admin = sim.clients(app_id(sim, "rbac-admin"), "rbac-admin-secret-0001")
    admin.arm(AuthorizationManagementClient, sim.subscription).role_assignments.create(
        reg_id, "5c7c4b80-0000-4000-8000-000000000001", RoleAssignmentCreateParameters(
            role_definition_id=acrpull, principal_id=sp_none, principal_type="ServicePrincipal"))
    # then it is refused until Azure honours the assignment (minutes later), then it succeeds
    assert admin_token(sim, "repository:app/web:pull", host, creds).status_code == 401
    sim.advance(301)
    assert admin_token(sim, "repository:app/web:pull", host, creds).status_code == 200


# -- admin, service principal and anonymous logins ---------------------------------------------------
def test_admin_basic_auth_gets_a_token_and_pulls(sim: Sim) -> None:
    token = admin_token(sim, "repository:app/web:pull")
    assert token.status_code == 200, token.text
    resp = get(sim, REGPULL, "/v2/app/web/manifests/v1",
               headers={"Authorization": f"Bearer {token.json()['access_token']}",
                        "Accept": DOCKER_LIST})
    assert resp.status_code == 200
    assert resp.headers["Content-Type"] == DOCKER_LIST
    assert resp.headers["Docker-Content-Digest"] == "sha256:" + hashlib.sha256(
        resp.content).hexdigest()
    # HEAD answers the same headers without the body (how containerd resolves a tag)
    head = sim.session.head(f"https://{REGPULL}/v2/app/web/manifests/v1",
                            proxies={"https": sim.conn["registry_proxy"]}, verify=sim.ca,
                            timeout=30, headers={"Authorization": f"Bearer "
                                                 f"{token.json()['access_token']}",
                                                 "Accept": DOCKER_LIST})
    assert head.status_code == 200 and head.content == b""
    assert head.headers["Docker-Content-Digest"] == resp.headers["Docker-Content-Digest"]
    assert head.headers["Content-Length"] == str(len(resp.content))


def test_admin_wrong_password_is_unauthorized(sim: Sim) -> None:
    resp = admin_token(sim, "repository:app/web:pull", auth=("regpull", "not-the-password"))
    assert resp.status_code == 401
    assert resp.json()["errors"][0]["code"] == "UNAUTHORIZED"


def test_service_principal_basic_auth_follows_its_roles(sim: Sim) -> None:
    # given an SP holding AcrPull on regpull: its appId/secret work as docker credentials
    ok = admin_token(sim, "repository:app/web:pull", auth=(app_id(sim, "sp-puller"),
                                                          "sp-puller-secret-0001"))
    assert ok.status_code == 200
    direct = get(sim, REGPULL, "/v2/app/web/tags/list",
                 auth=(app_id(sim, "sp-puller"), "sp-puller-secret-0001"))
    assert direct.json() == {"name": "app/web", "tags": ["latest", "v1"]}
    # an SP without a role signs in but gets no pull token
    none = admin_token(sim, "repository:app/web:pull", auth=(app_id(sim, "sp-none"),
                                                            "sp-none-secret-0001"))
    assert none.status_code == 401
    assert none.json()["errors"][0]["detail"] == [
        {"Type": "repository", "Name": "app/web", "Action": "pull"}]
    # and a wrong secret is refused like a wrong password
    bad = admin_token(sim, "repository:app/web:pull", auth=(app_id(sim, "sp-puller"), "nope"))
    assert bad.status_code == 401


def test_anonymous_pull_only_where_enabled(sim: Sim) -> None:
    proxy = {"https": sim.conn["registry_proxy"]}
    # the SDK's anonymous client (credential=None) reads an image from a registry allowing it
    anon = ContainerRegistryClient("https://reganon.azurecr.io", None,
                                   connection_verify=sim.ca, proxies=proxy)
    assert anon.get_manifest("public/hello", "latest").media_type == DOCKER_V2
    # but anonymous pull is pull only: no catalog
    with pytest.raises(ClientAuthenticationError):
        list(anon.list_repository_names())
    # and elsewhere, no credentials means no token
    resp = get(sim, REGPULL, "/oauth2/token?service=regpull.azurecr.io"
               "&scope=repository:app/web:pull")
    assert resp.status_code == 401
    assert resp.json()["errors"][0]["code"] == "UNAUTHORIZED"


# -- ABAC registries ------------------------------------------------------------------------------
def test_abac_registry_ignores_acrpull(sim: Sim) -> None:
    # given the operator holds AcrPull on an ABAC-mode registry
    client = sim.clients().registry("regabac.azurecr.io")
    with pytest.raises(ClientAuthenticationError) as exc:
        client.get_manifest("app/web", "v1")
    assert error_code(exc.value) == "UNAUTHORIZED"


def test_abac_registry_honours_repository_reader(sim: Sim) -> None:
    client = sim.clients(app_id(sim, "abac-reader"), "abac-reader-secret-0001").registry(
        "regabac.azurecr.io")
    assert client.get_manifest("app/web", "v1").media_type == DOCKER_V2
    assert client.get_tag_properties("app/web", "v1").name == "v1"


# -- network rules ----------------------------------------------------------------------------------
def test_firewall_denies_the_clients_public_address(sim: Sim) -> None:
    resp = get(sim, "regfw.azurecr.io", "/v2/")
    assert resp.status_code == 403
    assert resp.json()["errors"][0]["code"] == "DENIED"
    assert resp.json()["errors"][0]["message"] == (
        "client with IP '198.51.100.7' is not allowed access. Refer https://aka.ms/acr/firewall "
        "to grant access.")
    with pytest.raises(Exception) as exc:  # noqa: B017 - the SDK's token exchange is refused
        sim.clients().registry("regfw.azurecr.io").get_manifest("app/web", "v1")
    assert exc.value.response.status_code == 403  # type: ignore[attr-defined]
    # when the client's egress address is the allowed one, the registry is reachable again
    sim.settings(client_public_ip="203.0.113.10")
    assert sim.clients().registry("regfw.azurecr.io").get_manifest("app/web", "v1").digest


# -- the proxy -------------------------------------------------------------------------------------
def _connect(sim: Sim, target: str) -> bytes:
    port = int(sim.conn["registry_proxy"].rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n".encode())
        return s.recv(4096)


def test_proxy_answers_a_typo_host_as_unresolvable(sim: Sim) -> None:
    answer = _connect(sim, "contoso.azureacr.io:443")
    assert answer.startswith(b"HTTP/1.1 502 Bad Gateway\r\n")
    assert b"dial tcp: lookup contoso.azureacr.io: no such host" in answer
    with pytest.raises(requests.exceptions.ProxyError):
        get(sim, "contoso.azureacr.io", "/v2/")


def test_proxy_tunnels_only_to_registry_hosts(sim: Sim) -> None:
    assert _connect(sim, "regpull.azurecr.io:443").startswith(
        b"HTTP/1.1 200 Connection established")
    assert _connect(sim, "127.0.0.1:443").startswith(b"HTTP/1.1 502")
    assert _connect(sim, "management.azure.com:443").startswith(b"HTTP/1.1 502")


def test_data_endpoint_host_serves_blobs(sim: Sim) -> None:
    token = admin_token(sim, "repository:tools/busybox:pull").json()["access_token"]
    manifest = get(sim, REGPULL, "/v2/tools/busybox/manifests/1.36",
                   headers={"Authorization": f"Bearer {token}", "Accept": OCI_MANIFEST}).json()
    layer = manifest["layers"][0]["digest"]
    resp = get(sim, "regpull.eastus.data.azurecr.io", f"/v2/tools/busybox/blobs/{layer}",
               headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 200
    assert resp.headers["Docker-Content-Digest"] == layer


# -- parity with the official examples -------------------------------------------------------------
def _bearer(sim: Sim, scope: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {admin_token(sim, scope).json()['access_token']}"}


@pytest.mark.parametrize(("operation", "path", "scope"), [
    ("ContainerRegistry_GetRepositories", "/acr/v1/_catalog", "registry:catalog:*"),
    ("ContainerRegistry_GetProperties", "/acr/v1/app/web", "repository:app/web:metadata_read"),
    ("ContainerRegistry_GetTags", "/acr/v1/app/web/_tags", "repository:app/web:metadata_read"),
    ("ContainerRegistry_GetTagProperties", "/acr/v1/app/web/_tags/v1",
     "repository:app/web:metadata_read"),
    ("ContainerRegistry_GetManifests", "/acr/v1/tools/busybox/_manifests",
     "repository:tools/busybox:metadata_read"),
])
def test_metadata_api_matches_the_official_examples(sim: Sim, operation: str, path: str,
                                                    scope: str) -> None:
    resp = get(sim, REGPULL, path, headers=_bearer(sim, scope))
    assert resp.status_code == 200, resp.text
    assert shape_diff(example_response(operation), resp.json()) == []


def test_manifest_properties_match_the_official_example(sim: Sim) -> None:
    headers = _bearer(sim, "repository:tools/busybox:metadata_read")
    digest = get(sim, REGPULL, "/acr/v1/tools/busybox/_tags/1.36",
                 headers=headers).json()["tag"]["digest"]
    resp = get(sim, REGPULL, f"/acr/v1/tools/busybox/_manifests/{digest}", headers=headers)
    assert shape_diff(example_response("ContainerRegistry_GetManifestProperties"),
                      resp.json()) == []


def test_token_service_matches_the_official_examples(sim: Sim) -> None:
    proxy = {"https": sim.conn["registry_proxy"]}
    entra = sim.credential().get_token("https://containerregistry.azure.net/.default").token
    exchanged = sim.session.post(
        f"https://{REGPULL}/oauth2/exchange", proxies=proxy, verify=sim.ca, timeout=30,
        data={"grant_type": "access_token", "service": REGPULL, "tenant": sim.tenant,
              "access_token": entra})
    assert shape_diff(example_response(
        "Authentication_ExchangeAadAccessTokenForAcrRefreshToken"), exchanged.json()) == []
    access = sim.session.post(
        f"https://{REGPULL}/oauth2/token", proxies=proxy, verify=sim.ca, timeout=30,
        data={"grant_type": "refresh_token", "service": REGPULL,
              "scope": "repository:app/web:pull",
              "refresh_token": exchanged.json()["refresh_token"]})
    assert shape_diff(example_response(
        "Authentication_ExchangeAcrRefreshTokenForAcrAccessToken"), access.json()) == []
    login = admin_token(sim, "registry:catalog:*")
    assert shape_diff(example_response("Authentication_GetAcrAccessTokenFromLogin"),
                      login.json()) == []
    # a refresh token is no access token
    resp = get(sim, REGPULL, "/v2/app/web/tags/list",
               headers={"Authorization": f"Bearer {exchanged.json()['refresh_token']}"})
    assert resp.status_code == 401
