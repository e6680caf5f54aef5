"""pull-secret-admin-valid — an image pull secret holds a stale ACR admin password.

Failure mode: the pod pulls with a docker-registry secret whose username is the registry's name
(the admin user). The admin user was disabled, or its password regenerated since the secret was
written (``regenerateCredential``), so ACR refuses it.

Kubelet text: ``failed to fetch oauth token: … 401 Unauthorized`` (credentials were sent).

Evidence: the secret (namespace/name, server, username — never a password), the registry's
``adminUserEnabled`` (ARM GET), whether the secret's password equals one of ``listCredentials``'
passwords (compared in constant time, never logged), and the activity log's last
``Microsoft.ContainerRegistry/registries/regenerateCredential/action`` on the registry (90-day
retention; an unreadable log becomes an evidence line, not an ERROR: the verdict does not depend
on it). NOT_APPLICABLE without such a secret or when the registry is not visible.
Suggests ``refresh-pull-secret-admin``.
"""

from __future__ import annotations

import datetime as dt
import hmac

from azure.core.exceptions import HttpResponseError
from azure.mgmt.containerregistry import ContainerRegistryManagementClient

from tasks.checks import _identity_reads as ir
from tasks.checks._rbac import guarded
from tasks.clients import READ_ACTION_RETRY
from tasks.contract import Category, Evidence, Finding, Group, Status, Target
from tasks.errors import describe
from tasks.reads import Reads, parse_id
from tasks.registry import check

NAME = "pull-secret-admin-valid"
FIX = ("refresh-pull-secret-admin",)
REGENERATE = "Microsoft.ContainerRegistry/registries/regenerateCredential/action"


def last_regeneration(reads: Reads, registry_id: str) -> Evidence:
    from tasks.lazy import importing

    with importing():
        from azure.mgmt.monitor import MonitorManagementClient
    sub = parse_id(registry_id)["subscription"]
    since = (dt.datetime.now(dt.UTC) - dt.timedelta(days=90)).strftime("%Y-%m-%dT%H:%M:%SZ")
    source = f"ARM GET /subscriptions/{sub}/providers/Microsoft.Insights/eventtypes/management/values"
    try:
        events = reads.memo(("activity", registry_id.lower()), lambda: list(
            reads.clients.arm(MonitorManagementClient, sub).activity_logs.list(
                filter=f"eventTimestamp ge '{since}' and resourceUri eq '{registry_id}'")))
    except HttpResponseError as exc:
        return Evidence(source=source, detail=f"activity log not readable: {describe(exc)} "
                        "(needs Reader / Microsoft.Insights/eventtypes/values/read)")
    times = sorted(e.event_timestamp for e in events if e.event_timestamp and e.operation_name
                   and (e.operation_name.value or "").lower() == REGENERATE.lower())
    if not times:
        return Evidence(source=source, detail="no regenerateCredential in the last 90 days")
    return Evidence(source=source, detail=f"admin credentials last regenerated {times[-1].isoformat()}",
                    data={"last_regenerated": times[-1].isoformat(), "count_90d": len(times)})


@check(NAME, group=Group.IDENTITY, suggests=FIX,
       permissions=("Kubernetes get secrets", "Microsoft.ContainerRegistry/registries/read",
                    "Microsoft.ContainerRegistry/registries/listCredentials/action",
                    "Microsoft.Insights/eventtypes/values/read"),
       categories=(Category.UNAUTHORIZED,))
def pull_secret_admin_valid(target: Target, reads: Reads) -> Finding:
    def result(status: Status, summary: str, *evidence: Evidence, **kw: object) -> Finding:
        return Finding(check=NAME, status=status, summary=summary, group=Group.IDENTITY,
                       evidence=evidence, **kw)  # type: ignore[arg-type]

    if target.registry_id is None:
        return result(Status.NOT_APPLICABLE, "the image's registry is not visible")
    reg = ir.registry(reads, target.registry_id)
    creds = [c for c in ir.pull_creds(reads, target) if c.username.lower() == reg.name.lower()]
    if not creds:
        return result(Status.NOT_APPLICABLE, f"no image pull secret with {reg.name}'s admin user")
    ev = [Evidence(source=f"k8s get secret {c.secret}",
                   detail=f"entry for {c.server}: username {c.username} (the admin user)",
                   data={"secret": c.secret, "server": c.server, "username": c.username})
          for c in creds]
    ev.append(Evidence(source=f"ARM GET {reg.id}", detail=f"adminUserEnabled {reg.admin_user_enabled}",
                       data={"admin_user_enabled": bool(reg.admin_user_enabled)}))
    root = f"pull-secret-admin:{reg.id.lower()}"
    if not reg.admin_user_enabled:
        return result(Status.FAIL, f"{reg.name}'s admin user is disabled; secret(s) "
                      f"{', '.join(c.secret for c in creds)} cannot sign in", *ev,
                      last_regeneration(reads, reg.id), suggests=FIX, root_cause=root)
    rg = parse_id(reg.id)["resource_group"]
    acr = reads.clients.arm(ContainerRegistryManagementClient, parse_id(reg.id)["subscription"])
    current = guarded(f"the admin credentials of {reg.id}",
                      "Microsoft.ContainerRegistry/registries/listCredentials/action",
                      "Container Registry Contributor and Data Access Configuration Administrator")(
        lambda: acr.registries.list_credentials(rg, reg.name, retry_on_methods=READ_ACTION_RETRY))
    passwords = [p.value or "" for p in current.passwords or []]
    stale = [c.secret for c in creds
             if not any(hmac.compare_digest(c.password.encode(), p.encode()) for p in passwords)]
    ev.append(Evidence(source=f"ARM POST {reg.id}/listCredentials",
                       detail=f"{len(creds) - len(stale)}/{len(creds)} secret(s) hold a current "
                              "admin password", data={"stale": stale}))
    ev.append(last_regeneration(reads, reg.id))
    if stale:
        return result(Status.FAIL, f"secret(s) {', '.join(stale)} hold an admin password of "
                      f"{reg.name} that is no longer current", *ev, suggests=FIX, root_cause=root)
    return result(Status.PASS, f"the admin-user pull secret(s) hold a current password of {reg.name}",
                  *ev)
