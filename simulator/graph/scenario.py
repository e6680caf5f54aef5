"""Scenario entries for the directory beyond what ``simulator.identity`` builds: membership of
any principal (a service principal or managed identity, not only users and groups) in a group.

    - kind: group-member
      group: platform-team
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
    group = next((g for g in world.graph["groups"].values()
                  if g["displayName"].lower() == spec.group.lower()), None)
    if group is None:
        raise ValueError(f"unknown group '{spec.group}' (define it above this entry)")
    member = resolve_principal(world, spec.member)
    if member.lower() not in {m.lower() for m in group["_members"]}:
        group["_members"].append(member)
