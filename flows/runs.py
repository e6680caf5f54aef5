"""How an apply sweep and the remediation runs it starts talk through Prefect, and how a
sign-off is found: each remediation posts its report as a flow-run input on its own run (the
sweep may be on another machine than the worker that ran it), and a run waiting for sign-off
is a PAUSED ``remediate-cluster`` run whose pause key names the plan.

Every call here survives the Prefect API failing: the client retries 429/502/503 itself
(``PREFECT_CLIENT_MAX_RETRIES``); what still fails is logged and answered as "not known",
never raised into a run that has changed things."""

from __future__ import annotations

import logging
from typing import Any
from uuid import UUID

from tasks.errors import describe

REPORT_KEY = "pullfix-report"  # the run's final report (RemediationReport.as_json())
WAITING_KEY = "pullfix-report-waiting"  # its report so far, posted before it pauses
FLOW = "remediate-cluster"


def _logger() -> logging.Logger:
    try:
        from prefect import get_run_logger

        return get_run_logger()  # type: ignore[return-value]
    except Exception:  # noqa: BLE001 - outside a run: the module's logger
        return logging.getLogger("pullfix.runs")


def pause_key(plan_hash: str) -> str:
    """The pause key of the sign-off for a plan (Prefect allows only ``[a-z0-9-]``)."""
    return f"approve-{plan_hash[:16]}"


def post_report(report: dict[str, Any], *, key: str, flow_run_id: UUID | None = None) -> bool:
    """Store ``report`` on this flow run (replacing an earlier one under ``key``)."""
    from prefect.input.actions import create_flow_run_input, delete_flow_run_input

    try:
        try:
            delete_flow_run_input(key=key, flow_run_id=flow_run_id)
        except Exception:  # noqa: BLE001, S110 - nothing posted yet under this key
            pass
        create_flow_run_input(key=key, value=report, flow_run_id=flow_run_id)
    except Exception as exc:  # noqa: BLE001 - the report also goes to the audit log
        _logger().warning("could not post the report to Prefect (%s): %s", key, describe(exc))
        return False
    return True


def read_report(flow_run_id: UUID, *, key: str) -> dict[str, Any] | None:
    """A report a run posted, or ``None`` (none posted, or Prefect cannot say)."""
    from prefect.input.actions import read_flow_run_input

    try:
        value = read_flow_run_input(key=key, flow_run_id=flow_run_id)
    except Exception as exc:  # noqa: BLE001 - "not known" is an answer the caller reports
        _logger().warning("could not read the report of flow run %s: %s", flow_run_id,
                          describe(exc))
        return None
    return value if isinstance(value, dict) else None


def paused_runs() -> list[Any]:
    """Every ``remediate-cluster`` run waiting for sign-off (paused or suspended)."""
    from prefect import get_client
    from prefect.client.schemas.filters import (
        FlowFilter,
        FlowFilterName,
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType

    with get_client(sync_client=True) as client:
        return list(client.read_flow_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=[FLOW])),
            flow_run_filter=FlowRunFilter(state=FlowRunFilterState(
                type=FlowRunFilterStateType(any_=[StateType.PAUSED])))))


def waiting_run_for(plan_hash: str, *, exclude: str = "") -> str | None:
    """The id of another run already waiting for sign-off on this plan, if any: the same
    plan pending twice (a second sweep while the first's sign-off waits) is one request."""
    want = pause_key(plan_hash)
    try:
        runs = paused_runs()
    except Exception as exc:  # noqa: BLE001 - cannot tell: ask (a second request is safe)
        _logger().warning("could not list the runs waiting for sign-off: %s", describe(exc))
        return None
    for run in runs:
        details = run.state.state_details if run.state else None
        if str(run.id) != exclude and details is not None and details.pause_key == want:
            return str(run.id)
    return None
