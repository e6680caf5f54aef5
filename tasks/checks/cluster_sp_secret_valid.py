"""cluster-sp-secret-valid — the service-principal cluster's SP has no unexpired secret.

Failure mode: on a service-principal cluster the kubelet signs in to ACR with the SP's appId and
the secret AKS holds. When the application's password credentials have all expired, every token
request is refused. Adding a secret to the application is not enough: the cluster must be given
it (``resetServicePrincipalProfile``).

Assumption: Graph does not say which secret the cluster holds (AKS never exposes it, and ARM has
no signal), so "at least one password credential not expired" = PASS — what ``az`` and the Azure
docs check. After a reset the cluster uses the newest secret, so the newest expiry is reported.
When every secret expires within 30 days the result is PASS with a warning line in the summary and
evidence (rotate before it breaks).

Kubelet text: ``failed to fetch oauth token: … 401 Unauthorized`` on an SP cluster.

Evidence: the cluster's ``servicePrincipalProfile.clientId`` (ARM GET), the application's password
credentials (Graph GET applications(appId=…): names, hints and end dates, never values).
NOT_APPLICABLE on managed-identity clusters. Suggests ``rotate-cluster-sp-secret``.
"""

from __future__ import annotations

import datetime as dt

from tasks.checks import _identity_reads as ir
from tasks.contract import Category, Evidence, Finding, Group, Status, Target
from tasks.reads import Reads
from tasks.registry import check

NAME = "cluster-sp-secret-valid"
WARN_DAYS = 30


def _utc(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


@check(NAME, group=Group.IDENTITY, suggests=("rotate-cluster-sp-secret",),
       permissions=("Microsoft.ContainerService/managedClusters/read", "Graph Application.Read.All"),
       categories=(Category.UNAUTHORIZED,), cluster_wide=True)
def cluster_sp_secret_valid(target: Target, reads: Reads) -> Finding:
    def result(status: Status, summary: str, *evidence: Evidence, **kw: object) -> Finding:
        return Finding(check=NAME, status=status, summary=summary, group=Group.IDENTITY,
                       evidence=evidence, **kw)  # type: ignore[arg-type]

    mc = ir.cluster(reads, target)
    if (mc.identity_profile or {}).get("kubeletidentity") is not None:
        return result(Status.NOT_APPLICABLE, "managed-identity cluster: no SP secret")
    app_id = mc.service_principal_profile.client_id
    ev = [Evidence(source=f"ARM GET {target.cluster.id}", detail=f"service principal appId {app_id}",
                   data={"app_id": app_id})]
    app = ir.app_by_app_id(reads, app_id)
    if app is None:
        return result(Status.FAIL, f"the cluster's application {app_id} no longer exists", *ev,
                      suggests=("rotate-cluster-sp-secret",), root_cause=f"cluster-sp:{app_id}")
    now = dt.datetime.now(dt.UTC)
    creds = [(c.display_name or "", c.hint or "", _utc(c.end_date_time))
             for c in app.password_credentials or [] if c.end_date_time]
    listed = [{"name": n, "hint": h, "end": e.isoformat()} for n, h, e in creds]
    valid = sorted((e for _, _, e in creds if e > now), reverse=True)
    ev.append(Evidence(source=f"Graph GET applications(appId='{app_id}')",
                       detail=f"{len(creds)} password credential(s), {len(valid)} not expired",
                       data={"display_name": app.display_name, "password_credentials": listed}))
    if not valid:
        last = max((e for _, _, e in creds), default=None)
        return result(Status.FAIL, f"every secret of {app.display_name} ({app_id}) has expired"
                      + (f" (the last on {last:%Y-%m-%d})" if last else " (it has none)"), *ev,
                      suggests=("rotate-cluster-sp-secret",), root_cause=f"cluster-sp:{app_id}")
    days = (valid[0] - now).days
    if days < WARN_DAYS:
        warning = f"warning: every secret of {app.display_name} expires within {WARN_DAYS} days " \
                  f"(newest on {valid[0]:%Y-%m-%d}): rotate it before pulls break"
        ev.append(Evidence(source=f"Graph GET applications(appId='{app_id}')", detail=warning))
        return result(Status.PASS, f"{app.display_name} has a valid secret; {warning}", *ev)
    return result(Status.PASS, f"{app.display_name} has {len(valid)} unexpired secret(s), newest "
                  f"valid until {valid[0]:%Y-%m-%d}", *ev)
