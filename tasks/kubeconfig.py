"""The kubeconfig ``listClusterUserCredential`` hands back, read as untrusted input.

Why: it is YAML we did not write, and the kubernetes client walks whatever it is given. So it
is read with the same bounds as every other YAML input (``tasks/safe_input.py``) and checked
for the shape the client needs (clusters, users, contexts and a current context naming one of
them) before the client sees it; anything else is a :class:`KubeconfigError` naming the
cluster, which a check records as "could not determine".
"""

from __future__ import annotations

from typing import Any

import yaml

from tasks.errors import PermanentError
from tasks.safe_input import InputLimitError, YamlLimits, load_yaml

# AKS kubeconfigs are a few KiB (a CA certificate dominates) and use no aliases.
LIMITS = YamlLimits(max_bytes=1024 * 1024, max_depth=16, max_aliases=0, max_nodes=10_000)
# libyaml when PyYAML has it (its wheels do): a sweep reads one kubeconfig per cluster, and the
# pure-Python parser (run twice: the limits walk, then the load) cost more CPU than the rest of
# a healthy cluster's diagnosis
LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class KubeconfigError(PermanentError):
    """A kubeconfig from ARM that cannot be used; the message names the cluster."""


def parse_kubeconfig(data: bytes | bytearray | None, *, cluster: str) -> dict[str, Any]:
    """The kubeconfig document, or :class:`KubeconfigError` saying what is wrong with it."""
    source = f"the kubeconfig of cluster {cluster}"
    try:
        text = bytes(data or b"").decode("utf-8")
        _, doc = load_yaml(text, source=source, limits=LIMITS, loader=LOADER)
    except InputLimitError as exc:
        raise KubeconfigError(str(exc)) from None
    except UnicodeDecodeError:
        raise KubeconfigError(f"{source} is not UTF-8 text") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise KubeconfigError(f"{source} is not valid YAML{where}: "
                              f"{getattr(exc, 'problem', None) or exc}") from None
    if not isinstance(doc, dict):
        raise KubeconfigError(f"{source} is not a mapping (got {type(doc).__name__})")
    for key in ("clusters", "contexts", "users"):
        entries = doc.get(key)
        if not (isinstance(entries, list) and entries
                and all(isinstance(e, dict) and isinstance(e.get("name"), str) for e in entries)):
            raise KubeconfigError(f"{source} has no usable '{key}' (a list of named entries)")
    current = doc.get("current-context")
    names = [c["name"] for c in doc["contexts"]]
    if current not in names:
        raise KubeconfigError(f"{source}: current-context {current!r} is not one of its contexts {names}")
    return doc
