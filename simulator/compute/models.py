"""Microsoft.Compute virtual machine scale sets: the AKS node pools' machines.

Only what the node pools need is modelled: the scale set document in the official shape, its
identity block (which user-assigned identities the nodes can get tokens for from IMDS) and
capacity. Identity changes follow ARM's rules: ``userAssignedIdentities`` entries set to
``null`` are removed, ``type: None`` drops the identity, and assigning an identity needs
``Microsoft.ManagedIdentity/userAssignedIdentities/assign/action`` on it (linked access check).
"""

from __future__ import annotations

import copy
import uuid
from typing import Any

from simulator.core import authz, errors
from simulator.core.ids import key, parse
from simulator.core.world import World
from simulator.identity.models import iso

VMSS_TYPE = "Microsoft.Compute/virtualMachineScaleSets"
UAMI_TYPE = "Microsoft.ManagedIdentity/userAssignedIdentities"
ASSIGN_ACTION = "Microsoft.ManagedIdentity/userAssignedIdentities/assign/action"


def vmss_id(sub: str, group: str, name: str) -> str:
    return f"/subscriptions/{sub}/resourceGroups/{group}/providers/{VMSS_TYPE}/{name}"


def new_etag(doc: dict[str, Any]) -> None:
    """Compute's etag is a quoted counter that moves on every write."""
    n = int(str(doc.get("etag", '"0"')).strip('"') or 0)
    doc["etag"] = f'"{n + 1}"'


def os_profile(*, os_type: str, prefix: str, ssh_key: str) -> dict[str, Any]:
    if os_type == "Windows":
        return {"computerNamePrefix": prefix, "adminUsername": "azureuser",
                "windowsConfiguration": {"provisionVMAgent": True,
                                         "enableAutomaticUpdates": False},
                "secrets": [], "allowExtensionOperations": True,
                "requireGuestProvisionSignal": True}
    return {"computerNamePrefix": prefix, "adminUsername": "azureuser",
            "linuxConfiguration": {
                "disablePasswordAuthentication": True,
                "ssh": {"publicKeys": [{"path": "/home/azureuser/.ssh/authorized_keys",
                                        "keyData": ssh_key}]},
                "provisionVMAgent": True, "enableVMAgentPlatformUpdates": False},
            "secrets": [], "allowExtensionOperations": True,
            "requireGuestProvisionSignal": True}


def create_vmss(
    world: World, *, rid: str, location: str, vm_size: str, capacity: int, os_type: str,
    image_id: str, subnet_id: str, prefix: str, tags: dict[str, str],
    identity: dict[str, Any] | None, ssh_key: str, created: float | None = None,
    nsg_id: str | None = None,
) -> dict[str, Any]:
    """A Uniform scale set as AKS creates it for a node pool."""
    name = parse(rid).name
    created_at = iso(created if created is not None else world.now())
    doc: dict[str, Any] = {
        "name": name, "id": rid, "type": VMSS_TYPE, "location": location, "tags": dict(tags),
        "sku": {"name": vm_size, "tier": "Standard", "capacity": capacity},
        "etag": '"1"',
        "properties": {
            "singlePlacementGroup": False,
            "orchestrationMode": "Uniform",
            "upgradePolicy": {"mode": "Manual",
                              "automaticOSUpgradePolicy": {"enableAutomaticOSUpgrade": False}},
            "virtualMachineProfile": {
                "osProfile": os_profile(os_type=os_type, prefix=prefix, ssh_key=ssh_key),
                "storageProfile": {
                    # AKS nodes boot from a shared gallery image referenced by id only
                    "osDisk": {"osType": os_type, "createOption": "FromImage",
                               "caching": "ReadOnly",
                               "managedDisk": {"storageAccountType": "Premium_LRS"},
                               "diskSizeGB": 128},
                    "imageReference": {"id": image_id},
                    "dataDisks": [],
                    "diskControllerType": "SCSI",
                },
                "networkProfile": {"networkInterfaceConfigurations": [{
                    "name": name,
                    "properties": {
                        "primary": True, "enableAcceleratedNetworking": True,
                        "disableTcpStateTracking": False, "dnsSettings": {"dnsServers": []},
                        "enableIPForwarding": True,
                        "ipConfigurations": [{"name": "ipconfig1", "properties": {
                            "primary": True, "privateIPAddressVersion": "IPv4",
                            "subnet": {"id": subnet_id},
                        }}],
                        **({"networkSecurityGroup": {"id": nsg_id}} if nsg_id else {}),
                    },
                }]},
                "extensionProfile": {"extensions": []},
                "timeCreated": created_at,
            },
            "provisioningState": "Succeeded",
            "overprovision": False,
            "doNotRunExtensionsOnOverprovisionedVMs": False,
            "uniqueId": str(uuid.uuid5(uuid.NAMESPACE_URL, key(rid))),
            "platformFaultDomainCount": 1,
            "timeCreated": created_at,
        },
    }
    if identity:
        doc["identity"] = identity
    return world.put(doc)


def identity_entry(world: World, identity_id: str) -> dict[str, str] | None:
    res = world.get(identity_id)
    if res is None or res.get("type", "").lower() != UAMI_TYPE.lower():
        return None
    return {"principalId": res["properties"]["principalId"],
            "clientId": res["properties"]["clientId"]}


def _identity_error(vmss: dict[str, Any], identity_id: str) -> errors.CloudError:
    inner = ('{\\"error\\":{\\"code\\":\\"BadRequest\\",\\"message\\":\\"Resource \''
             f"{identity_id.lower()}' was not found.\\\"}}}}")
    return errors.arm_error(
        400, "FailedIdentityOperation",
        f"Identity operation for resource '{vmss['id']}' failed with error 'Failed to perform "
        f"resource identity operation. Status: 'BadRequest'. Response: '{inner}'.'.",
    )


def _check_assign(world: World, caller_oid: str | None, vmss: dict[str, Any],
                  ids: list[str]) -> None:
    if caller_oid is None:
        return
    denied = [i for i in ids if not authz.is_permitted(world, caller_oid, ASSIGN_ACTION, i)]
    if denied:
        raise errors.arm_error(
            403, "LinkedAuthorizationFailed",
            f"The client '{caller_oid}' with object id '{caller_oid}' has permission to perform "
            f"action '{VMSS_TYPE}/write' on scope '{vmss['id']}'; however, it does not have "
            f"permission to perform action '{ASSIGN_ACTION}' on the linked scope(s) "
            f"'{','.join(denied)}' or the linked scope(s) are invalid.",
        )


def merged_identity(world: World, vmss: dict[str, Any], patch: dict[str, Any] | None,
                    caller_oid: str | None) -> dict[str, Any] | None:
    """The identity block after applying ``patch`` with ARM's identity semantics."""
    current = copy.deepcopy(vmss.get("identity")) or {}
    if patch is None:
        return current or None
    kind = (patch.get("type") or current.get("type") or "None").replace(" ", "").lower()
    if kind == "none":
        return None
    system = "systemassigned" in kind
    users: dict[str, Any] = {}
    if "userassigned" in kind:
        existing = current.get("userAssignedIdentities") or {}
        users = {k: v for k, v in existing.items()}
        added = []
        for rid, value in (patch.get("userAssignedIdentities") or {}).items():
            match = next((k for k in users if k.lower() == rid.lower()), None)
            if value is None:
                if match:
                    users.pop(match)
                continue
            if match is None:
                entry = identity_entry(world, rid)
                if entry is None:
                    raise _identity_error(vmss, rid)
                users[rid] = entry
                added.append(rid)
        _check_assign(world, caller_oid, vmss, added)
        if not users:
            raise errors.bad_request(
                "InvalidParameter", "The identity type 'UserAssigned' requires at least one "
                "user assigned identity in 'identity.userAssignedIdentities'.")
    out: dict[str, Any] = {"type": ", ".join(
        t for t, on in (("SystemAssigned", system), ("UserAssigned", bool(users))) if on)}
    if system:
        out["principalId"] = current.get("principalId") or str(uuid.uuid4())
        out["tenantId"] = world.tenant_id
    if users:
        out["userAssignedIdentities"] = users
    return out


def update_vmss(world: World, vmss: dict[str, Any], patch: dict[str, Any],
                caller_oid: str | None) -> dict[str, Any]:
    """Apply a PATCH (or the settable parts of a PUT) to a stored scale set."""
    if "identity" in patch:
        ident = merged_identity(world, vmss, patch["identity"], caller_oid)
        if ident is None:
            vmss.pop("identity", None)
        else:
            vmss["identity"] = ident
    if patch.get("tags") is not None:
        vmss["tags"] = dict(patch["tags"])
    sku = patch.get("sku") or {}
    if sku.get("capacity") is not None:
        vmss["sku"]["capacity"] = int(sku["capacity"])
    new_etag(vmss)
    return vmss


def has_identity(vmss: dict[str, Any], identity_id: str) -> bool:
    users = (vmss.get("identity") or {}).get("userAssignedIdentities") or {}
    return any(k.lower() == identity_id.lower() for k in users)


def identity_patch_adding(world: World, vmss: dict[str, Any], identity_id: str
                          ) -> dict[str, Any]:
    """The identity block that adds ``identity_id`` (what AKS reconcile sends)."""
    ident = merged_identity(world, vmss, {"type": "UserAssigned" if "SystemAssigned" not in (
        (vmss.get("identity") or {}).get("type") or "") else "SystemAssigned, UserAssigned",
        "userAssignedIdentities": {identity_id: {}}}, None)
    assert ident is not None
    return ident
