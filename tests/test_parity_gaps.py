"""The remaining control-plane operations, each performed against the served simulator over
raw HTTPS (the example's api-version, the example's request body adapted to the test worlds)
and compared with its official x-ms-example.

Long-running writes are compared twice: the first answer (when the example has a body for its
status) and the resource once the operation has finished, which is what an SDK poller returns.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests

from simulator.scenario import stable_uuid
from tests.parity import example_for, example_response, operations, shape_diff
from tests.simharness import Sim

WORLDS = Path(__file__).parent / "worlds"
AKS = pytest.mark.scenario(str(WORLDS / "aks-basic.yaml"))
NET = pytest.mark.scenario(str(WORLDS / "net-basic.yaml"))
AUTHZ = pytest.mark.scenario(str(WORLDS / "authz-rbac.yaml"))

MC = "providers/Microsoft.ContainerService/managedClusters"
VMSS = "providers/Microsoft.Compute/virtualMachineScaleSets"
NW = "providers/Microsoft.Network"
RA = "providers/Microsoft.Authorization/roleAssignments"
RD = "providers/Microsoft.Authorization/roleDefinitions"
ZONE = "privatelink.azurecr.io"


# -- helpers ---------------------------------------------------------------------------------------
def call(sim: Sim, op: str, method: str, path: str, **kwargs: Any) -> requests.Response:
    """``op`` performed at its OPERATIONS.tsv api-version; the status must be one the
    operation's example documents."""
    resp = sim.arm_request(method, path, api_version=operations()[op]["api_version"], **kwargs)
    documented = example_for(op)["responses"]
    assert str(resp.status_code) in documented, (resp.status_code, resp.text)
    return resp


def diff(op: str, resp: requests.Response, status: str | None = None,
         ignore: tuple[str, ...] = ()) -> list[str]:
    """The shape difference between the answer and the example for its status; an example
    without a body for that status means the answer must have none either."""
    status = status or str(resp.status_code)
    if "body" not in example_for(op)["responses"][status]:
        return [] if not resp.content else [f"$: the example has no body, got {resp.text}"]
    return shape_diff(rekeyed(example_response(op, status), resp.json()), resp.json(),
                      ignore=ignore)


def rekeyed(expected: Any, actual: Any) -> Any:
    """The example with its ``userAssignedIdentities`` keyed like the answer: those keys are
    identity resource ids (data), their values are shape and are compared."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        out = {}
        for k, v in expected.items():
            uai = actual.get(k)
            if k == "userAssignedIdentities" and v and isinstance(uai, dict) and uai:
                out[k] = dict.fromkeys(uai, next(iter(v.values())))
            else:
                out[k] = rekeyed(v, actual[k]) if k in actual else v
        return out
    if isinstance(expected, list) and expected and isinstance(actual, list) and actual:
        return [rekeyed(expected[0], actual[0])]
    return expected


def finished(sim: Sim, resp: requests.Response) -> None:
    """Poll a long-running operation's status monitor until it is no longer running."""
    url = resp.headers.get("Azure-AsyncOperation") or resp.headers.get("Location")
    if not url:
        return
    headers = {"Authorization": f"Bearer {sim.token()}"}
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        poll = sim.session.get(url, headers=headers, verify=sim.ca, timeout=30)
        assert poll.status_code in (200, 202, 204), poll.text
        if "Azure-AsyncOperation" in resp.headers:
            if poll.json()["status"] != "InProgress":
                assert poll.json()["status"] == "Succeeded", poll.text
                return
        elif poll.status_code != 202:
            return
        time.sleep(0.1)
    raise AssertionError(f"operation behind {url} did not finish")


def get(sim: Sim, op: str, path: str) -> requests.Response:
    resp = sim.arm_request("GET", path, api_version=operations()[op]["api_version"])
    assert resp.status_code == 200, resp.text
    return resp


# -- AKS: managed clusters and agent pools -----------------------------------------------------------
# Features the simulated clusters do not use: zones, customer-managed disk encryption, forced
# upgrade overrides, the retired pod security policy; example tag keys are data, not shape.
AKS_NOT_MODELLED = ("$.tags.*", "$.value[].tags.*", "*.availabilityZones", "*.diskEncryptionSetID",
                    "*.upgradeSettings.overrideSettings", "*.enablePodSecurityPolicy")


def _rg(sim: Sim, group: str = "rg-aks") -> str:
    return f"/subscriptions/{sim.subscription}/resourceGroups/{group}"


def _kubelet_identity(sim: Sim) -> str:
    cluster = get(sim, "ManagedClusters_Get", f"{_rg(sim)}/{MC}/aks-prod").json()
    return cluster["properties"]["identityProfile"]["kubeletidentity"]["resourceId"]


@AKS
def test_managed_cluster_create_matches_the_example(sim: Sim) -> None:
    op = "ManagedClusters_CreateOrUpdate"
    # given the example's request, with a user-assigned identity that exists in the world
    body = example_for(op)["parameters"]["parameters"]
    body["location"] = "eastus"
    body["identity"]["userAssignedIdentities"] = {_kubelet_identity(sim): {}}
    # when the cluster is created
    path = f"{_rg(sim)}/{MC}/aks-new"
    resp = call(sim, op, "PUT", path, json=body)
    # then the first answer and the finished cluster both have the example's shape
    assert resp.status_code == 201
    assert diff(op, resp, ignore=AKS_NOT_MODELLED) == []
    # and the profiles the request supplied are kept, without the Windows password
    props = resp.json()["properties"]
    assert props["linuxProfile"] == body["properties"]["linuxProfile"]
    assert props["windowsProfile"] == {"adminUsername": "azureuser"}
    finished(sim, resp)
    done = get(sim, "ManagedClusters_Get", path)
    assert done.json()["properties"]["provisioningState"] == "Succeeded"
    assert diff(op, done, "201", ignore=AKS_NOT_MODELLED) == []


@AKS
def test_managed_cluster_update_tags_matches_the_example(sim: Sim) -> None:
    op = "ManagedClusters_UpdateTags"
    path = f"{_rg(sim)}/{MC}/aks-prod"
    resp = call(sim, op, "PATCH", path, json=example_for(op)["parameters"]["parameters"])
    assert diff(op, resp, ignore=AKS_NOT_MODELLED) == []
    finished(sim, resp)
    done = get(sim, "ManagedClusters_Get", path)
    assert done.json()["tags"] == {"tier": "testing", "archv3": ""}
    assert diff(op, done, "200", ignore=AKS_NOT_MODELLED) == []


@AKS
def test_managed_cluster_list_by_group_and_agent_pools_match_the_examples(sim: Sim) -> None:
    listed = call(sim, "ManagedClusters_ListByResourceGroup", "GET", f"{_rg(sim)}/{MC}")
    assert diff("ManagedClusters_ListByResourceGroup", listed, ignore=AKS_NOT_MODELLED) == []
    pools = call(sim, "AgentPools_List", "GET", f"{_rg(sim)}/{MC}/aks-prod/agentPools")
    assert [p["name"] for p in pools.json()["value"]] == ["system", "armpool", "win"]
    assert diff("AgentPools_List", pools, ignore=AKS_NOT_MODELLED) == []


@AKS
def test_managed_cluster_admin_credentials_match_the_example(sim: Sim) -> None:
    op = "ManagedClusters_ListClusterAdminCredentials"
    resp = call(sim, op, "POST", f"{_rg(sim)}/{MC}/aks-prod/listClusterAdminCredential")
    assert resp.json()["kubeconfigs"][0]["name"] == "clusterAdmin"
    assert diff(op, resp) == []


@AKS
def test_managed_cluster_reset_service_principal_matches_the_example(sim: Sim) -> None:
    op = "ManagedClusters_ResetServicePrincipalProfile"
    path = f"{_rg(sim, 'rg-aks-sp')}/{MC}/aks-sp"
    body = {"clientId": stable_uuid("app", "aks-sp-app"), "secret": "sp-secret-value-0001"}
    resp = call(sim, op, "POST", f"{path}/resetServicePrincipalProfile", json=body)
    # then, as in the example, an accepted operation without a body, tracked by Location
    assert resp.status_code == 202 and "Location" in resp.headers
    assert diff(op, resp) == []
    finished(sim, resp)
    assert get(sim, "ManagedClusters_Get", path).json()["properties"]["provisioningState"] == (
        "Succeeded")


# -- Compute: the clusters' scale sets --------------------------------------------------------------
# These operations' examples are generated "maximum sets" that fill every optional field. AKS
# node scale sets (what the simulator serves) leave these unset, so they are not modelled:
VMSS_NOT_MODELLED = (
    "*.tags.*", "$.nextLink",  # tag keys are data; one page here
    # only user-assigned identities (kubelet, add-ons), no system-assigned principal
    "*.identity.principalId", "*.identity.tenantId",
    # no marketplace plan, zones, edge zones, placement groups or dedicated hosts
    "*.plan", "*.zones", "*.extendedLocation", "*.proximityPlacementGroup", "*.hostGroup",
    "*.zoneBalance",
    # a gallery image by id; a plain managed OS disk (no CMK, ephemeral, VHD); no data disks
    "*.imageReference.publisher", "*.imageReference.offer", "*.imageReference.sku",
    "*.imageReference.version", "*.imageReference.exactVersion",
    "*.imageReference.sharedGalleryImageId", "*.osDisk.managedDisk.diskEncryptionSet",
    "*.osDisk.name", "*.osDisk.writeAcceleratorEnabled", "*.osDisk.diffDiskSettings",
    "*.osDisk.image", "*.osDisk.vhdContainers", "*.storageProfile.dataDisks",
    # no gallery applications or user data
    "*.applicationProfile", "*.userData",
    # no custom data, vault secrets or guest patching; Linux pools have no Windows settings
    "*.osProfile.customData", "*.osProfile.secrets", "*.linuxConfiguration.patchSettings",
    "*.osProfile.windowsConfiguration",
    # NICs without public IPs, app gateways, ASGs, FPGA or custom DNS; the simulator models no
    # load balancer (the cluster's outbound IPs are on its network profile)
    "*.publicIPAddressConfiguration", "*.applicationGatewayBackendAddressPools",
    "*.applicationSecurityGroups", "*.loadBalancerBackendAddressPools",
    "*.loadBalancerInboundNatPools", "*.enableFpga", "*.dnsSettings.dnsServers",
    "*.networkInterfaceConfigurations[].properties.deleteOption", "*.networkProfile.healthProbe",
    "*.networkProfile.networkApiVersion",
    # node bootstrap extensions are not run
    "*.extensionProfile.extensions", "*.extensionProfile.extensionsTimeBudget",
    # no spot, capacity reservations, scheduled events, licensing, boot diagnostics or
    # trusted launch
    "*.virtualMachineProfile.priority", "*.evictionPolicy", "*.billingProfile",
    "*.scheduledEventsProfile", "*.capacityReservation", "*.licenseType", "*.diagnosticsProfile",
    "*.virtualMachineProfile.securityProfile",
    # AKS upgrades nodes itself: Manual policy, no rolling/automatic OS upgrades, repairs,
    # scale-in policy, spot restore or extra capabilities
    "*.upgradePolicy.rollingUpgradePolicy", "*.automaticOSUpgradePolicy.disableAutomaticRollback",
    "*.automaticOSUpgradePolicy.useRollingUpgradePolicy",
    "*.automaticOSUpgradePolicy.osRollingUpgradeDeferral", "*.automaticRepairsPolicy",
    "*.scaleInPolicy", "*.spotRestorePolicy", "*.additionalCapabilities",
)


@AKS
def test_scale_set_lists_match_the_examples(sim: Sim) -> None:
    node_rg = _rg(sim, "MC_rg-aks_aks-prod_eastus")
    by_group = call(sim, "VirtualMachineScaleSets_List", "GET", f"{node_rg}/{VMSS}")
    assert len(by_group.json()["value"]) == 3
    assert diff("VirtualMachineScaleSets_List", by_group, ignore=VMSS_NOT_MODELLED) == []
    every = call(sim, "VirtualMachineScaleSets_ListAll", "GET",
                 f"/subscriptions/{sim.subscription}/{VMSS}")
    assert len(every.json()["value"]) > 3
    assert diff("VirtualMachineScaleSets_ListAll", every, ignore=VMSS_NOT_MODELLED) == []


@AKS
def test_scale_set_update_matches_the_example(sim: Sim) -> None:
    op = "VirtualMachineScaleSets_Update"
    # given aks-noid's scale set, which lost its kubelet identity
    node_rg = _rg(sim, "MC_rg-aks_aks-noid_eastus")
    (vmss,) = get(sim, "VirtualMachineScaleSets_List", f"{node_rg}/{VMSS}").json()["value"]
    kubelet = get(sim, "ManagedClusters_Get", f"{_rg(sim)}/{MC}/aks-noid").json()[
        "properties"]["identityProfile"]["kubeletidentity"]["resourceId"]
    # when the identity is patched back, as pullfix's fix does
    body = {"identity": {"type": "UserAssigned", "userAssignedIdentities": {kubelet: {}}}}
    resp = call(sim, op, "PATCH", vmss["id"], json=body)
    assert diff(op, resp, ignore=VMSS_NOT_MODELLED) == []
    finished(sim, resp)
    done = get(sim, op, vmss["id"])
    assert kubelet.lower() in {k.lower() for k in done.json()["identity"]["userAssignedIdentities"]}
    assert diff(op, done, "200", ignore=VMSS_NOT_MODELLED) == []


# -- Network -----------------------------------------------------------------------------------------
def _net(sim: Sim, tail: str) -> str:
    return f"{_rg(sim, 'rg-net')}/{NW}/{tail}"


@NET
def test_peering_create_and_delete_match_the_examples(sim: Sim) -> None:
    op = "VirtualNetworkPeerings_CreateOrUpdate"
    body = example_for(op)["parameters"]["VirtualNetworkPeeringParameters"]
    body["properties"]["remoteVirtualNetwork"]["id"] = _net(sim, "virtualNetworks/island")
    path = _net(sim, "virtualNetworks/lonely/virtualNetworkPeerings/to-island")
    resp = call(sim, op, "PUT", path, json=body)
    assert resp.status_code == 201
    assert diff(op, resp) == []
    finished(sim, resp)
    assert diff(op, get(sim, "VirtualNetworkPeerings_Get", path), "201") == []
    gone = call(sim, "VirtualNetworkPeerings_Delete", "DELETE", path)
    assert diff("VirtualNetworkPeerings_Delete", gone) == []
    finished(sim, gone)
    missing = sim.arm_request("GET", path, api_version=operations()[op]["api_version"])
    assert missing.status_code == 404


NET_READS = [
    # (operationId, path under rg-net's Microsoft.Network, ignored paths)
    ("Routes_List", "routeTables/to-fw/routes", ()),
    ("SecurityRules_Get", "networkSecurityGroups/aks-nsg/securityRules/deny-acr", ()),
    ("FirewallPolicies_Get", "firewallPolicies/hub-policy", (
        "$.tags.*",  # tag keys are data
        # hub-policy is a Standard policy with no allow-list entries, insights workspace, SNAT
        # ranges or DNS settings; SQL redirect, explicit proxy, IDPS and TLS inspection are
        # Premium features
        "$.properties.threatIntelWhitelist.*", "$.properties.insights", "$.properties.snat",
        "$.properties.dnsSettings", "$.properties.sql", "$.properties.explicitProxy",
        "$.properties.intrusionDetection", "$.properties.transportSecurity")),
    ("FirewallPolicyRuleCollectionGroups_List", "firewallPolicies/hub-policy/ruleCollectionGroups",
     # a rule's description is free text, absent unless set; one page here
     ("*.rules[].description", "$.nextLink")),
    ("PrivateDnsZoneGroups_Get", "privateEndpoints/acr-pe/privateDnsZoneGroups/default", ()),
    ("PrivateDnsZoneGroups_List", "privateEndpoints/acr-pe/privateDnsZoneGroups", ()),
]


@NET
@pytest.mark.parametrize(("op", "tail", "ignore"), NET_READS, ids=[r[0] for r in NET_READS])
def test_network_reads_match_the_examples(sim: Sim, op: str, tail: str,
                                          ignore: tuple[str, ...]) -> None:
    resp = call(sim, op, "GET", _net(sim, tail))
    assert diff(op, resp, ignore=ignore) == []


# -- Private DNS -------------------------------------------------------------------------------------
def _zone(sim: Sim, tail: str = "") -> str:
    return f"{_rg(sim, 'rg-dns')}/{NW}/privateDnsZones/{ZONE}{tail}"


DNS_READS = [
    # (operationId, path, ignored paths) — zone and link tags are user data, absent unless set
    # and nextLink appears only when there is a further page; one page here
    ("PrivateZones_List", "/subscriptions/{sub}/" + NW + "/privateDnsZones",
     ("*.tags", "$.nextLink")),
    ("PrivateZones_ListByResourceGroup", "/subscriptions/{sub}/resourceGroups/rg-dns/" + NW +
     "/privateDnsZones", ("*.tags", "$.nextLink")),
    ("VirtualNetworkLinks_List", "{zone}/virtualNetworkLinks", ("*.tags", "$.nextLink")),
    ("RecordSets_ListByType", "{zone}/A", ("*.metadata", "$.nextLink")),
]


@NET
@pytest.mark.parametrize(("op", "path", "ignore"), DNS_READS, ids=[r[0] for r in DNS_READS])
def test_private_dns_reads_match_the_examples(sim: Sim, op: str, path: str,
                                              ignore: tuple[str, ...]) -> None:
    resp = call(sim, op, "GET", path.format(sub=sim.subscription, zone=_zone(sim)))
    assert diff(op, resp, ignore=ignore) == []


@NET
def test_record_set_list_matches_the_example_per_record_type(sim: Sim) -> None:
    op = "RecordSets_List"
    resp = call(sim, op, "GET", _zone(sim, "/ALL"))
    # the listing mixes record types; each answer is compared with the example's record of the
    # same type (the zone's SOA record has no counterpart in the example)
    by_type = {r["type"].lower(): r for r in example_response(op)["value"]}
    got = resp.json()["value"]
    compared = [r for r in got if r["type"].lower() in by_type]
    assert {r["type"] for r in got} >= {"Microsoft.Network/privateDnsZones/A"} and compared
    for record in compared:
        # user metadata is absent unless set
        assert shape_diff(by_type[record["type"].lower()], record, ignore=("*.metadata",)) == []


@NET
def test_record_set_create_matches_the_example(sim: Sim) -> None:
    op = "RecordSets_CreateOrUpdate"
    body = example_for(op)["parameters"]["parameters"]
    resp = call(sim, op, "PUT", _zone(sim, "/A/recordA"), json=body)
    assert resp.status_code == 201
    assert diff(op, resp) == []


@NET
def test_virtual_network_link_lifecycle_matches_the_examples(sim: Sim) -> None:
    path = _zone(sim, "/virtualNetworkLinks/spoke-link")
    # create
    op = "VirtualNetworkLinks_CreateOrUpdate"
    body = example_for(op)["parameters"]["parameters"]
    body["properties"]["virtualNetwork"]["id"] = _net(sim, "virtualNetworks/spoke")
    resp = call(sim, op, "PUT", path, json=body)
    assert diff(op, resp) == []
    finished(sim, resp)
    assert diff(op, get(sim, "VirtualNetworkLinks_Get", path), "201") == []
    # update
    op = "VirtualNetworkLinks_Update"
    resp = call(sim, op, "PATCH", path, json=example_for(op)["parameters"]["parameters"])
    assert diff(op, resp) == []
    finished(sim, resp)
    done = get(sim, "VirtualNetworkLinks_Get", path)
    assert done.json()["properties"]["registrationEnabled"] is True
    assert diff(op, done, "200") == []
    # delete
    op = "VirtualNetworkLinks_Delete"
    resp = call(sim, op, "DELETE", path)
    assert diff(op, resp) == []
    finished(sim, resp)
    assert sim.arm_request("GET", path, api_version="2024-06-01").status_code == 404


# -- Authorization -----------------------------------------------------------------------------------
def _authz(sim: Sim) -> dict[str, str]:
    sub = f"/subscriptions/{sim.subscription}"
    return {"sub": sub, "rg": f"{sub}/resourceGroups/rg-app",
            "mi": f"{sub}/resourceGroups/rg-app/providers/Microsoft.ManagedIdentity/"
                  "userAssignedIdentities/mi-workload"}


AUTHZ_READS = [
    ("RoleAssignments_ListForSubscription", "{sub}/" + RA),
    ("RoleAssignments_ListForResourceGroup", "{rg}/" + RA),
    ("RoleAssignments_ListForResource", "{mi}/" + RA),
    ("Permissions_ListForResource", "{mi}/providers/Microsoft.Authorization/permissions"),
]


@AUTHZ
@pytest.mark.parametrize(("op", "path"), AUTHZ_READS, ids=[r[0] for r in AUTHZ_READS])
def test_authorization_reads_match_the_examples(sim: Sim, op: str, path: str) -> None:
    resp = call(sim, op, "GET", path.format(**_authz(sim)))
    assert resp.json()["value"]
    # nextLink is only present when there is a further page; one page here
    assert diff(op, resp, ignore=("$.nextLink",)) == []


@AUTHZ
def test_role_assignment_by_id_lifecycle_matches_the_examples(sim: Sim) -> None:
    ids = _authz(sim)
    assignment = f"{ids['rg']}/{RA}/{uuid.uuid4()}"
    body = example_for("RoleAssignments_CreateById")["parameters"]["parameters"]
    body["properties"].update(
        roleDefinitionId=f"{ids['sub']}/{RD}/acdd72a7-3b69-4dc6-9dcf-5a37b4a2f71f",
        principalId=stable_uuid("user", "alice@pullfix.example"))
    made = call(sim, "RoleAssignments_CreateById", "PUT", assignment, json=body)
    assert made.status_code == 201
    assert diff("RoleAssignments_CreateById", made) == []
    got = call(sim, "RoleAssignments_GetById", "GET", assignment)
    assert diff("RoleAssignments_GetById", got) == []
    gone = call(sim, "RoleAssignments_DeleteById", "DELETE", assignment)
    assert gone.status_code == 200
    assert diff("RoleAssignments_DeleteById", gone) == []


@AUTHZ
def test_role_assignment_delete_by_scope_and_name_matches_the_example(sim: Sim) -> None:
    ids = _authz(sim)
    listed = get(sim, "RoleAssignments_ListForScope", f"{ids['mi']}/{RA}")
    (alice,) = [a for a in listed.json()["value"] if a["properties"]["scope"] == ids["mi"]]
    gone = call(sim, "RoleAssignments_Delete", "DELETE", f"{ids['mi']}/{RA}/{alice['name']}")
    assert gone.status_code == 200
    assert diff("RoleAssignments_Delete", gone) == []


@AUTHZ
def test_role_definition_create_and_delete_match_the_examples(sim: Sim) -> None:
    ids = _authz(sim)
    guid = str(uuid.uuid4())
    path = f"{ids['sub']}/{RD}/{guid}"
    # the example nests its definition oddly; the wire format is the usual properties envelope
    example_def = example_for("RoleDefinitions_CreateOrUpdate")["parameters"]["body"][
        "roleDefinition"]
    body = {"properties": {
        "roleName": "Registry Toucher", "description": example_def["description"],
        "assignableScopes": [ids["sub"]],
        "permissions": [{
            "actions": ["Microsoft.ContainerRegistry/registries/read"], "notActions": [],
            "dataActions": ["Microsoft.ContainerRegistry/registries/repositories/content/read"],
            "notDataActions": []}]}}
    made = call(sim, "RoleDefinitions_CreateOrUpdate", "PUT", path, json=body)
    assert made.status_code == 201
    assert diff("RoleDefinitions_CreateOrUpdate", made) == []
    gone = call(sim, "RoleDefinitions_Delete", "DELETE", path)
    assert gone.status_code == 200
    assert diff("RoleDefinitions_Delete", gone) == []
