"""What AKS refuses when a cluster is created: the checks its API runs on the request."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from simulator.core import errors

if TYPE_CHECKING:
    from simulator.containerservice.models import ClusterPlan

OUTBOUND_TYPES = ("loadBalancer", "userDefinedRouting", "managedNATGateway",
                  "userAssignedNATGateway")
_POOL_NAME = re.compile(r"^[a-z][a-z0-9]{0,11}$")


def invalid(message: str, code: str = "InvalidParameter") -> errors.CloudError:
    return errors.bad_request(code, message)


def validate(plan: ClusterPlan) -> None:
    if not plan.pools:
        raise invalid("The value of parameter agentPoolProfiles is invalid. At least one agent "
                      "pool is required.")
    if not any(p.mode == "System" and p.os_type == "Linux" for p in plan.pools):
        raise invalid("Must define at least one system pool.", "MustDefineAtLeastOneSystemPool")
    if plan.disable_local_accounts and not plan.aad:
        raise invalid("Since kubernetes version 1.25, disableLocalAccounts can only be set on "
                      "Azure AD integration enabled cluster. Please integrate your cluster with "
                      "AAD.", "BadRequest")
    seen: set[str] = set()
    for p in plan.pools:
        if not _POOL_NAME.match(p.name) or (p.os_type == "Windows" and len(p.name) > 6):
            raise invalid(f"Agent pool name '{p.name}' is invalid: it must start with a "
                          "lowercase letter and contain only lowercase letters and numbers, "
                          "at most 12 characters for Linux and 6 for Windows pools.",
                          "InvalidAgentPoolName")
        if p.name in seen:
            raise invalid(f"Agent pool name '{p.name}' is used more than once.")
        seen.add(p.name)
        if p.os_type == "Windows" and p.arch == "arm64":
            raise invalid(f"The VM size {p.vm_size} of agent pool '{p.name}' is an Arm64 size; "
                          "Windows agent pools do not support Arm64 VM sizes.")
        if p.os_type == "Windows" and plan.network_plugin == "kubenet":
            raise invalid("Windows agent pools are not supported with network plugin kubenet; "
                          "use Azure CNI.")
    if plan.outbound_type not in OUTBOUND_TYPES:
        raise invalid(f"The value '{plan.outbound_type}' of networkProfile.outboundType is "
                      f"invalid; valid values: {', '.join(OUTBOUND_TYPES)}.")
    if plan.outbound_type in ("userDefinedRouting", "userAssignedNATGateway") and not (
        plan.subnet_id or any(p.subnet_id for p in plan.pools)
    ):
        raise invalid(f"OutboundType {plan.outbound_type} requires a custom virtual network "
                      "(agentPoolProfiles.vnetSubnetID).")
