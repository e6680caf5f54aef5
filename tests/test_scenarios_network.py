"""The network scenarios of the library (catalogue causes 3 and 4): each served scenario's pods
fail with the real kubelet wording, keep failing after an unrelated change, and run once the
documented fix is applied by hand with the real Azure SDK call."""

from __future__ import annotations

from pathlib import Path

import pytest
from azure.mgmt.authorization import AuthorizationManagementClient
from azure.mgmt.containerregistry import ContainerRegistryManagementClient
from azure.mgmt.containerregistry import models as acr
from azure.mgmt.containerservice import ContainerServiceClient
from azure.mgmt.network import NetworkManagementClient
from azure.mgmt.network import models as net
from azure.mgmt.privatedns import PrivateDnsManagementClient
from azure.mgmt.privatedns import models as dns

from tests.scenariolib import Kube, failed_messages, kube, still_failing, wait_running
from tests.simharness import Sim

IMAGE = "{registry}.azurecr.io/app/web:v1"
PE_IP = "10.30.1.4"  # the registry endpoint's address in the hub's private-endpoints subnet
AKS_SUBNET = "10.41.0.0/22"
ACR_PULL = "7f951dda-4ed3-4680-a7ca-43fe172d538d"


def token_refused(registry: str, status: str) -> str:
    host, image = f"{registry}.azurecr.io", IMAGE.format(registry=registry)
    return (f'Failed to pull image "{image}": failed to pull and unpack image "{image}": failed '
            f'to resolve reference "{image}": failed to authorize: failed to fetch anonymous '
            f"token: unexpected status from GET request to https://{host}/oauth2/token?scope="
            f"repository%3Aapp%2Fweb%3Apull&service={host}: {status}")


def forbidden(registry: str) -> str:
    """Cause 3 as containerd 1.7 words it: the troubleshooting article ("failed to fetch
    anonymous token: unexpected status: 403 Forbidden", containerd 1.6) with the 1.7 form of
    the token request from Azure/AKS#4459 ("unexpected status from GET request to
    https://…/oauth2/token?scope=…&service=…")."""
    return token_refused(registry, "403 Forbidden")


def timeout(registry: str, ip: str = PE_IP) -> str:
    """Cause 4, the troubleshooting article's wording ('failed to do request: Head
    "https://<acrname>.azurecr.io/v2/<repository>/manifests/v1": dial tcp
    <acrprivateipaddress>:443: i/o timeout'); Azure/acr#594 shows the same with a real IP."""
    host, image = f"{registry}.azurecr.io", IMAGE.format(registry=registry)
    return (f'Failed to pull image "{image}": failed to pull and unpack image "{image}": failed '
            f'to resolve reference "{image}": failed to do request: Head '
            f'"https://{host}/v2/app/web/manifests/v1": dial tcp {ip}:443: i/o timeout')


SCENARIOS = {
    "private-dns-zone-not-linked": forbidden("contosopriv"),
    "registry-firewall-missing-egress-ip": forbidden("contosoapp"),
    "public-access-disabled": forbidden("contosoapp"),
    "peering-disconnected": timeout("contosopriv"),
    "peering-missing": timeout("contosopriv"),
    "firewall-route-without-allow-rule": timeout("contosopriv"),
    "nsg-deny": timeout("contosopriv"),
}


def _app(sim: Sim, tmp_path: Path) -> Kube:
    return kube(sim, "aks-app", tmp_path)


def _sub(kb: Kube) -> str:
    return kb.subscription


def _failing_with(kb: Kube, message: str) -> None:
    for pod in still_failing(kb, "web", "web"):
        assert failed_messages(kb, pod)[0] == message


def _egress_ip(sim: Sim, kb: Kube) -> str:
    """The cluster's egress address the way an operator finds it: the load balancer profile's
    effectiveOutboundIPs → the public IP resource → its address."""
    cluster = sim.clients().arm(ContainerServiceClient, _sub(kb)).managed_clusters.get(
        kb.resource_group, "aks-app")
    pip_id = cluster.network_profile.load_balancer_profile.effective_outbound_i_ps[0].id
    parts = pip_id.split("/")
    pip = sim.clients().arm(NetworkManagementClient, _sub(kb)).public_ip_addresses.get(
        parts[4], parts[-1])
    return pip.ip_address


def _tag_cluster(sim: Sim, kb: Kube) -> None:
    sim.clients().arm(ContainerServiceClient, _sub(kb)).managed_clusters.begin_update_tags(
        kb.resource_group, "aks-app", {"tags": {"env": "prod", "owner": "platform"}}).result()


# -- 1. the served scenario fails with the real words -------------------------------------------
@pytest.mark.parametrize("name", list(SCENARIOS))
def test_served_scenario_pods_fail_with_the_real_wording(name: str, sim_pool, tmp_path: Path
                                                         ) -> None:
    # given the served scenario
    sim: Sim = sim_pool.get(name)
    kb = _app(sim, tmp_path)
    # then both replicas wait in ErrImagePull/ImagePullBackOff with the cause's event text
    _failing_with(kb, SCENARIOS[name])
    # and an unrelated change (a tag on the cluster) leaves them failing
    _tag_cluster(sim, kb)
    _failing_with(kb, SCENARIOS[name])


# -- 2. the documented fix, by hand ------------------------------------------------------------
@pytest.mark.scenario("private-dns-zone-not-linked")
def test_linking_the_zone_to_the_aks_vnet_heals(sim: Sim, tmp_path: Path) -> None:
    kb = _app(sim, tmp_path)
    netc = sim.clients().arm(NetworkManagementClient, _sub(kb))
    links = sim.clients().arm(PrivateDnsManagementClient, _sub(kb)).virtual_network_links

    def link(name: str, vnet: str) -> None:
        links.begin_create_or_update("rg-net", "privatelink.azurecr.io", name, dns.VirtualNetworkLink(
            location="global", virtual_network=dns.SubResource(
                id=netc.virtual_networks.get("rg-net", vnet).id),
            registration_enabled=False)).result()

    # when the zone is linked to another spoke the cluster is not in, nothing changes
    link("vnet-build", "vnet-build")
    _failing_with(kb, SCENARIOS["private-dns-zone-not-linked"])
    # when it is linked to the AKS VNet, the name resolves to the endpoint and the pods run
    link("vnet-aks", "vnet-aks")
    wait_running(kb, "web", "web")


@pytest.mark.scenario("registry-firewall-missing-egress-ip")
def test_allowing_the_cluster_egress_ip_heals(sim: Sim, tmp_path: Path) -> None:
    kb = _app(sim, tmp_path)
    registries = sim.clients().arm(ContainerRegistryManagementClient, _sub(kb)).registries

    def allow(*ips: str) -> None:
        registries.begin_update("rg-app", "contosoapp", acr.RegistryUpdateParameters(
            network_rule_set=acr.NetworkRuleSet(default_action="Deny", ip_rules=[
                acr.IPRule(ip_address_or_range=ip, action="Allow") for ip in ips]))).result()

    # when a rule for another address is added (a second office), the pods keep failing
    allow("203.0.113.10", "198.51.100.7")
    _failing_with(kb, SCENARIOS["registry-firewall-missing-egress-ip"])
    # when the cluster's load balancer outbound IP is allowed, they run
    egress = _egress_ip(sim, kb)
    allow("203.0.113.10", "198.51.100.7", egress)
    wait_running(kb, "web", "web")
    rules = registries.get("rg-app", "contosoapp").network_rule_set
    assert rules.default_action == "Deny" and egress in [r.ip_address_or_range
                                                           for r in rules.ip_rules]


@pytest.mark.scenario("public-access-disabled")
def test_selected_networks_with_the_egress_ip_heals(sim: Sim, tmp_path: Path) -> None:
    kb = _app(sim, tmp_path)
    registries = sim.clients().arm(ContainerRegistryManagementClient, _sub(kb)).registries
    egress = _egress_ip(sim, kb)
    rules = acr.NetworkRuleSet(default_action="Deny", ip_rules=[
        acr.IPRule(ip_address_or_range=egress, action="Allow")])
    # a partial fix: the egress IP in the rules while public access stays Disabled
    registries.begin_update("rg-app", "contosoapp", acr.RegistryUpdateParameters(
        network_rule_set=rules)).result()
    _failing_with(kb, SCENARIOS["public-access-disabled"])
    # the fix: public access Enabled for selected networks (defaultAction Deny + the egress IP)
    registries.begin_update("rg-app", "contosoapp", acr.RegistryUpdateParameters(
        public_network_access="Enabled", network_rule_set=rules)).result()
    wait_running(kb, "web", "web")
    reg = registries.get("rg-app", "contosoapp")
    assert reg.public_network_access == "Enabled"
    assert reg.network_rule_set.default_action == "Deny"


def _peering(netc: NetworkManagementClient, vnet: str, remote: str, name: str
             ) -> net.VirtualNetworkPeering:
    return netc.virtual_network_peerings.begin_create_or_update(
        "rg-net", vnet, name, net.VirtualNetworkPeering(
            remote_virtual_network=net.SubResource(id=netc.virtual_networks.get("rg-net",
                                                                                 remote).id),
            allow_virtual_network_access=True, allow_forwarded_traffic=True)).result()


@pytest.mark.scenario("peering-disconnected")
def test_disconnected_peering_heals_only_when_both_sides_are_recreated(sim: Sim, tmp_path: Path
                                                                        ) -> None:
    kb = _app(sim, tmp_path)
    netc = sim.clients().arm(NetworkManagementClient, _sub(kb))
    peerings = netc.virtual_network_peerings
    assert {p.peering_state for p in peerings.list("rg-net", "vnet-aks")} == {"Disconnected"}
    # an unrelated change: AcrPull on the registry for another principal (the cluster's
    # control-plane identity; the kubelet identity already holds it)
    registry = sim.clients().arm(ContainerRegistryManagementClient, _sub(kb)).registries.get(
        "rg-app", "contosopriv")
    cluster = sim.clients().arm(ContainerServiceClient, _sub(kb)).managed_clusters.get(
        kb.resource_group, "aks-app")
    auth = sim.clients().arm(AuthorizationManagementClient, _sub(kb))
    auth.role_assignments.create(registry.id, "5b0c6c55-0f59-4c9b-9a59-2d3b8f0c7e11", {
        "role_definition_id": f"/subscriptions/{_sub(kb)}/providers/Microsoft.Authorization/"
                              f"roleDefinitions/{ACR_PULL}",
        "principal_id": cluster.identity.principal_id, "principal_type": "ServicePrincipal"})
    _failing_with(kb, SCENARIOS["peering-disconnected"])
    # a wrong fix: updating the Disconnected side in place does not reconnect it
    updated = _peering(netc, "vnet-aks", "vnet-hub", "vnet-aks-to-vnet-hub")
    assert updated.peering_state == "Disconnected"
    _failing_with(kb, SCENARIOS["peering-disconnected"])
    # the fix: delete both sides, then create both again
    peerings.begin_delete("rg-net", "vnet-aks", "vnet-aks-to-vnet-hub").result()
    peerings.begin_delete("rg-net", "vnet-hub", "vnet-hub-to-vnet-aks").result()
    _peering(netc, "vnet-aks", "vnet-hub", "aks-to-hub")
    assert _peering(netc, "vnet-hub", "vnet-aks", "hub-to-aks").peering_state == "Connected"
    wait_running(kb, "web", "web")


@pytest.mark.scenario("peering-missing")
def test_missing_peering_heals_once_both_sides_exist(sim: Sim, tmp_path: Path) -> None:
    kb = _app(sim, tmp_path)
    netc = sim.clients().arm(NetworkManagementClient, _sub(kb))
    assert list(netc.virtual_network_peerings.list("rg-net", "vnet-aks")) == []
    # a partial fix: one side only stays Initiated and carries no traffic
    assert _peering(netc, "vnet-aks", "vnet-hub", "aks-to-hub").peering_state == "Initiated"
    _failing_with(kb, SCENARIOS["peering-missing"])
    # the other side connects both
    assert _peering(netc, "vnet-hub", "vnet-aks", "hub-to-aks").peering_state == "Connected"
    wait_running(kb, "web", "web")


@pytest.mark.scenario("firewall-route-without-allow-rule")
def test_firewall_network_rule_for_443_heals_and_port_80_does_not(sim: Sim, tmp_path: Path
                                                                  ) -> None:
    kb = _app(sim, tmp_path)
    netc = sim.clients().arm(NetworkManagementClient, _sub(kb))
    route = netc.route_tables.get("rg-net", "rt-aks-via-firewall").routes
    assert {r.next_hop_ip_address for r in route} == {"10.30.2.4"}

    def allow(group: str, priority: int, port: str) -> None:
        netc.firewall_policy_rule_collection_groups.begin_create_or_update(
            "rg-net", "fwpol-hub", group, net.FirewallPolicyRuleCollectionGroup(
                priority=priority, rule_collections=[net.FirewallPolicyFilterRuleCollection(
                    name="allow-acr", priority=100,
                    action=net.FirewallPolicyFilterRuleCollectionAction(type="Allow"),
                    rules=[net.NetworkRule(
                        name="aks-to-acr-pe", ip_protocols=["TCP"],
                        source_addresses=[AKS_SUBNET], destination_addresses=[PE_IP],
                        destination_ports=[port])])])).result()

    # a wrong fix: the right addresses on port 80
    allow("aks-registry-http", 300, "80")
    _failing_with(kb, SCENARIOS["firewall-route-without-allow-rule"])
    # the fix: AKS subnet -> the private endpoint's address, TCP 443
    allow("aks-registry", 310, "443")
    wait_running(kb, "web", "web")


@pytest.mark.scenario("nsg-deny")
def test_deleting_the_nsg_deny_rule_heals(sim: Sim, tmp_path: Path) -> None:
    kb = _app(sim, tmp_path)
    rules = sim.clients().arm(NetworkManagementClient, _sub(kb)).security_rules
    # a lower-precedence allow for the same traffic changes nothing: the deny at 100 wins
    rules.begin_create_or_update("rg-net", "nsg-aks", "allow-private-endpoints-443",
                                 net.SecurityRule(
                                     priority=200, direction="Outbound", access="Allow",
                                     protocol="Tcp", source_address_prefix="*",
                                     source_port_range="*", destination_address_prefix="10.30.1.0/24",
                                     destination_port_range="443")).result()
    _failing_with(kb, SCENARIOS["nsg-deny"])
    # removing the deny rule (report-only for pullfix; done by hand here) lets the pulls through
    rules.begin_delete("rg-net", "nsg-aks", "deny-private-endpoints-443").result()
    wait_running(kb, "web", "web")


# -- generated fleets have pods, a seeded few broken -------------------------------------------
def fleet_message(registry: str, cause: str) -> str:
    if cause == "missing-role":  # cause 1, anonymous fallback (Azure/AKS#4459)
        return token_refused(registry, "401 Unauthorized")
    if cause == "egress-ip":
        return forbidden(registry)
    # login-server typo: virtual-kubelet/azure-aci#65 ('dial tcp: lookup … on 168.63.129.16:53:
    # no such host')
    host = f"{registry}.azureacr.io"
    image = f"{host}/app/web:v1"
    return (f'Failed to pull image "{image}": failed to pull and unpack image "{image}": failed '
            f'to resolve reference "{image}": failed to do request: Head '
            f'"https://{host}/v2/app/web/manifests/v1": dial tcp: lookup {host} on '
            "168.63.129.16:53: no such host")


def _seeded_causes(doc: dict) -> dict[str, str]:
    """cluster -> cause, read back from the document's expect.pods fragments."""
    from simulator.fleet import CAUSES

    by_fragment = {fragment: cause for cause, (_, _, fragment) in CAUSES.items()}
    return {p["cluster"]: by_fragment[p["message_contains"][0]] for p in doc["expect"]["pods"]}


def test_generated_fleet_declares_its_broken_pods_and_the_seed_fixes_them() -> None:
    from simulator.fleet import CAUSES, generate

    doc = generate(2, 3, 1)
    assert doc == generate(2, 3, 1)
    workloads = [r for r in doc["resources"] if r["kind"] == "workload"]
    assert len(workloads) == doc["expect"]["clusters"] == 6
    broken = {p["cluster"] for p in doc["expect"]["pods"]}
    assert 0 < len(broken) < 6
    assert set(doc["expect"]["failing_checks"]) <= {c for c, _, _ in CAUSES.values()}
    # a bigger fleet breaks roughly the configured fraction, for every cause
    big = generate(4, 25, 3)
    assert 0.15 < len(big["expect"]["pods"]) / 100 < 0.35
    assert set(_seeded_causes(big).values()) == set(CAUSES)


@pytest.mark.scenario("fleet:2x3:1")
def test_generated_fleet_pods_run_or_fail_for_their_seeded_cause(sim: Sim, tmp_path: Path
                                                                  ) -> None:
    from simulator.fleet import generate

    # given the served fleet 2x3 seed 1 and the causes its generator seeded
    doc = generate(2, 3, 1)
    causes = _seeded_causes(doc)
    clusters = [r for r in doc["resources"] if r["kind"] == "cluster"]
    assert causes and len(causes) < len(clusters)
    for cluster in clusters:
        kb = kube(sim, cluster["name"], tmp_path)
        registry = f"fleetacr{cluster['subscription'][-2:]}"
        cause = causes.get(cluster["name"])
        # then every cluster has pods; the broken ones fail with their cause's words
        if cause is None:
            wait_running(kb, "app", "web", seconds=5)
        else:
            _failing_with_in(kb, "app", fleet_message(registry, cause))


def _failing_with_in(kb: Kube, namespace: str, message: str) -> None:
    for pod in still_failing(kb, namespace, "web"):
        assert failed_messages(kb, pod)[0] == message
