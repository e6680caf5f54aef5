"""The check registry: one decorated function per check module, declaring its contract.

Like Cloud Custodian's registries, the registry is the single source for the JSON Schema,
the docs table and the meta-tests that iterate every check.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tasks.contract import Category, Finding, Group, Target

if TYPE_CHECKING:
    from tasks.reads import Reads

CheckFn = Callable[[Target, "Reads"], Finding]


@dataclass(frozen=True)
class CheckSpec:
    name: str
    fn: CheckFn
    group: Group
    suggests: tuple[str, ...] = ()
    permissions: tuple[str, ...] = ()  # the reads pullfix's identity needs for this check
    # pull-error categories the check is relevant to; the diagnosis runs it for those, and
    # for every failing pod whose classification is ambiguous
    categories: frozenset[Category] = field(default_factory=frozenset)
    cluster_wide: bool = False  # runs once per cluster, not per failing pod
    doc: str = ""


CHECKS: dict[str, CheckSpec] = {}


def check(
    name: str,
    *,
    group: Group,
    suggests: tuple[str, ...] = (),
    permissions: tuple[str, ...] = (),
    categories: tuple[Category, ...] = tuple(Category),
    cluster_wide: bool = False,
) -> Callable[[CheckFn], CheckFn]:
    def deco(fn: CheckFn) -> CheckFn:
        if name in CHECKS:
            raise ValueError(f"check '{name}' registered twice")
        module = importlib.import_module(fn.__module__)
        CHECKS[name] = CheckSpec(
            name=name, fn=fn, group=group, suggests=suggests, permissions=permissions,
            categories=frozenset(categories), cluster_wide=cluster_wide,
            doc=(module.__doc__ or "").strip(),
        )
        return fn

    return deco


@functools.cache
def load_checks() -> dict[str, CheckSpec]:
    """Import every module under ``tasks.checks`` (each registers itself) — once per process:
    diagnosis asks for the registry per cluster, and listing the package's folder per cluster
    cost a sweep more CPU than a healthy cluster's reads."""
    import tasks.checks as pkg

    for mod in pkgutil.iter_modules(pkg.__path__):
        importlib.import_module(f"tasks.checks.{mod.name}")
    return CHECKS
