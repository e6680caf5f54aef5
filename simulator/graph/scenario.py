"""Scenario entries for the directory beyond what ``simulator.identity`` builds: membership of
any principal (a service principal or managed identity, not only users and groups) in a group.

    - kind: group-member
      group: platform-team             # a group's key, or its display name when unique
      member: app:ci-deployer          # or identity:NAME, user:UPN, group:NAME, an object id
"""

from __future__ import annotations

from simulator.core.world import World
from simulator.scenario import Spec, builder, resolve_principal


class GroupMemberSpec(Spec):
    group: str
    member: str


@builder("group-member", GroupMemberSpec)
def build_group_member(world: World, spec: GroupMemberSpec) -> None:
    groups = world.graph["groups"].values()
    by_key = [g for g in groups if g.get("_key", "").lower() == spec.group.lower()]
    by_name = [g for g in groups if g["displayName"].lower() == spec.group.lower()]
    if not by_key and len(by_name) > 1:
        raise ValueError(f"{len(by_name)} groups are named '{spec.group}': name one by its key")
    group = (by_key or by_name or [None])[0]
    if group is None:
        raise ValueError(f"unknown group '{spec.group}' (define it above this entry)")
    member = resolve_principal(world, spec.member)
    if member.lower() not in {m.lower() for m in group["_members"]}:
        group["_members"].append(member)
