"""Shared by the network fixes: what a finding's evidence carries (``Evidence.data``), the
plan's common fields, and fresh (not memoized) reads — apply and plan-after-apply must see the
cloud as it is now, not as the diagnosis read it."""

from __future__ import annotations

import ipaddress
from typing import Any

from tasks.contract import Finding, Status, Target
from tasks.fix import Change, Fix, FixPlan


def suggested(fix: type[Fix] | Fix, finding: Finding) -> bool:
    return finding.status == Status.FAIL and fix.name in finding.suggests


def data(finding: Finding, key: str) -> list[dict[str, Any]]:
    """The ``data`` of every evidence item that carries ``key``."""
    return [e.data for e in finding.evidence if key in e.data]


def first(finding: Finding, key: str) -> Any:
    found = data(finding, key)
    return found[0][key] if found else None


def allowed(ip: str, ranges: list[str]) -> bool:
    """Whether an address is inside one of the CIDR/addresses (what ACR's ipRules mean)."""
    for r in ranges:
        try:
            if ipaddress.ip_address(ip) in ipaddress.ip_network(r, strict=False):
                return True
        except ValueError:
            continue
    return False


def make_plan(fix: Fix, target: Target, summary: str, changes: list[Change],
              params: Any) -> FixPlan:
    pod = target.pod
    return FixPlan(fix=fix.name, cluster=target.cluster, summary=summary,
                   resolves=fix.resolves, risk=fix.risk, reversible=fix.reversible,
                   changes=tuple(changes), params=params.model_dump(mode="json"),
                   pods=(f"{pod.namespace}/{pod.name}",) if pod else ())
