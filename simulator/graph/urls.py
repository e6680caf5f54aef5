"""Microsoft Graph v1.0 routes (directory objects). ``service="graph"``: the dispatcher accepts
only Graph-audience tokens. Order matters where templates overlap: ``/$count`` and the
``(appId='…')`` alternate key are declared before ``/{id}``."""

from simulator.core.routing import route
from simulator.graph import responses as r

V = "/v1.0"
APP_KEY = "(appId='{app_id}')"

for coll in ("applications", "servicePrincipals", "users", "groups"):
    route("GET", f"{V}/{coll}/$count", service="graph")(r.count_of(coll))
    route("GET", f"{V}/{coll}", service="graph")(r.list_of(coll))
    route("GET", f"{V}/{coll}/{{id}}", service="graph")(r.get_of(coll))

for coll in ("applications", "servicePrincipals"):
    route("GET", f"{V}/{coll}{APP_KEY}", service="graph")(r.get_of(coll))
    for key in ("/{id}", APP_KEY):
        route("POST", f"{V}/{coll}{key}/addPassword", service="graph")(r.add_password_of(coll))
        route("POST", f"{V}/{coll}{key}/removePassword", service="graph")(
            r.remove_password_of(coll))

for coll in ("users", "servicePrincipals", "groups", "directoryObjects"):
    base = f"{V}/{coll}/{{id}}"
    route("GET", f"{base}/memberOf", service="graph")(r.member_of_of(coll, transitive=False))
    route("GET", f"{base}/transitiveMemberOf", service="graph")(
        r.member_of_of(coll, transitive=True))
    # actions that only read: not journalled as writes
    route("POST", f"{base}/checkMemberGroups", service="graph", write=False)(
        r.check_member_groups_of(coll))
    route("POST", f"{base}/getMemberGroups", service="graph", write=False)(
        r.get_member_groups_of(coll))

route("GET", f"{V}/groups/{{id}}/members", service="graph")(r.members_of_group(transitive=False))
route("GET", f"{V}/groups/{{id}}/transitiveMembers", service="graph")(
    r.members_of_group(transitive=True))
route("POST", f"{V}/directoryObjects/getByIds", service="graph", write=False)(r.get_by_ids)
route("GET", f"{V}/directoryObjects/{{id}}", service="graph")(r.get_directory_object)
