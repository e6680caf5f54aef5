"""registry-healthy — initial triage (≈ ``az acr check-health``): is the registry itself well?

Failure mode: the registry the image names is not in a usable state (provisioning
``Failed``/``Deleting``) or its token endpoint does not answer as a registry does. A healthy
registry answers ``GET https://<login server>/v2/`` with ``401`` and a ``WWW-Authenticate:
Bearer realm=…/oauth2/token`` challenge. Resolution *from the cluster's network* is owned by
the network checks (private-dns-zone-linked, vnet-peering-connected, …), so this check
judges the registry, not the cluster's path to it.

A registry whose network rules refuse pullfix's own address (``403 DENIED client with IP …
is not allowed access``, public access disabled) cannot be probed from here: ERROR, never a
silent pass. Not applicable when the image's host is no registry pullfix can see
(image-reference-valid judges the name).

Evidence: the registry (ARM list registries), the probe's status and challenge.
Fix: none automatic.
"""

from __future__ import annotations

import requests

from tasks.checks import _network as net
from tasks.checks._reasons import no_pod, not_applicable
from tasks.contract import Evidence, Finding, Group, Status, Target
from tasks.reads import Reads
from tasks.registry import check

NAME = "registry-healthy"
GROUP = Group.REGISTRY


def probe(reads: Reads, login: str) -> tuple[int | None, str, str]:
    """(HTTP status or None, WWW-Authenticate, body or error) of ``GET /v2/``, via the
    profile's registry proxy when it has one."""
    profile = reads.clients.profile
    proxies = {"https": profile.registry_proxy} if profile.registry_proxy else None
    try:
        r = requests.get(f"https://{login}/v2/", proxies=proxies, timeout=(5, 15),
                         verify=profile.ca_bundle or True, allow_redirects=False)
    except requests.RequestException as exc:
        return None, "", f"{type(exc).__name__}: {str(exc).splitlines()[0][:300]}"
    return r.status_code, r.headers.get("WWW-Authenticate", ""), r.text[:300]


@check(NAME, group=GROUP, permissions=("Microsoft.ContainerRegistry/registries/read",))
def registry_healthy(target: Target, reads: Reads) -> Finding:
    if target.pod is None:
        return no_pod(NAME, GROUP)
    reg = net.registry(reads, target)
    if reg is None:
        return not_applicable(NAME, GROUP, f"{target.registry_host or target.pod.image} is not "
                              "a registry pullfix can see (image-reference-valid judges it)")
    login = (reg.login_server or "").lower()
    ev = [Evidence(source=f"ARM GET {reg.id}", detail=f"provisioningState="
                   f"{reg.provisioning_state}, sku={reg.sku.name if reg.sku else None}, "
                   f"publicNetworkAccess={reg.public_network_access}")]
    rid = (reg.id or "").lower()
    if reg.provisioning_state not in ("Succeeded", None):
        return Finding(check=NAME, status=Status.FAIL, group=GROUP, evidence=tuple(ev),
                       root_cause=f"registry-state:{rid}",
                       summary=f"{reg.name} is {reg.provisioning_state}, not Succeeded")
    status, challenge, body = reads.memo(("acr.v2", login), lambda: probe(reads, login))
    ev.append(Evidence(source=f"GET https://{login}/v2/", detail=f"{status or 'no answer'} "
                       f"{challenge or body}".strip(), data={"status": status}))
    if status == 200 or (status == 401 and challenge.lower().startswith("bearer")):
        return Finding(check=NAME, status=Status.PASS, group=GROUP, evidence=tuple(ev),
                       summary=f"{reg.name} exists and its token endpoint answers "
                               f"({challenge or status})")
    if status == 403:
        why = ("public network access is Disabled" if reg.public_network_access == "Disabled"
               else body.strip())
        reason = (f"the registry's firewall blocks pullfix's address ({why}): {login} cannot be "
                  "probed from where pullfix runs; run pullfix from an allowed network")
    elif status is None:
        reason = f"{login} did not answer: {body}"
    else:
        reason = f"{login} answered {status} to GET /v2/ ({body.strip()[:120]}); retry later"
    return Finding(check=NAME, status=Status.ERROR, group=GROUP, evidence=tuple(ev),
                   reason=reason, summary=f"could not determine: {reason}")
