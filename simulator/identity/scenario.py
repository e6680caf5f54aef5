from __future__ import annotations

from pydantic import Field

from simulator.core.ids import key
from simulator.core.world import World
from simulator.identity.models import (
    create_application,
    create_managed_identity_principal,
    make_password_credential,
)
from simulator.scenario import REF_TYPES, Spec, builder, stable_uuid, subscription_id, when

REF_TYPES["identity"] = "Microsoft.ManagedIdentity/userAssignedIdentities"


class SecretSpec(Spec):
    name: str = "secret"
    value: str | None = None  # a fixed value lets a scenario pre-wire pull secrets
    expires: str = "+365d"
    created: str | None = None


class ApplicationSpec(Spec):
    name: str
    app_id: str | None = None
    secrets: list[SecretSpec] = []
    enabled: bool = True


@builder("application", ApplicationSpec)
def build_application(world: World, spec: ApplicationSpec) -> None:
    app, sp = create_application(
        world, spec.name, app_id=spec.app_id or stable_uuid("app", spec.name),
        object_id=stable_uuid("app-object", spec.name),
        sp_object_id=stable_uuid("sp-object", spec.name),
    )
    sp["accountEnabled"] = spec.enabled
    for s in spec.secrets:
        cred, value = make_password_credential(
            world, display_name=s.name, end=when(world, s.expires), value=s.value
            or stable_uuid("secret", spec.name, s.name),
            start=when(world, s.created) if s.created else None,
        )
        # kept (private) so other scenario entries can refer to it: app-secret:APP/SECRET
        cred["_scenarioValue"] = value
        app["passwordCredentials"].append(cred)


class ManagedIdentitySpec(Spec):
    name: str
    group: str
    subscription: str | None = None
    location: str = "eastus"
    client_id: str | None = None
    principal_id: str | None = None


def create_user_assigned_identity(
    world: World, *, sub: str, group: str, name: str, location: str = "eastus",
    client_id: str | None = None, principal_id: str | None = None,
) -> dict:
    rid = (f"/subscriptions/{sub}/resourceGroups/{group}/providers/"
           "Microsoft.ManagedIdentity/userAssignedIdentities/" + name)
    client_id = client_id or stable_uuid("mi-client", key(rid))
    principal_id = principal_id or stable_uuid("mi-principal", key(rid))
    doc = world.put({
        "id": rid, "name": name, "location": location, "tags": {},
        "type": "Microsoft.ManagedIdentity/userAssignedIdentities",
        "properties": {"tenantId": world.tenant_id, "principalId": principal_id,
                       "clientId": client_id, "isolationScope": "None"},
    })
    create_managed_identity_principal(world, name=name, resource_id=rid, client_id=client_id,
                                      principal_id=principal_id)
    return doc


@builder("managed-identity", ManagedIdentitySpec)
def build_managed_identity(world: World, spec: ManagedIdentitySpec) -> None:
    create_user_assigned_identity(
        world, sub=subscription_id(world, spec.subscription), group=spec.group, name=spec.name,
        location=spec.location, client_id=spec.client_id, principal_id=spec.principal_id,
    )


class UserSpec(Spec):
    upn: str
    name: str | None = None
    groups: list[str] = []
    password: str | None = None


class GroupSpec(Spec):
    name: str
    # Entra does not keep display names unique: a second group with the same name needs its
    # own scenario handle (its object id derives from it; ``group-member`` may name it)
    key: str | None = None
    description: str | None = None
    members: list[str] = Field(default_factory=list)  # group names (nested groups)


@builder("group", GroupSpec)
def build_group(world: World, spec: GroupSpec) -> None:
    gid = stable_uuid("group", spec.key or spec.name)
    if gid in world.graph["groups"]:
        raise ValueError(f"group '{spec.key or spec.name}' is defined twice; give the second "
                         "one a distinct key (display names may repeat, keys may not)")
    world.graph["groups"][gid] = {
        "id": gid, "displayName": spec.name, "mailNickname": spec.name.replace(" ", ""),
        "securityEnabled": True, "mailEnabled": False, "groupTypes": [],
        "description": spec.description, "_members": [], "_key": spec.key or spec.name,
    }
    for member in spec.members:
        for g in world.graph["groups"].values():
            if g["displayName"].lower() == member.lower():
                world.graph["groups"][gid]["_members"].append(g["id"])


@builder("user", UserSpec)
def build_user(world: World, spec: UserSpec) -> None:
    uid = stable_uuid("user", spec.upn)
    world.graph["users"][uid] = {
        "id": uid, "userPrincipalName": spec.upn,
        "displayName": spec.name or spec.upn.split("@")[0],
        "mail": spec.upn, "accountEnabled": True,
        "_password_hash": None,
    }
    if spec.password:
        from simulator.identity.models import secret_hash

        world.graph["users"][uid]["_password_hash"] = secret_hash(spec.password)
    for gname in spec.groups:
        for g in world.graph["groups"].values():
            if g["displayName"].lower() == gname.lower():
                g["_members"].append(uid)
                break
        else:
            raise ValueError(f"unknown group '{gname}' (define it above this user)")
