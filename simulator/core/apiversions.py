"""ARM's api-version check: every endpoint answers only the api-versions registered for it.

An unsupported version is refused before the provider sees the request, with the supported
list, so a client's version drift shows up in tests rather than in production. ARM words the
refusal two ways, and the twin copies both (texts from real responses quoted in public issue
threads, e.g. Azure/azure-cli#28496, pulumi/pulumi-azure-native#3637, MicrosoftDocs/azure-docs#82469):

* requests ARM answers itself (``/subscriptions``, ``/tenants``, resource groups, ``/resources``,
  ``/providers``: Microsoft.Resources) get 400 ``InvalidApiVersionParameter`` "The api-version
  'X' is invalid. The supported versions are 'newest,...,oldest'.";
* requests routed to a resource provider (``.../providers/<Namespace>/<type>...``) get 400
  ``NoRegisteredProviderFound`` "No registered resource provider found for location 'L' and API
  version 'X' for type 'T'. The supported api-versions are 'oldest, ..., newest'. The supported
  locations are '...'." — the list is per resource type, and a namespace or type the twin does
  not serve gets the same code with no versions.

The lists live in ``simulator/data/api_versions.json``: key ``Namespace`` is the list for all
its types, ``Namespace/type`` a type's own list; each is derived from the REST specs, the
api-versions the installed SDKs and az CLI send, and real ARM error texts (see its comments).
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from simulator.core import errors

DATA = Path(__file__).resolve().parent.parent / "data" / "api_versions.json"
ARM = "microsoft.resources"  # ARM's own endpoints
_PROVIDER = re.compile(r"/providers/(?P<ns>[A-Za-z][A-Za-z0-9]*\.[A-Za-z0-9.]+)(?=/|$)",
                       re.IGNORECASE)
_SORT = re.compile(r"^(\d{4}-\d{2}-\d{2})(.*)$")


@lru_cache(maxsize=1)
def supported() -> dict[str, list[str]]:
    """``{"namespace" | "namespace/type": [versions]}``, keys lower-cased."""
    doc = json.loads(DATA.read_text())
    return {k.lower(): list(v) for k, v in doc.items() if not k.startswith("_")}


def target(path: str) -> tuple[str, str | None]:
    """The (namespace, resource type) ARM routes ``path`` to, the type nested as ARM names it
    (``virtualNetworks/subnets``); ``("microsoft.resources", None)`` for the requests ARM
    answers itself."""
    matches = list(_PROVIDER.finditer(path))  # an extension resource is its last provider's
    if not matches:
        return ARM, None
    segments = [s for s in path[matches[-1].end():].split("/") if s]
    if not segments:  # GET /subscriptions/{sub}/providers/{ns}: ARM's provider registry
        return ARM, None
    return matches[-1].group("ns"), "/".join(segments[::2])


def versions_for(path: str) -> list[str] | None:
    """The api-versions answered for ``path`` (its type's own list, else its top-level type's,
    else its namespace's); ``None`` when nobody registered its namespace/type."""
    ns, rtype = target(path)
    table = supported()
    if rtype is not None:
        for name in (rtype, rtype.split("/")[0]):
            if f"{ns}/{name}".lower() in table:
                return table[f"{ns}/{name}".lower()]
    return table.get(ns.lower())


def latest(path: str) -> str:
    """The newest GA api-version answered for ``path`` (what a test sends when it has no
    reason to send another)."""
    versions = versions_for(path) or []
    ga = [v for v in versions if not _key(v)[1]]
    return max(ga or versions, key=_key)


def _key(version: str) -> tuple[str, str]:
    m = _SORT.match(version)
    return (m.group(1), m.group(2)) if m else (version, "")


def check(path: str, api_version: str, *, world: Any = None) -> None:
    """Raise ARM's 400 when ``path`` is not answered at ``api_version``."""
    versions = versions_for(path)
    if versions is not None and api_version in versions:
        return
    ns, rtype = target(path)
    if ns == ARM:
        listed = ",".join(versions or [])  # in ARM's own order, newest first
        raise errors.arm_error(
            400, "InvalidApiVersionParameter",
            f"The api-version '{api_version}' is invalid. The supported versions are "
            f"'{listed}'.")
    listed = ", ".join(sorted(versions or [], key=_key))
    location, locations = _locations(path, ns, world, known=versions is not None)
    raise errors.arm_error(
        400, "NoRegisteredProviderFound",
        f"No registered resource provider found for location '{location}' and API version "
        f"'{api_version}' for type '{rtype}'. The supported api-versions are '{listed}'. "
        f"The supported locations are '{locations}'.")


_GLOBAL = {"microsoft.authorization", "microsoft.insights", "microsoft.resources"}


def _locations(path: str, ns: str, world: Any, *, known: bool) -> tuple[str, str]:
    """The request's location (its resource's, else its resource group's) and the locations the
    type is offered in: '' for ARM's global providers (as real messages show) and for a type
    nobody registered, else the regions the twin's world uses."""
    if world is None:
        return "global", ""
    with world.lock:
        regions = sorted({str(d.get("location", "")).lower() for d in world.resources.values()
                          if d.get("location") and d.get("location") != "global"})
        location = ""
        parts = path.split("/")
        for end in range(len(parts), 0, -1):  # the deepest existing resource on the path
            doc = world.get("/".join(parts[:end]))
            if doc and doc.get("location"):
                location = str(doc["location"]).lower()
                break
    if not known:
        return location or "global", ""
    if ns.lower() in _GLOBAL or ns.lower() == "microsoft.network" and "/privatedns" in \
            path.lower():
        return location or "global", ""
    return location or (regions[0] if regions else "global"), ", ".join(regions)
