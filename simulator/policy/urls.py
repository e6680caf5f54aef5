from simulator.core.routing import route
from simulator.policy import responses as r

DEFS = "/providers/Microsoft.Authorization/policyDefinitions"
ASSIGNMENTS = "/{scope:path}/providers/Microsoft.Authorization/policyAssignments"

# built-in definitions belong to no subscription; any signed-in caller may read them
route("GET", DEFS, action="")(r.list_builtin_definitions)
route("GET", DEFS + "/{name}", action="")(r.get_builtin_definition)
route("GET", "/subscriptions/{sub}" + DEFS)(r.list_definitions)
route("GET", "/subscriptions/{sub}" + DEFS + "/{name}")(r.get_definition)
route("GET", ASSIGNMENTS)(r.list_assignments)
route("GET", ASSIGNMENTS + "/{name}")(r.get_assignment)
route("PUT", ASSIGNMENTS + "/{name}")(r.put_assignment)
route("DELETE", ASSIGNMENTS + "/{name}")(r.delete_assignment)
