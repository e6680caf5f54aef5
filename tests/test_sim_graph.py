"""Microsoft Graph v1.0 on the simulator, driven by the real msgraph-sdk GraphServiceClient (and
raw HTTPS where the wire shape itself is the point, and the real az CLI)."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from typing import Any

import pytest
import requests
from azure.core.exceptions import ClientAuthenticationError
from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph.generated.applications.applications_request_builder import ApplicationsRequestBuilder
from msgraph.generated.applications.item.add_password.add_password_post_request_body import (
    AddPasswordPostRequestBody,
)
from msgraph.generated.applications.item.remove_password.remove_password_post_request_body import (
    RemovePasswordPostRequestBody,
)
from msgraph.generated.directory_objects.get_by_ids.get_by_ids_post_request_body import (
    GetByIdsPostRequestBody,
)
from msgraph.generated.models.application import Application
from msgraph.generated.models.group import Group
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.generated.models.password_credential import PasswordCredential
from msgraph.generated.models.service_principal import ServicePrincipal
from msgraph.generated.models.user import User
from msgraph.generated.service_principals.service_principals_request_builder import (
    ServicePrincipalsRequestBuilder,
)
from msgraph.generated.users.item.check_member_groups.check_member_groups_post_request_body import (
    CheckMemberGroupsPostRequestBody,
)
from msgraph.generated.users.item.get_member_groups.get_member_groups_post_request_body import (
    GetMemberGroupsPostRequestBody,
)

from tasks.clients import Clients
from tests.simharness import ROOT, Sim

WORLD = str(ROOT / "tests" / "worlds" / "graph-directory.yaml")
pytestmark = pytest.mark.scenario(WORLD)

CURRENT = "ci8Q~current-secret-value-0000000000000"
EXPIRED = "ci8Q~expired-secret-value-0000000000000"
ONLY_EXPIRED = "lg8Q~only-secret-expired-0000000000000"
ALICE = "alice@graph-directory.onmicrosoft.com"
BOB = "bob@graph-directory.onmicrosoft.com"


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def graph(sim: Sim) -> Any:
    return sim.clients().graph()


def raw(sim: Sim, method: str, path: str, *, token: str | None = None,
        headers: dict[str, str] | None = None, **kwargs: Any) -> requests.Response:
    """HTTPS straight to the Graph endpoint, for asserting the wire shape."""
    tok = token if token is not None else sim.token(sim.profile.graph_scope)
    return sim.session.request(
        method, sim.conn["graph_endpoint"].rstrip("/") + "/v1.0" + path,
        headers={"Authorization": f"Bearer {tok}", **(headers or {})}, verify=sim.ca,
        timeout=30, **kwargs)


def app_filter(expr: str, **extra: Any) -> RequestConfiguration:
    q = ApplicationsRequestBuilder.ApplicationsRequestBuilderGetQueryParameters(filter=expr,
                                                                                **extra)
    return RequestConfiguration(query_parameters=q)


def sp_filter(expr: str, **extra: Any) -> RequestConfiguration:
    q = ServicePrincipalsRequestBuilder.ServicePrincipalsRequestBuilderGetQueryParameters(
        filter=expr, **extra)
    return RequestConfiguration(query_parameters=q)


def app_named(sim: Sim, name: str) -> Application:
    found = run(graph(sim).applications.get(app_filter(f"displayName eq '{name}'")))
    assert len(found.value) == 1, found.value
    return found.value[0]


def odata_error(coro: Any) -> ODataError:
    with pytest.raises(ODataError) as err:
        run(coro)
    return err.value


# -- applications ---------------------------------------------------------------------------------
def test_application_is_found_by_object_id_and_by_app_id(sim: Sim) -> None:
    # given the app registration 'ci-deployer'
    app = app_named(sim, "ci-deployer")
    g = graph(sim)
    # when it is read by object id and by the appId alternate key
    by_id = run(g.applications.by_application_id(app.id).get())
    by_app_id = run(g.applications_with_app_id(app_id=app.app_id).get())
    # then both are the same object, and its secrets are listed by hint only
    assert by_id.id == by_app_id.id == app.id
    assert by_id.app_id == app.app_id and by_id.sign_in_audience == "AzureADMyOrg"
    creds = {c.display_name: c for c in by_id.password_credentials}
    assert set(creds) == {"current", "rotated-out"}
    assert creds["current"].hint == CURRENT[:3] and creds["current"].secret_text is None
    assert all(not c.additional_data for c in creds.values())  # no private keys leak


def test_application_wire_shape_has_context_and_every_default_property(sim: Sim) -> None:
    app = app_named(sim, "ci-deployer")
    body = raw(sim, "GET", f"/applications/{app.id}").json()
    assert body["@odata.context"] == (sim.conn["graph_endpoint"].rstrip("/")
                                      + "/v1.0/$metadata#applications/$entity")
    for key in ("id", "appId", "displayName", "deletedDateTime", "identifierUris", "web", "api",
                "requiredResourceAccess", "passwordCredentials", "keyCredentials", "publisherDomain"):
        assert key in body
    assert not [k for k in body if k.startswith("_")]


def test_select_returns_only_the_named_properties(sim: Sim) -> None:
    resp = raw(sim, "GET", "/applications?$select=appId,displayName&$filter=displayName eq "
                           "'ci-deployer'")
    body = resp.json()
    assert body["@odata.context"].endswith("$metadata#applications(appId,displayName)")
    assert [sorted(v) for v in body["value"]] == [["appId", "displayName"]]
    bad = raw(sim, "GET", "/applications?$select=secret").json()["error"]
    assert bad["code"] == "Request_BadRequest"
    assert bad["message"] == ("Could not find a property named 'secret' on type "
                              "'microsoft.graph.application'.")


def test_filters_on_applications(sim: Sim) -> None:
    g = graph(sim)
    app = app_named(sim, "CI-Deployer")  # the directory compares strings without case
    by_app_id = run(g.applications.get(app_filter(f"appId eq '{app.app_id}'")))
    starts = run(g.applications.get(app_filter("startswith(displayName,'build-agent')")))
    since = (dt.datetime.now(dt.UTC) - dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    recent = run(g.applications.get(app_filter(f"createdDateTime ge {since}")))
    ancient = run(g.applications.get(app_filter("createdDateTime le 2001-01-01T00:00:00Z")))
    assert [a.id for a in by_app_id.value] == [app.id]
    assert (len(recent.value), ancient.value) == (6, [])
    assert sorted(a.display_name for a in starts.value) == [
        "build-agent-1", "build-agent-2", "build-agent-3"]


def test_add_password_returns_a_secret_that_signs_in_until_it_is_removed(sim: Sim) -> None:
    # given ci-deployer
    app = app_named(sim, "ci-deployer")
    g = graph(sim)
    # when a password is added
    body = AddPasswordPostRequestBody(password_credential=PasswordCredential(display_name="rot"))
    cred = run(g.applications.by_application_id(app.id).add_password.post(body))
    # then the secret is returned once, with Graph's default lifetime of two years
    assert cred.secret_text and cred.hint == cred.secret_text[:3] and cred.display_name == "rot"
    lifetime = cred.end_date_time - cred.start_date_time
    assert dt.timedelta(days=730) <= lifetime <= dt.timedelta(days=731)
    listed = run(g.applications.by_application_id(app.id).get()).password_credentials
    assert {c.key_id: c.secret_text for c in listed}[cred.key_id] is None
    # and it authenticates at the token endpoint
    assert sim.credential(app.app_id, cred.secret_text).get_token(sim.profile.arm_scope).token
    # when it is removed
    run(g.applications.by_application_id(app.id).remove_password.post(
        RemovePasswordPostRequestBody(key_id=cred.key_id)))
    # then it no longer signs in
    with pytest.raises(ClientAuthenticationError) as err:
        sim.credential(app.app_id, cred.secret_text).get_token(sim.profile.arm_scope)
    assert "AADSTS7000215" in str(err.value)
    assert [(j["method"], j["path"].rsplit("/", 1)[-1]) for j in sim.journal()] == [
        ("POST", "addPassword"), ("POST", "removePassword")]


def test_add_password_by_app_id_honours_the_requested_end(sim: Sim) -> None:
    app = app_named(sim, "build-agent-1")
    # (the SDK has no addPassword on the alternate-key builder, so this one is raw HTTPS)
    resp = raw(sim, "POST", f"/applications(appId='{app.app_id}')/addPassword",
               json={"passwordCredential": {"endDateTime": "2099-01-31T00:00:00Z"}})
    cred = resp.json()
    assert resp.status_code == 200
    assert cred["@odata.context"].endswith("/v1.0/$metadata#microsoft.graph.passwordCredential")
    assert sorted(cred) == ["@odata.context", "customKeyIdentifier", "displayName",
                            "endDateTime", "hint", "keyId", "secretText", "startDateTime"]
    assert cred["endDateTime"] == "2099-01-31T00:00:00Z" and cred["displayName"] is None
    assert sim.credential(app.app_id, cred["secretText"]).get_token(sim.profile.arm_scope).token


def test_remove_password_with_an_unknown_key_id_is_not_found(sim: Sim) -> None:
    app = app_named(sim, "ci-deployer")
    err = odata_error(graph(sim).applications.by_application_id(app.id).remove_password.post(
        RemovePasswordPostRequestBody(key_id=uuid.uuid4())))
    assert err.response_status_code == 404
    assert err.error.code == "Request_ResourceNotFound"


def test_expired_secrets_fail_with_7000222(sim: Sim) -> None:
    # given a secret that expired yesterday (and, on ci-deployer, a current one beside it)
    for name, secret in (("legacy-uploader", ONLY_EXPIRED), ("ci-deployer", EXPIRED)):
        app = app_named(sim, name)
        with pytest.raises(ClientAuthenticationError) as err:
            sim.credential(app.app_id, secret).get_token(sim.profile.arm_scope)
        assert "AADSTS7000222" in str(err.value)
    # while the current one still works
    app = app_named(sim, "ci-deployer")
    assert sim.credential(app.app_id, CURRENT).get_token(sim.profile.arm_scope).token


def test_unknown_and_malformed_ids(sim: Sim) -> None:
    g = graph(sim)
    missing = str(uuid.uuid4())
    for coro in (g.applications.by_application_id(missing).get(),
                 g.applications_with_app_id(app_id=missing).get(),
                 g.service_principals.by_service_principal_id(missing).get(),
                 g.users.by_user_id("nobody@graph-directory.onmicrosoft.com").get(),
                 g.groups.by_group_id(missing).get()):
        err = odata_error(coro)
        assert err.response_status_code == 404
        assert err.error.code == "Request_ResourceNotFound"
        assert err.error.message.endswith("' does not exist or one of its queried "
                                          "reference-property objects are not present.")
    err = odata_error(g.applications.by_application_id("not-a-guid").get())
    assert (err.response_status_code, err.error.code) == (400, "Request_BadRequest")
    assert err.error.message == "Invalid object identifier 'not-a-guid'."


# -- service principals ---------------------------------------------------------------------------
def test_service_principal_lookups(sim: Sim) -> None:
    app = app_named(sim, "ci-deployer")
    g = graph(sim)
    by_spn = run(g.service_principals.get(
        sp_filter(f"servicePrincipalNames/any(c:c eq '{app.app_id}')"))).value
    by_app_id = run(g.service_principals.get(sp_filter(f"appId eq '{app.app_id}'"))).value
    by_name = run(g.service_principals.get(sp_filter("displayName eq 'ci-deployer'"))).value
    assert len(by_spn) == 1 and by_spn[0].id == by_app_id[0].id == by_name[0].id
    sp = run(g.service_principals.by_service_principal_id(by_spn[0].id).get())
    alt = run(g.service_principals_with_app_id(app_id=app.app_id).get())
    assert sp.id == alt.id and sp.service_principal_type == "Application"
    mis = run(g.service_principals.get(sp_filter("servicePrincipalType eq 'ManagedIdentity'")))
    assert sorted(s.display_name for s in mis.value) == ["id-kubelet", "pullfix"]


def test_service_principal_passwords_are_listed_by_hint(sim: Sim) -> None:
    app = app_named(sim, "build-agent-2")
    g = graph(sim)
    sp = run(g.service_principals_with_app_id(app_id=app.app_id).get())
    body = AddPasswordPostRequestBody(password_credential=PasswordCredential(display_name="sp"))
    cred = run(g.service_principals.by_service_principal_id(sp.id).add_password.post(body))
    listed = run(g.service_principals.by_service_principal_id(sp.id).get()).password_credentials
    assert [(c.key_id, c.hint, c.secret_text) for c in listed] == [
        (cred.key_id, cred.secret_text[:3], None)]
    run(g.service_principals.by_service_principal_id(sp.id).remove_password.post(
        RemovePasswordPostRequestBody(key_id=cred.key_id)))
    assert run(g.service_principals.by_service_principal_id(sp.id).get()).password_credentials \
        == []


def test_unsupported_filters_are_refused_as_graph_does(sim: Sim) -> None:
    g = graph(sim)
    err = odata_error(g.service_principals.get(sp_filter("homepage eq 'x'")))
    assert (err.response_status_code, err.error.code) == (400, "Request_UnsupportedQuery")
    # 'ne' is an advanced query: refused without ConsistencyLevel + $count ...
    err = odata_error(g.service_principals.get(sp_filter("servicePrincipalType ne 'Application'")))
    assert (err.response_status_code, err.error.code) == (400, "Request_UnsupportedQuery")
    assert err.error.message.startswith("Operator 'ne' is not supported")
    # ... and answered with them
    config = sp_filter("servicePrincipalType ne 'Application'", count=True)
    config.headers.add("ConsistencyLevel", "eventual")
    found = run(g.service_principals.get(config))
    assert found.odata_count == 2
    assert sorted(s.display_name for s in found.value) == ["id-kubelet", "pullfix"]
    err = odata_error(g.service_principals.get(sp_filter("displayName eq")))
    assert (err.response_status_code, err.error.code) == (400, "BadRequest")


# -- paging and counting ----------------------------------------------------------------------------
def test_top_pages_with_next_links_until_the_collection_is_exhausted(sim: Sim) -> None:
    g = graph(sim)
    page = run(g.applications.get(RequestConfiguration(
        query_parameters=ApplicationsRequestBuilder.ApplicationsRequestBuilderGetQueryParameters(
            top=2))))
    seen, pages = [a.id for a in page.value], 1
    while page.odata_next_link:
        assert "$skiptoken=" in page.odata_next_link and "$top=2" in page.odata_next_link
        page = run(g.applications.with_url(page.odata_next_link).get())
        seen += [a.id for a in page.value]
        pages += 1
    assert pages == 3 and len(seen) == len(set(seen)) == 6


def test_page_size_limits_and_count(sim: Sim) -> None:
    err = raw(sim, "GET", "/applications?$top=1000").json()["error"]
    assert err["code"] == "Request_BadRequest" and "between 1 and 999" in err["message"]
    assert raw(sim, "GET", "/applications?$count=true").status_code == 400
    counted = raw(sim, "GET", "/applications?$count=true&$top=1",
                  headers={"ConsistencyLevel": "eventual"}).json()
    assert counted["@odata.count"] == 6 and len(counted["value"]) == 1
    plain = raw(sim, "GET", "/users/$count", headers={"ConsistencyLevel": "eventual"})
    assert plain.headers["content-type"].startswith("text/plain") and plain.text == "2"


# -- directory objects, users, groups ----------------------------------------------------------------
def test_get_by_ids_returns_typed_objects(sim: Sim) -> None:
    g = graph(sim)
    alice = run(g.users.by_user_id(ALICE).get())
    team = run(g.groups.get()).value
    team = next(x for x in team if x.display_name == "platform-team")
    app = app_named(sim, "ci-deployer")
    sp = run(g.service_principals_with_app_id(app_id=app.app_id).get())
    ids = [alice.id, team.id, sp.id, app.id, str(uuid.uuid4())]
    found = run(g.directory_objects.get_by_ids.post(GetByIdsPostRequestBody(ids=ids))).value
    assert {type(o): o.id for o in found} == {User: alice.id, Group: team.id,
                                              ServicePrincipal: sp.id, Application: app.id}
    only_users = run(g.directory_objects.get_by_ids.post(
        GetByIdsPostRequestBody(ids=ids, types=["user"]))).value
    assert [o.id for o in only_users] == [alice.id]
    assert sim.journal() == []  # getByIds reads; it is not a write


def test_users_by_id_upn_and_filter(sim: Sim) -> None:
    g = graph(sim)
    alice = run(g.users.by_user_id(ALICE.upper()).get())
    assert alice.display_name == "Alice Admin" and alice.user_principal_name == ALICE
    assert run(g.users.by_user_id(alice.id).get()).id == alice.id
    from msgraph.generated.users.users_request_builder import UsersRequestBuilder

    q = UsersRequestBuilder.UsersRequestBuilderGetQueryParameters(
        filter=f"userPrincipalName eq '{BOB}'")
    bobs = run(g.users.get(RequestConfiguration(query_parameters=q))).value
    assert [u.display_name for u in bobs] == ["Bob Builder"]


def test_membership_direct_transitive_and_checks(sim: Sim) -> None:
    # given alice in platform-team, which is nested in all-engineers
    g = graph(sim)
    groups = {x.display_name: x.id for x in run(g.groups.get()).value}
    alice = run(g.users.by_user_id(ALICE).get())
    user = g.users.by_user_id(alice.id)
    # then memberOf is direct and transitiveMemberOf follows nesting
    assert [x.display_name for x in run(user.member_of.get()).value] == ["platform-team"]
    transitive = run(user.transitive_member_of.get()).value
    assert all(isinstance(x, Group) for x in transitive)
    assert sorted(x.display_name for x in transitive) == ["all-engineers", "platform-team"]
    # and the membership actions agree
    checked = run(user.check_member_groups.post(CheckMemberGroupsPostRequestBody(
        group_ids=[groups["all-engineers"], groups["finance"]]))).value
    assert checked == [groups["all-engineers"]]
    member_groups = run(user.get_member_groups.post(
        GetMemberGroupsPostRequestBody(security_enabled_only=True))).value
    assert sorted(member_groups) == sorted([groups["all-engineers"], groups["platform-team"]])
    # a service principal's groups are resolved the same way
    app = app_named(sim, "ci-deployer")
    sp = run(g.service_principals_with_app_id(app_id=app.app_id).get())
    sp_groups = run(g.service_principals.by_service_principal_id(sp.id)
                    .transitive_member_of.get()).value
    assert sorted(x.display_name for x in sp_groups) == ["all-engineers", "platform-team"]
    # and a group lists its members, nested ones transitively
    eng = g.groups.by_group_id(groups["all-engineers"])
    direct = run(eng.members.get()).value
    assert sorted(type(m).__name__ for m in direct) == ["Group", "User"]
    everyone = run(eng.transitive_members.get()).value
    assert sorted(type(m).__name__ for m in everyone) == ["Group", "ServicePrincipal", "User",
                                                          "User"]


# -- authentication ----------------------------------------------------------------------------
def test_graph_refuses_tokens_for_another_audience(sim: Sim) -> None:
    # given an ARM token (a valid token, for the wrong resource)
    resp = raw(sim, "GET", "/applications", token=sim.token(sim.profile.arm_scope))
    # then Graph answers 401 in its own words
    assert resp.status_code == 401
    assert resp.json()["error"]["code"] == "InvalidAuthenticationToken"
    assert resp.json()["error"]["message"] == "Access token validation failure. Invalid audience."
    no_token = sim.session.get(sim.conn["graph_endpoint"] + "v1.0/applications", verify=sim.ca)
    assert no_token.status_code == 401
    assert no_token.json()["error"]["code"] == "InvalidAuthenticationToken"
    # and the SDK surfaces it as an ODataError
    profile = sim.profile.model_copy(update={"graph_audience": sim.profile.arm_audience})
    err = odata_error(Clients(profile, sim.credential()).graph().applications.get())
    assert err.response_status_code == 401


# -- the az CLI ------------------------------------------------------------------------------------
@pytest.mark.azcli
def test_az_ad_sp_and_app_credential_commands(sim: Sim, tmp_path) -> None:
    from tests.azcli import Az

    az = Az(sim, tmp_path / "az")
    app = app_named(sim, "ci-deployer")
    # az ad sp show / credential list resolve the SP through servicePrincipalNames
    shown = az.json("ad", "sp", "show", "--id", app.app_id)
    assert shown["appId"] == app.app_id and shown["servicePrincipalType"] == "Application"
    assert az.json("ad", "sp", "credential", "list", "--id", app.app_id) == []
    creds = az.json("ad", "app", "credential", "list", "--id", app.app_id)
    assert sorted(c["displayName"] for c in creds) == ["current", "rotated-out"]
    # az ad app credential reset --append adds a secret that signs in
    reset = az.json("ad", "app", "credential", "reset", "--id", app.app_id, "--append",
                    "--display-name", "from-az")
    assert reset["appId"] == app.app_id and reset["tenant"] == sim.tenant
    assert sim.credential(app.app_id, reset["password"]).get_token(sim.profile.arm_scope).token
    # and without --append it replaces every other secret
    replaced = az.json("ad", "app", "credential", "reset", "--id", app.app_id)
    left = az.json("ad", "app", "credential", "list", "--id", app.app_id)
    assert len(left) == 1
    with pytest.raises(ClientAuthenticationError) as err:
        sim.credential(app.app_id, CURRENT).get_token(sim.profile.arm_scope)
    assert "AADSTS7000215" in str(err.value)
    assert sim.credential(app.app_id, replaced["password"]).get_token(sim.profile.arm_scope)
