"""Microsoft.Authorization on the simulator: role assignments, role definitions, permissions
and the propagation delay, through the real AuthorizationManagementClient."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError
from azure.mgmt.authorization import AuthorizationManagementClient
from azure.mgmt.authorization.v2022_04_01.models import (
    Permission,
    RoleAssignmentCreateParameters,
    RoleDefinition,
)
from azure.mgmt.resource.resources import ResourceManagementClient

from simulator.core.ids import is_within, required_action
from simulator.scenario import stable_uuid
from tests.parity import example_response, shape_diff
from tests.simharness import Sim

WORLD = str(Path(__file__).parent / "worlds" / "authz-rbac.yaml")
pytestmark = pytest.mark.scenario(WORLD)

READER = "acdd72a7-3b69-4dc6-9dcf-5a37b4a2f71f"
ACR_PULL = "7f951dda-4ed3-4680-a7ca-43fe172d538d"
CONTRIBUTOR = "b24988ac-6180-42a0-ab88-20f7382dd24c"
ALICE = stable_uuid("user", "alice@pullfix.example")
ACR_PULLERS = stable_uuid("group", "acr-pullers")
PLATFORM = stable_uuid("group", "platform")
READER_APP_SP = stable_uuid("sp-object", "reader-app")
FRESH_APP_SP = stable_uuid("sp-object", "fresh-app")


def _auth(sim: Sim, app: str | None = None) -> AuthorizationManagementClient:
    clients = sim.clients(stable_uuid("app", app), f"{app}-secret-value") if app else sim.clients()
    return clients.arm(AuthorizationManagementClient, sim.subscription)


def _ids(sim: Sim) -> dict[str, str]:
    sub = f"/subscriptions/{sim.subscription}"
    rg_app = f"{sub}/resourceGroups/rg-app"
    return {"sub": sub, "rg_app": rg_app, "rg_other": f"{sub}/resourceGroups/rg-other",
            "mi": f"{rg_app}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/"
                  "mi-workload"}


def _rd(sim: Sim, guid: str) -> str:
    return f"/subscriptions/{sim.subscription}/providers/Microsoft.Authorization/roleDefinitions/{guid}"


def _grant(principal: str, role: str, sim: Sim, principal_type: str = "ServicePrincipal"
           ) -> RoleAssignmentCreateParameters:
    return RoleAssignmentCreateParameters(role_definition_id=_rd(sim, role), principal_id=principal,
                                          principal_type=principal_type)


def _error(call: Callable[[], object]) -> HttpResponseError:
    with pytest.raises(HttpResponseError) as err:
        call()
    return err.value


# -- the dispatcher's RBAC derivation for nested paths ---------------------------------------------
def test_role_assignment_write_on_a_registry_needs_write_at_the_registry_scope() -> None:
    registry = ("/subscriptions/s/resourceGroups/g/providers/Microsoft.ContainerRegistry/"
                "registries/r")
    action, scope = required_action(
        "PUT", registry + "/providers/Microsoft.Authorization/roleAssignments/x")
    # ARM names the assignment itself as the scope; an assignment on the registry covers it
    assert action == "Microsoft.Authorization/roleAssignments/write"
    assert is_within(registry, scope) and not is_within(registry + "2", scope)
    assert required_action("GET", registry + "/providers/Microsoft.Authorization/roleAssignments"
                           ) == ("Microsoft.Authorization/roleAssignments/read", registry)
    assert required_action("DELETE", registry + "/providers/Microsoft.Authorization/"
                           "roleAssignments/x")[0] == "Microsoft.Authorization/roleAssignments/delete"


# -- listing and $filter ----------------------------------------------------------------------------
def test_list_without_filter_returns_assignments_at_above_and_below_the_scope(sim: Sim) -> None:
    ids = _ids(sim)
    found = {(a.scope, a.principal_id) for a in _auth(sim).role_assignments.list_for_resource_group(
        "rg-app")}
    assert (ids["sub"], READER_APP_SP) in found  # above
    assert (ids["rg_app"], PLATFORM) in found  # at
    assert (ids["mi"], ALICE) in found  # below
    assert all(not s.lower().startswith(ids["rg_other"].lower()) for s, _ in found)  # sibling


def test_at_scope_filter_returns_only_what_applies_to_the_scope(sim: Sim) -> None:
    ids = _ids(sim)
    found = {(a.scope, a.principal_id) for a in _auth(sim).role_assignments.list_for_scope(
        ids["rg_app"], filter="atScope()")}
    assert (ids["sub"], READER_APP_SP) in found and (ids["rg_app"], PLATFORM) in found
    assert (ids["mi"], ALICE) not in found
    # at a resource scope, assignments inherited from its group and subscription apply
    at_mi = {a.principal_id for a in _auth(sim).role_assignments.list_for_resource(
        "rg-app", "Microsoft.ManagedIdentity", "userAssignedIdentities", "mi-workload",
        filter="atScope()")}
    assert {READER_APP_SP, PLATFORM, ALICE} <= at_mi


def test_principal_id_filter_matches_the_principal_itself_only(sim: Sim) -> None:
    ids = _ids(sim)
    found = [(a.scope, a.role_definition_id.rsplit("/", 1)[-1]) for a in
             _auth(sim).role_assignments.list_for_subscription(filter=f"principalId eq '{ALICE}'")]
    assert (ids["mi"], ACR_PULL) in found
    assert len(found) == 2  # AcrPull on the identity and the custom role on rg-other
    assert all(s != ids["rg_app"] for s, _ in found)  # the group's Reader is not hers directly


def test_assigned_to_includes_roles_held_through_nested_groups(sim: Sim) -> None:
    # given alice in acr-pullers, itself a member of platform which holds Reader on rg-app
    ids = _ids(sim)
    found = {(a.scope, a.principal_id) for a in _auth(sim).role_assignments.list_for_scope(
        ids["rg_app"], filter=f"atScope() and assignedTo('{ALICE}')")}
    # then the group's assignment is listed for her, the reader app's is not
    assert found == {(ids["rg_app"], PLATFORM)}


def test_an_unsupported_filter_is_refused(sim: Sim) -> None:
    err = _error(lambda: list(_auth(sim).role_assignments.list_for_subscription(
        filter="roleName eq 'Reader'")))
    assert err.status_code == 400 and err.error.code == "UnsupportedQuery"


# -- create / get / delete ------------------------------------------------------------------------
def test_role_assignment_lifecycle_by_scope_and_by_id(sim: Sim) -> None:
    ids, auth = _ids(sim), _auth(sim)
    name = str(uuid.uuid4())
    created = auth.role_assignments.create(ids["mi"], name, _grant(FRESH_APP_SP, ACR_PULL, sim))
    assert created.id.lower() == (ids["mi"] + "/providers/Microsoft.Authorization/"
                                  f"roleAssignments/{name}").lower()
    assert created.scope == ids["mi"] and created.principal_type == "ServicePrincipal"
    assert created.created_by == sim.conn["service_principal"]["object_id"]
    assert auth.role_assignments.get(ids["mi"], name).principal_id == FRESH_APP_SP
    assert auth.role_assignments.get_by_id(created.id.upper()).name == name  # case-insensitive
    assert [w["status"] for w in sim.journal()] == [201]
    deleted = auth.role_assignments.delete(ids["mi"], name)
    assert deleted.name == name  # 200 with the body
    assert auth.role_assignments.delete(ids["mi"], name) is None  # 204: already gone
    err = _error(lambda: auth.role_assignments.get(ids["mi"], name))
    assert err.status_code == 404 and err.error.code == "RoleAssignmentNotFound"


def test_create_get_delete_by_id(sim: Sim) -> None:
    ids, auth = _ids(sim), _auth(sim)
    ra_id = f"{ids['rg_other']}/providers/Microsoft.Authorization/roleAssignments/{uuid.uuid4()}"
    made = auth.role_assignments.create_by_id(ra_id, _grant(ALICE, READER, sim, "User"))
    assert made.scope == ids["rg_other"] and made.principal_type == "User"
    assert auth.role_assignments.get_by_id(ra_id).role_definition_id.endswith(READER)
    assert auth.role_assignments.delete_by_id(ra_id).id == made.id
    assert auth.role_assignments.delete_by_id(ra_id) is None


def test_repeating_the_same_put_updates_in_place(sim: Sim) -> None:
    ids, auth = _ids(sim), _auth(sim)
    name = str(uuid.uuid4())
    auth.role_assignments.create(ids["rg_other"], name, _grant(FRESH_APP_SP, READER, sim))
    again = _grant(FRESH_APP_SP, READER, sim)
    again.description = "read-only for audits"
    assert auth.role_assignments.create(ids["rg_other"], name, again).description == (
        "read-only for audits")
    assert [w["status"] for w in sim.journal()] == [201, 200]


@pytest.mark.parametrize(("case", "status", "code"), [
    ("unknown-principal", 400, "PrincipalNotFound"),
    ("duplicate", 409, "RoleAssignmentExists"),
    ("name-not-guid", 400, "InvalidRoleAssignmentId"),
    ("unknown-role", 400, "RoleDefinitionDoesNotExist"),
    ("wrong-principal-type", 400, "UnmatchedPrincipalType"),
    ("missing-group", 404, "ResourceGroupNotFound"),
])
def test_create_refusals(sim: Sim, case: str, status: int, code: str) -> None:
    ids, auth = _ids(sim), _auth(sim)
    scope, name, params = ids["mi"], str(uuid.uuid4()), _grant(FRESH_APP_SP, READER, sim)
    if case == "unknown-principal":
        params.principal_id = "0f14a80d-42e5-4d57-afe0-46acf9dfae05"
    elif case == "duplicate":  # alice already holds AcrPull on the identity, under another name
        params = _grant(ALICE, ACR_PULL, sim, "User")
    elif case == "name-not-guid":
        name = "pull-role"
    elif case == "unknown-role":
        params.role_definition_id = _rd(sim, str(uuid.uuid4()))
    elif case == "wrong-principal-type":
        params = _grant(ALICE, READER, sim, "ServicePrincipal")
    elif case == "missing-group":
        scope = ids["sub"] + "/resourceGroups/rg-nope"
    err = _error(lambda: auth.role_assignments.create(scope, name, params))
    assert (err.status_code, err.error.code) == (status, code)
    assert sim.journal() == []
    if case == "unknown-principal":
        assert err.error.message.startswith(
            f"Principal 0f14a80d42e54d57afe046acf9dfae05 does not exist in the directory "
            f"{sim.tenant}.")


def test_an_assignment_cannot_change_principal_or_role_under_the_same_name(sim: Sim) -> None:
    ids, auth = _ids(sim), _auth(sim)
    name = str(uuid.uuid4())
    auth.role_assignments.create(ids["rg_other"], name, _grant(FRESH_APP_SP, READER, sim))
    err = _error(lambda: auth.role_assignments.create(ids["rg_other"], name,
                                                      _grant(READER_APP_SP, READER, sim)))
    assert (err.status_code, err.error.code) == (409, "RoleAssignmentUpdateNotPermitted")


def test_a_reader_cannot_grant_roles(sim: Sim) -> None:
    # given an app that holds only Reader on the subscription
    auth = _auth(sim, "reader-app")
    assert len(list(auth.role_assignments.list_for_subscription())) >= 5  # it may read them
    # when it tries to grant itself AcrPull on a resource
    mi = _ids(sim)["mi"]
    err = _error(lambda: auth.role_assignments.create(mi, str(uuid.uuid4()),
                                                      _grant(READER_APP_SP, ACR_PULL, sim)))
    # then ARM refuses with the action it needed, and nothing was written
    assert (err.status_code, err.error.code) == (403, "AuthorizationFailed")
    assert f"with object id '{READER_APP_SP}'" in err.error.message
    assert "'Microsoft.Authorization/roleAssignments/write' over scope" in err.error.message
    assert sim.journal() == []


# -- role definitions ----------------------------------------------------------------------------
def test_role_definitions_list_filters_and_get(sim: Sim) -> None:
    auth, sub = _auth(sim), _ids(sim)["sub"]
    acr = list(auth.role_definitions.list(sub, filter="roleName eq 'AcrPull'"))
    assert [(d.name, d.role_type) for d in acr] == [(ACR_PULL, "BuiltInRole")]
    assert acr[0].id == _rd(sim, ACR_PULL)  # rendered under the subscription it is read through
    custom = [d.role_name for d in auth.role_definitions.list(sub, filter="type eq 'CustomRole'")]
    assert custom == ["Pull Auditor"]
    built_in = {d.role_name for d in auth.role_definitions.list(sub, filter="type eq 'BuiltInRole'")}
    assert {"Reader", "Owner", "User Access Administrator", "AcrPull"} <= built_in
    assert "Pull Auditor" not in built_in
    assert auth.role_definitions.get(sub, READER).role_name == "Reader"
    err = _error(lambda: auth.role_definitions.get(sub, str(uuid.uuid4())))
    assert (err.status_code, err.error.code) == (404, "RoleDefinitionDoesNotExist")
    err = _error(lambda: list(auth.role_definitions.list(sub, filter="roleName ne 'x'")))
    assert (err.status_code, err.error.code) == (400, "UnsupportedQuery")


def test_role_definition_get_by_id_at_root_and_subscription(sim: Sim) -> None:
    auth = _auth(sim, "fresh-app")  # no roles at all: built-ins are still readable at the root
    root = auth.role_definitions.get_by_id(
        f"/providers/Microsoft.Authorization/roleDefinitions/{ACR_PULL}")
    assert (root.role_name, root.id) == ("AcrPull", f"/providers/Microsoft.Authorization/"
                                                    f"roleDefinitions/{ACR_PULL}")
    assert _auth(sim).role_definitions.get_by_id(_rd(sim, CONTRIBUTOR)).permissions[0].not_actions


def _custom(sim: Sim, name: str, actions: list[str], scopes: list[str] | None = None
            ) -> RoleDefinition:
    return RoleDefinition(role_name=name, description="test role", role_type="CustomRole",
                          permissions=[Permission(actions=actions)],
                          assignable_scopes=scopes or [_ids(sim)["sub"]])


def test_custom_role_create_update_assign_and_delete(sim: Sim) -> None:
    ids, auth = _ids(sim), _auth(sim)
    guid = str(uuid.uuid4())
    made = auth.role_definitions.create_or_update(
        ids["sub"], guid, _custom(sim, "Registry Fixer", ["Microsoft.ContainerRegistry/*/read"]))
    assert (made.id, made.role_type) == (_rd(sim, guid), "CustomRole")
    update = _custom(sim, "Registry Fixer", ["Microsoft.ContainerRegistry/*"])
    updated = auth.role_definitions.create_or_update(ids["sub"], guid, update)
    assert updated.permissions[0].actions == ["Microsoft.ContainerRegistry/*"]
    assert updated.created_on == made.created_on
    # in use, it cannot be deleted
    ra = auth.role_assignments.create(ids["rg_app"], str(uuid.uuid4()),
                                      _grant(FRESH_APP_SP, guid, sim))
    err = _error(lambda: auth.role_definitions.delete(ids["sub"], guid))
    assert (err.status_code, err.error.code) == (409, "RoleDefinitionHasAssignments")
    auth.role_assignments.delete_by_id(ra.id)
    assert auth.role_definitions.delete(ids["sub"], guid).role_name == "Registry Fixer"
    assert auth.role_definitions.delete(ids["sub"], guid) is None


@pytest.mark.parametrize(("case", "status", "code"), [
    ("same-name", 409, "RoleDefinitionWithSameNameExists"),
    ("bad-action", 400, "InvalidActionOrNotAction"),
    ("root-scope", 400, "InvalidRoleDefinition"),
    ("no-scopes", 400, "InvalidRoleDefinition"),
    ("id-not-guid", 400, "InvalidRoleDefinitionId"),
])
def test_custom_role_refusals(sim: Sim, case: str, status: int, code: str) -> None:
    auth, sub, guid = _auth(sim), _ids(sim)["sub"], str(uuid.uuid4())
    role = _custom(sim, "Role " + case, ["Microsoft.ContainerRegistry/registries/read"])
    if case == "same-name":
        role.role_name = "pull auditor"
    elif case == "bad-action":
        role.permissions = [Permission(actions=["readeverything"])]
    elif case == "root-scope":
        role.assignable_scopes = ["/"]
    elif case == "no-scopes":
        role.assignable_scopes = []
    elif case == "id-not-guid":
        guid = "registry-fixer"
    err = _error(lambda: auth.role_definitions.create_or_update(sub, guid, role))
    assert (err.status_code, err.error.code) == (status, code)


def test_custom_role_is_assignable_only_within_its_assignable_scopes(sim: Sim) -> None:
    ids, auth = _ids(sim), _auth(sim)
    guid = str(uuid.uuid4())
    auth.role_definitions.create_or_update(ids["sub"], guid, _custom(
        sim, "Other Only", ["Microsoft.ContainerRegistry/registries/read"], [ids["rg_other"]]))
    err = _error(lambda: auth.role_assignments.create(ids["rg_app"], str(uuid.uuid4()),
                                                      _grant(FRESH_APP_SP, guid, sim)))
    assert (err.status_code, err.error.code) == (400, "RoleDefinitionDoesNotExist")
    assert auth.role_assignments.create(ids["rg_other"], str(uuid.uuid4()),
                                        _grant(FRESH_APP_SP, guid, sim)).scope == ids["rg_other"]


def test_a_reader_cannot_define_roles(sim: Sim) -> None:
    auth = _auth(sim, "reader-app")
    err = _error(lambda: auth.role_definitions.create_or_update(
        _ids(sim)["sub"], str(uuid.uuid4()), _custom(sim, "Sneaky", ["*"])))
    assert (err.status_code, err.error.code) == (403, "AuthorizationFailed")


# -- permissions ---------------------------------------------------------------------------------
def test_permissions_list_the_callers_effective_actions(sim: Sim) -> None:
    reader = _auth(sim, "reader-app")
    rg = [(p.actions, p.not_actions) for p in reader.permissions.list_for_resource_group("rg-app")]
    assert rg == [(["*/read"], [])]
    at_mi = list(reader.permissions.list_for_resource(
        "rg-app", "Microsoft.ManagedIdentity", "", "userAssignedIdentities", "mi-workload"))
    assert [p.actions for p in at_mi] == [["*/read"]]
    # an identity without roles gets an empty answer, not an error
    assert list(_auth(sim, "fresh-app").permissions.list_for_resource_group("rg-app")) == []


# -- propagation ---------------------------------------------------------------------------------
def test_a_new_assignment_is_honoured_only_after_propagation(sim: Sim) -> None:
    # given assignments take two minutes to propagate
    sim.settings(role_propagation_seconds=120)
    ids = _ids(sim)
    # when the operator makes the fresh app Contributor on rg-app
    _auth(sim).role_assignments.create(ids["rg_app"], str(uuid.uuid4()),
                                       _grant(FRESH_APP_SP, CONTRIBUTOR, sim))
    fresh = sim.clients(stable_uuid("app", "fresh-app"), "fresh-app-secret-value")
    rm = fresh.arm(ResourceManagementClient, sim.subscription)
    fresh_auth = fresh.arm(AuthorizationManagementClient, sim.subscription)
    # then the assignment is listed at once, but the app's write is still refused
    assert FRESH_APP_SP in {a.principal_id for a in
                            _auth(sim).role_assignments.list_for_resource_group("rg-app")}
    err = _error(lambda: rm.resource_groups.create_or_update(
        "rg-app", {"location": "eastus", "tags": {"owner": "fresh"}}))
    assert (err.status_code, err.error.code) == (403, "AuthorizationFailed")
    assert list(fresh_auth.permissions.list_for_resource_group("rg-app")) == []
    # and once the delay has passed it is allowed
    sim.advance(121)
    assert rm.resource_groups.create_or_update(
        "rg-app", {"location": "eastus", "tags": {"owner": "fresh"}}).tags == {"owner": "fresh"}
    assert [p.actions for p in fresh_auth.permissions.list_for_resource_group("rg-app")] == [["*"]]


def test_a_scenario_can_stage_a_grant_that_has_not_propagated_yet(sim: Sim) -> None:
    # given the world's pending Contributor grant for the reader app on rg-other
    reader = _auth(sim, "reader-app")
    pending = [a for a in _auth(sim).role_assignments.list_for_resource_group("rg-other")
               if a.principal_id == READER_APP_SP and a.role_definition_id.endswith(CONTRIBUTOR)]
    assert [a.description for a in pending] == ["pending grant"]  # listed already
    assert [p.actions for p in reader.permissions.list_for_resource_group("rg-other")] == [
        ["*/read"]]  # but not in force
    # when the hour passes, then it is honoured
    sim.advance(3601)
    assert sorted(p.actions[0] for p in reader.permissions.list_for_resource_group("rg-other")
                  ) == ["*", "*/read"]


@pytest.mark.azcli
def test_az_cli_grants_lists_and_removes_a_pull_role(sim: Sim, tmp_path: Path) -> None:
    from tests.azcli import Az

    az, mi = Az(sim, tmp_path / "az"), _ids(sim)["mi"]
    made = az.json("role", "assignment", "create", "--assignee-object-id", FRESH_APP_SP,
                   "--assignee-principal-type", "ServicePrincipal", "--role", "AcrPull",
                   "--scope", mi)
    assert made["scope"] == mi and made["roleDefinitionId"].endswith(ACR_PULL)
    inherited = az.json("role", "assignment", "list", "--scope", mi, "--include-inherited")
    assert {FRESH_APP_SP, ALICE, PLATFORM, READER_APP_SP} <= {a["principalId"] for a in inherited}
    az.run("role", "assignment", "delete", "--ids", made["id"])
    assert [(j["method"], j["status"]) for j in sim.journal()] == [("PUT", 201), ("DELETE", 200)]


# -- parity with the official examples -------------------------------------------------------------
def _raw(sim: Sim, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
    resp = sim.arm_request(method, path, api_version="2022-04-01", **kwargs)
    assert resp.status_code in (200, 201), resp.text
    return resp.json()


def test_role_assignment_shapes_match_the_examples(sim: Sim) -> None:
    ids = _ids(sim)
    listed = _raw(sim, "GET", ids["sub"] + "/providers/Microsoft.Authorization/roleAssignments")
    assert shape_diff(example_response("RoleAssignments_ListForScope"), listed) == []
    one = listed["value"][0]
    assert shape_diff(example_response("RoleAssignments_Get"), _raw(sim, "GET", one["id"])) == []
    body = {"properties": {"roleDefinitionId": _rd(sim, READER), "principalId": FRESH_APP_SP,
                           "principalType": "ServicePrincipal"}}
    made = _raw(sim, "PUT", ids["rg_app"] + "/providers/Microsoft.Authorization/roleAssignments/"
                + str(uuid.uuid4()), json=body)
    assert shape_diff(example_response("RoleAssignments_Create", "201"), made) == []


def test_role_definition_and_permission_shapes_match_the_examples(sim: Sim) -> None:
    sub = _ids(sim)["sub"]
    rd = sub + "/providers/Microsoft.Authorization/roleDefinitions"
    # the seeded custom role has actions and dataActions, as the examples do
    listed = _raw(sim, "GET", rd + "?$filter=roleName eq 'Pull Auditor'")
    assert shape_diff(example_response("RoleDefinitions_List"), listed) == []
    guid = listed["value"][0]["name"]
    assert shape_diff(example_response("RoleDefinitions_Get"), _raw(sim, "GET", f"{rd}/{guid}")
                      ) == []
    assert shape_diff(example_response("RoleDefinitions_GetById"),
                      _raw(sim, "GET", f"{rd}/{guid}")) == []
    perms = _raw(sim, "GET", sub + "/resourcegroups/rg-app/providers/Microsoft.Authorization/"
                 "permissions")
    # nextLink is only present when there is a further page; one page here
    assert shape_diff(example_response("Permissions_ListForResourceGroup"), perms,
                      ignore=("$.nextLink",)) == []
