"""pull-secret-sp-valid — an image pull secret holds a service principal that cannot sign in.

Failure mode: the pod pulls with a docker-registry secret whose username is an SP's appId (a
GUID) and whose password is one of its client secrets. The application was deleted, every secret
expired, or the password in the secret is not (any longer) one of them: ACR refuses the token
request made with it.

Kubelet text: ``failed to fetch oauth token: … 401 Unauthorized`` (credentials were sent).

How "the password really works" is proven: the registry's own token endpoint — ``GET
https://<login server>/oauth2/token?service=…&scope=repository:<repo>:pull`` with basic auth, what
containerd does — reached through the profile's registry proxy when one is set. 200 = works,
401 = refused. Anything else (403 from a registry firewall that blocks pullfix's address, 5xx,
no connection) means pullfix cannot tell: the check raises and is recorded as ERROR.

Evidence: the secret (namespace/name, server, username — never the password), the application
and its password credentials (Graph: names, hints, end dates) and the token endpoint's status.
NOT_APPLICABLE when the pod has no pull secret entry with a GUID username for the registry host.
Suggests ``rotate-pull-secret-sp``.
"""

from __future__ import annotations

import datetime as dt

import requests

from tasks.checks import _identity_reads as ir
from tasks.contract import Category, Evidence, Finding, Group, Status, Target
from tasks.reads import Reads
from tasks.registry import check

NAME = "pull-secret-sp-valid"
FIX = ("rotate-pull-secret-sp",)


def token_status(reads: Reads, host: str, repo: str, user: str, password: str) -> int:
    """The registry token endpoint's answer (200 or 401) to these credentials; raise otherwise."""
    profile = reads.clients.profile
    resp = requests.get(
        f"https://{host}/oauth2/token", params={"service": host, "scope": f"repository:{repo}:pull"},
        auth=(user, password), timeout=15, verify=profile.ca_bundle or True,
        proxies={"https": profile.registry_proxy} if profile.registry_proxy else None)
    if resp.status_code in (200, 401):
        return resp.status_code
    detail = resp.text.strip().splitlines()[0][:200] if resp.text.strip() else ""
    hint = " — the registry refuses pullfix's address (firewall)" if resp.status_code == 403 else ""
    raise RuntimeError(f"cannot test the pull secret: GET https://{host}/oauth2/token answered "
                       f"{resp.status_code} {detail}{hint}")


@check(NAME, group=Group.IDENTITY, suggests=FIX,
       permissions=("Kubernetes get secrets", "Graph Application.Read.All"),
       categories=(Category.UNAUTHORIZED,))
def pull_secret_sp_valid(target: Target, reads: Reads) -> Finding:
    def result(status: Status, summary: str, *evidence: Evidence, **kw: object) -> Finding:
        return Finding(check=NAME, status=status, summary=summary, group=Group.IDENTITY,
                       evidence=evidence, **kw)  # type: ignore[arg-type]

    creds = [c for c in ir.pull_creds(reads, target)
             if ir.GUID.match(c.username) and c.username != ir.TOKEN_USER]
    if not creds or target.pod is None or target.registry_host is None:
        return result(Status.NOT_APPLICABLE, "no image pull secret with a service principal for "
                      f"{target.registry_host or 'the image host'}")
    host, repo = target.registry_host, ir.image_repository(target.pod.image)
    now = dt.datetime.now(dt.UTC)
    ev: list[Evidence] = []
    broken: list[str] = []
    for c in creds:
        ev.append(Evidence(source=f"k8s get secret {c.secret}",
                           detail=f"entry for {c.server}: username {c.username}",
                           data={"secret": c.secret, "server": c.server, "username": c.username}))
        app = ir.app_by_app_id(reads, c.username)
        src = f"Graph GET applications(appId='{c.username}')"
        if app is None:
            ev.append(Evidence(source=src, detail="no such application"))
            broken.append(f"{c.secret}: application {c.username} does not exist")
            continue
        ends = [e if e.tzinfo else e.replace(tzinfo=dt.UTC)
                for e in (p.end_date_time for p in app.password_credentials or []) if e]
        live = [e for e in ends if e > now]
        ev.append(Evidence(source=src, detail=f"{app.display_name}: {len(ends)} secret(s), "
                           f"{len(live)} not expired",
                           data={"display_name": app.display_name,
                                 "ends": sorted(e.isoformat() for e in ends)}))
        if not live:
            last = max(ends, default=None)
            broken.append(f"{c.secret}: every secret of {app.display_name} has expired"
                          + (f" (the last on {last:%Y-%m-%d})" if last else ""))
            continue
        status = token_status(reads, host, repo, c.username, c.password)
        ev.append(Evidence(source=f"GET https://{host}/oauth2/token (basic auth)",
                           detail=f"{status} for {c.username}", data={"status": status}))
        if status == 401:
            broken.append(f"{c.secret}: the registry refuses the password for {app.display_name}")
    if broken:
        return result(Status.FAIL, "; ".join(broken), *ev, suggests=FIX,
                      root_cause=f"pull-secret-sp:{target.cluster.id.lower()}:"
                                 + ",".join(sorted({c.secret for c in creds})))
    return result(Status.PASS, "every service-principal pull secret for the registry signs in", *ev)
