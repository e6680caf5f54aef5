"""ARM's api-version check: a resource provider answers only the api-versions it registered.

An unsupported version is refused before the provider sees the request, with the supported
list, so a client's version drift shows up in tests rather than in production. The lists live in
``simulator/data/api_versions.json`` (derived from the REST specs and the api-versions the
installed SDKs and the az CLI send by default); providers not listed there are not checked yet.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

from simulator.core import errors

DATA = Path(__file__).resolve().parent.parent / "data" / "api_versions.json"
_PROVIDER = re.compile(r"/providers/(?P<ns>Microsoft\.[A-Za-z]+)(/|$)", re.IGNORECASE)


@lru_cache(maxsize=1)
def supported() -> dict[str, list[str]]:
    doc = json.loads(DATA.read_text())
    return {k.lower(): v for k, v in doc.items() if not k.startswith("_")}


def check(path: str, api_version: str) -> None:
    """Raise ARM's 400 when ``path``'s provider does not serve ``api_version``."""
    matches = list(_PROVIDER.finditer(path))
    if not matches:
        return
    versions = supported().get(matches[-1].group("ns").lower())
    if versions is None or api_version in versions:
        return
    raise errors.arm_error(
        400, "InvalidApiVersionParameter",
        f"The api-version '{api_version}' is invalid. The supported versions are "
        f"'{','.join(versions)}'.")
