"""fixer-has-permissions — pullfix's own identity may not make a write a fix would need.

Failure mode: the diagnosis is right but the fix fails half-way with ``AuthorizationFailed``
(users' top complaint about ``--attach-acr``: a misleading "are you an Owner?"). For every
registered fix, each ARM right it declares (``Fix.permissions``: action, scope, the roles that
grant it) whose scope the target names (the registry, the cluster) is checked against what ARM
says pullfix may do there — the Microsoft.Authorization **permissions** API
(``permissions.list_for_resource``: the caller's own effective actions/notActions, groups
included) — naming the exact missing action and the built-in roles that grant it. Rights on
resources only a plan names (a DNS zone, a peered VNet) are checked per plan before any write
(:mod:`tasks.preflight`), with the same functions.

Not checked via ARM (evidence, never FAIL): Graph and Kubernetes rights (``Fix.other_rights``).

Kubelet text: none — a cross-cutting check, run once per cluster and registry.
Evidence: each (fix, action, resource) with allowed/denied.
No fix is suggested: the message says which role to assign to pullfix.
"""

from __future__ import annotations

from azure.mgmt.authorization import AuthorizationManagementClient

from tasks.checks._rbac import permits
from tasks.contract import Evidence, Finding, Group, Status, Target
from tasks.fix import Need, load_fixes
from tasks.reads import Reads, parse_id
from tasks.registry import check

NAME = "fixer-has-permissions"


def permissions_at(reads: Reads, resource_id: str) -> list[object]:
    """pullfix's effective permission blocks on one top-level resource or resource group
    (memoized per run)."""
    def load() -> list[object]:
        p = parse_id(resource_id)
        client = reads.clients.arm(AuthorizationManagementClient, p["subscription"])
        parts = resource_id.strip("/").split("/")
        low = [x.lower() for x in parts]
        if "providers" not in low:
            return list(client.permissions.list_for_resource_group(p["resource_group"]))
        i = low.index("providers")
        return list(client.permissions.list_for_resource(
            p["resource_group"], parts[i + 1], "", parts[i + 2], parts[i + 3]))
    return reads.memo(("permissions", resource_id.lower()), load)


def denied(reads: Reads, fix: str, need: Need, scopes: list[str]) -> list[str]:
    """One message per scope where pullfix may not do ``need.action``."""
    out = []
    for scope in scopes:
        if "/resourcegroups/" not in scope.lower():
            continue  # subscription scope: the permissions API has no such read; ARM decides
        if not permits(permissions_at(reads, scope), need.action):
            out.append(f"pullfix needs {need.action} on {scope} (assign {need.roles})")
    return out


@check(NAME, group=Group.IDENTITY, permissions=("Microsoft.Authorization/permissions/read",),
       cluster_wide=True)
def fixer_has_permissions(target: Target, reads: Reads) -> Finding:
    checked: list[dict[str, object]] = []
    missing: dict[str, list[str]] = {}
    later: list[str] = []
    for name, cls in sorted(load_fixes().items()):
        for need in cls.permissions:
            if need.on.of_target is None:
                later.append(f"{name}: {need.action} on {need.on.describe}")
                continue
            scopes = need.on.of_target(target)
            problems = denied(reads, name, need, scopes)
            checked += [{"fix": name, "action": need.action, "scope": s,
                         "allowed": not any(s in p for p in problems)} for s in scopes]
            if problems:
                missing.setdefault(name, []).extend(problems)
    ev = [Evidence(source="ARM GET <resource>/providers/Microsoft.Authorization/permissions",
                   detail=f"{len(checked)} (fix, action, resource) pairs, "
                          f"{sum(not c['allowed'] for c in checked)} denied",
                   data={"checked": checked, "missing": missing})]
    ev += [Evidence(source="checked per plan, before any write", detail=d) for d in later]
    ev += [Evidence(source="not checked via ARM", detail=f"{name}: {cls.other_rights}")
           for name, cls in sorted(load_fixes().items()) if cls.other_rights]
    if missing:
        text = "; ".join(f"{fix}: {'; '.join(p)}" for fix, p in sorted(missing.items()))
        return Finding(check=NAME, status=Status.FAIL, group=Group.IDENTITY, evidence=tuple(ev),
                       summary="pullfix may not carry out " + text,
                       root_cause=f"fixer-permissions:{target.cluster.id.lower()}")
    return Finding(check=NAME, status=Status.PASS, group=Group.IDENTITY, evidence=tuple(ev),
                   summary="pullfix's identity may make every ARM write its fixes need here")
