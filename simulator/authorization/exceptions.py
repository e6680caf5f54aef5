"""Microsoft.Authorization's own error codes and messages, as ARM returns them.

Where Azure prints a principal or assignment id in a message it prints the GUID without
dashes (``Principal 0f14a80d42e5... does not exist``); the helpers copy that.
"""

from __future__ import annotations

from simulator.core.errors import CloudError, arm_error


def _hex(guid: str) -> str:
    return guid.replace("-", "").lower()


def principal_not_found(principal_id: str, tenant_id: str) -> CloudError:
    return arm_error(
        400, "PrincipalNotFound",
        f"Principal {_hex(principal_id)} does not exist in the directory {tenant_id}. Check that "
        "you have the correct principal ID. If you are creating this principal and then "
        "immediately assigning a role, this error might be related to a replication delay. In "
        "this case, set the role assignment principalType property to a value, such as "
        "ServicePrincipal, User, or Group.  See https://aka.ms/docs-principaltype",
    )


def unmatched_principal_type(principal_id: str, actual: str, given: str) -> CloudError:
    return arm_error(
        400, "UnmatchedPrincipalType",
        f"The PrincipalId '{_hex(principal_id)}' has type '{actual}' , which is different from "
        f"specified PrincipalType '{given}'.",
    )


def role_assignment_exists(existing_name: str) -> CloudError:
    return arm_error(
        409, "RoleAssignmentExists",
        "The role assignment already exists. The ID of the existing role assignment is "
        f"{_hex(existing_name)}.",
    )


def role_assignment_update_not_permitted() -> CloudError:
    return arm_error(
        409, "RoleAssignmentUpdateNotPermitted",
        "Tenant ID, application ID, principal ID, and scope are not allowed to be updated.",
    )


def invalid_role_assignment_id(name: str) -> CloudError:
    return arm_error(
        400, "InvalidRoleAssignmentId",
        f"The role assignment ID '{name}' is not valid. The role assignment ID must be a GUID.",
    )


def role_assignment_not_found(name: str) -> CloudError:
    return arm_error(404, "RoleAssignmentNotFound", f"The role assignment '{name}' is not found.")


def role_definition_does_not_exist(guid: str, status: int = 400) -> CloudError:
    # 400 when a create refers to it, 404 when it is the resource asked for
    return arm_error(status, "RoleDefinitionDoesNotExist",
                     f"The specified role definition with ID '{_hex(guid)}' does not exist.")


def invalid_role_definition_id(name: str) -> CloudError:
    return arm_error(
        400, "InvalidRoleDefinitionId",
        f"The role definition ID '{name}' is not valid. The role definition ID must be a GUID.",
    )


def invalid_role_definition(message: str) -> CloudError:
    return arm_error(400, "InvalidRoleDefinition", message)


def invalid_action(action: str) -> CloudError:
    return arm_error(
        400, "InvalidActionOrNotAction",
        f"'{action}' does not match any of the actions supported by the providers.",
    )


def role_name_exists() -> CloudError:
    return arm_error(
        409, "RoleDefinitionWithSameNameExists",
        "A custom role with the same name already exists in this directory. Use a different "
        "name.",
    )


def role_definition_has_assignments() -> CloudError:
    return arm_error(409, "RoleDefinitionHasAssignments",
                     "There are existing role assignments referencing role (code: "
                     "RoleDefinitionHasAssignments).")


def invalid_filter(expr: str, supported: str) -> CloudError:
    return arm_error(400, "UnsupportedQuery",
                     f"The filter '{expr}' is not supported. Supported filters are: {supported}.")


def authorization_failed(caller_app: str | None, caller_oid: str, action: str,
                         scope: str) -> CloudError:
    return arm_error(
        403, "AuthorizationFailed",
        f"The client '{caller_app or caller_oid}' with object id '{caller_oid}' does not have "
        f"authorization to perform action '{action}' over scope '{scope}' or the scope is "
        "invalid. If access was recently granted, please refresh your credentials.",
    )
