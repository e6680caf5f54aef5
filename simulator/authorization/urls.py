"""Microsoft.Authorization routes. ``{scope:path}`` is any ARM scope (subscription, resource
group, resource, nested resource), so ``/{roleAssignmentId}`` and ``/{roleId}`` — the SDK's
by-id operations — land on the same routes as the scoped ones.

The RBAC check is the dispatcher's, derived from the path (e.g. a PUT on
``<registry>/providers/Microsoft.Authorization/roleAssignments/<guid>`` needs
``Microsoft.Authorization/roleAssignments/write`` on the registry or above). Two exceptions:
built-in definitions at the tenant root are readable by every signed-in caller, and the
permissions API answers any caller about itself.
"""

from simulator.authorization import responses as r
from simulator.core.routing import route

RA = "/providers/Microsoft.Authorization/roleAssignments"
RD = "/providers/Microsoft.Authorization/roleDefinitions"

route("GET", "/{scope:path}" + RA)(r.list_role_assignments)
route("GET", "/{scope:path}" + RA + "/{name}")(r.get_role_assignment)
route("PUT", "/{scope:path}" + RA + "/{name}")(r.create_role_assignment)
route("DELETE", "/{scope:path}" + RA + "/{name}")(r.delete_role_assignment)

route("GET", RD, action="")(r.list_role_definitions)
route("GET", RD + "/{id}", action="")(r.get_role_definition)
route("GET", "/{scope:path}" + RD)(r.list_role_definitions)
route("GET", "/{scope:path}" + RD + "/{id}")(r.get_role_definition)
route("PUT", "/{scope:path}" + RD + "/{id}")(r.create_or_update_role_definition)
route("DELETE", "/{scope:path}" + RD + "/{id}")(r.delete_role_definition)

route("GET", "/{scope:path}/providers/Microsoft.Authorization/permissions", action="")(
    r.list_permissions)
