from simulator.containerservice import responses as r
from simulator.containerservice import runcommand as rc
from simulator.core.routing import route

MC = "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.ContainerService/managedClusters"
ONE = MC + "/{name}"
route("GET", "/subscriptions/{sub}/providers/Microsoft.ContainerService/managedClusters")(
    r.list_clusters)
route("GET", MC)(r.list_clusters)
route("GET", ONE)(r.get_cluster)
route("PUT", ONE)(r.put_cluster)
route("PATCH", ONE)(r.update_tags)
route("DELETE", ONE)(r.delete_cluster)
route("POST", ONE + "/resetServicePrincipalProfile")(r.reset_service_principal_profile)
route("POST", ONE + "/listClusterUserCredential")(r.list_user_credentials)
route("POST", ONE + "/listClusterAdminCredential")(r.list_admin_credentials)
route("GET", ONE + "/agentPools")(r.list_agent_pools)
route("GET", ONE + "/agentPools/{pool}")(r.get_agent_pool)
route("POST", ONE + "/runCommand", write=False)(rc.run_command)
route("GET", ONE + "/commandResults/{command}")(rc.command_result)
