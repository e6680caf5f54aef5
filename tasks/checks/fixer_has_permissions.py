"""fixer-has-permissions — pullfix's own identity may not make a write a fix would need.

Failure mode: the diagnosis is right but the fix fails half-way with ``AuthorizationFailed``
(users' top complaint about ``--attach-acr``: a misleading "are you an Owner?"). Before planning,
for every fix in :data:`tasks.checks._fix_scopes.FIXES` whose target resources exist for this
cluster, ask ARM what pullfix may do there — the Microsoft.Authorization **permissions** API
(``permissions.list_for_resource``: the caller's own effective actions/notActions, groups
included) — and name the exact missing action and the built-in roles that grant it.

Not checked via ARM (reported as evidence, never FAIL): Graph writes (``rotate-cluster-sp-secret``
also needs ``addPassword`` on the application) and Kubernetes writes (pullfix uses the cluster user
credential; with local accounts that is cluster-admin).

Kubelet text: none — a cross-cutting check, run once per cluster (and registry).
Evidence: each (fix, action, resource) with allowed/denied; the permissions read per resource.
:func:`missing_permissions` is the pure entry point the remediation flow calls for the fixes it
plans. No fix is suggested: the message says which role to assign to pullfix.
"""

from __future__ import annotations

from azure.mgmt.authorization import AuthorizationManagementClient

from tasks.checks._fix_scopes import FIXES, NOT_VIA_ARM
from tasks.checks._rbac import permits
from tasks.contract import Evidence, Finding, Group, Status, Target
from tasks.reads import Reads, parse_id
from tasks.registry import check

NAME = "fixer-has-permissions"


def _permissions(reads: Reads, resource_id: str) -> list[object]:
    """pullfix's effective permission blocks on one top-level resource (memoized)."""
    def load() -> list[object]:
        p = parse_id(resource_id)
        parts = resource_id.strip("/").split("/")
        low = [x.lower() for x in parts]
        i = low.index("providers")
        client = reads.clients.arm(AuthorizationManagementClient, p["subscription"])
        return list(client.permissions.list_for_resource(
            p["resource_group"], parts[i + 1], "", parts[i + 2], parts[i + 3]))
    return reads.memo(("permissions", resource_id.lower()), load)


def _evaluate(fix_names: list[str] | tuple[str, ...], target: Target, reads: Reads
              ) -> tuple[dict[str, str], list[dict[str, object]]]:
    out: dict[str, str] = {}
    checked: list[dict[str, object]] = []
    for fix in fix_names:
        problems = []
        for need in FIXES.get(fix, ()):
            for scope in need.scopes(target, reads):
                ok = permits(_permissions(reads, scope), need.action)
                checked.append({"fix": fix, "action": need.action, "scope": scope, "allowed": ok})
                if not ok:
                    problems.append(f"{need.action} on {scope}: assign {need.roles}")
        if problems:
            out[fix] = f"{fix} needs " + "; ".join(problems)
    return out, checked


def missing_permissions(fix_names: list[str] | tuple[str, ...], target: Target,
                        reads: Reads) -> dict[str, str]:
    """For each fix pullfix may not carry out on ``target``: one message naming the action, the
    resource and the roles that would grant it. Fixes with no ARM need are never listed."""
    return _evaluate(fix_names, target, reads)[0]


@check(NAME, group=Group.IDENTITY, permissions=("Microsoft.Authorization/permissions/read",),
       cluster_wide=True)
def fixer_has_permissions(target: Target, reads: Reads) -> Finding:
    fixes = sorted(FIXES)
    missing, checked = _evaluate(fixes, target, reads)
    scopes = sorted({str(c["scope"]) for c in checked})
    ev = [Evidence(source="ARM GET <resource>/providers/Microsoft.Authorization/permissions",
                   detail=f"{len(checked)} (fix, action, resource) pairs on {len(scopes)} "
                          f"resource(s), {sum(not c['allowed'] for c in checked)} denied",
                   data={"checked": checked, "missing": missing})]
    ev += [Evidence(source="not checked via ARM", detail=f"{fix}: {what}")
           for fix, what in sorted(NOT_VIA_ARM.items())]
    if missing:
        return Finding(check=NAME, status=Status.FAIL, group=Group.IDENTITY, evidence=tuple(ev),
                       summary="pullfix may not carry out: " + "; ".join(missing.values()),
                       root_cause=f"fixer-permissions:{target.cluster.id.lower()}")
    return Finding(check=NAME, status=Status.PASS, group=Group.IDENTITY, evidence=tuple(ev),
                   summary="pullfix's identity may make every ARM write its fixes need here")
