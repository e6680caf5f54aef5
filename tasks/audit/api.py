"""What the flows call: typed helpers over the store, each checking the kind, the links a
record of that kind must carry, and that nothing in it looks like a secret.

Intents make a crash visible: ``intent()`` is written *before* the first write of a fix and
``outcome()`` after it; an intent without an outcome (``open_intents()``) means a process died
in between, and the next run looks at the cloud and records what it found with
``outcome(seq, applied=..., reconciled_by=<its run id>)``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from pydantic_core import to_jsonable_python
from sqlalchemy.engine import Connection

from tasks.audit.db import LOG, Record, store
from tasks.audit.errors import AuditError
from tasks.audit.kinds import REQUIRED, Kind
from tasks.audit.redact import check_no_secrets

_OUTCOMES = (Kind.CHANGE.value, Kind.RECONCILED.value)
_STARTS = (Kind.RUN_STARTED.value, Kind.SWEEP_STARTED.value)
_ENDS = (Kind.RUN_ENDED.value, Kind.CRASHED.value)


def _kind(kind: Kind | str) -> Kind:
    try:
        return Kind(kind)
    except ValueError:
        raise AuditError(f"unknown audit record kind {kind!r}; valid: "
                         f"{', '.join(k.value for k in Kind)}") from None


def _prepare(kind: Kind | str, data: Mapping[str, Any] | None, run_id: str
             ) -> tuple[Kind, dict[str, Any]]:
    k = _kind(kind)
    if not run_id:
        raise AuditError(f"{k} records need the run_id of the flow run that writes them")
    doc = to_jsonable_python(dict(data or {}), fallback=str)
    missing = [key for key in REQUIRED[k] if key not in doc]
    if missing:
        raise AuditError(f"{k} records need {', '.join(missing)} in their data (what links "
                         "them to their run and plan)")
    check_no_secrets(doc)
    return k, doc


def record(kind: Kind | str, data: Mapping[str, Any] | None = None, *, run_id: str,
           cluster: str = "") -> int:
    """Append one record; returns its ``seq``. ``data`` may hold pydantic models, enums and
    datetimes (stored as JSON). Raises :class:`AuditError` for an unknown kind, a missing
    link (``REQUIRED``) or anything that looks like a secret."""
    k, doc = _prepare(kind, data, run_id)
    return store().append(k.value, doc, run_id=run_id, cluster=cluster).seq


def intent(*, run_id: str, cluster: str, fix: str, plan_hash: str, changes: Sequence[Any]
           ) -> int:
    """Record that this run is about to make ``changes`` (``tasks.fix.Change`` or dicts) for
    the plan ``plan_hash``; call it before the first write. Returns the intent's seq, which
    :func:`outcome` takes."""
    return record(Kind.INTENT, {"fix": fix, "plan_hash": plan_hash, "changes": list(changes)},
                  run_id=run_id, cluster=cluster)


def _intent_record(conn: Connection, intent_seq: int) -> Record:
    row = conn.execute(sa.select(LOG).where(LOG.c.seq == intent_seq)).first()
    if row is None or row.kind != Kind.INTENT.value:
        raise AuditError(f"audit record {intent_seq} is not an intent")
    return Record(**row._mapping)


def _resolved(records: Sequence[Record]) -> set[int]:
    return {int(r.payload.get("intent", 0)) for r in records if r.kind in _OUTCOMES}


def outcome(intent_seq: int, *, applied: bool, change: Mapping[str, Any] | None = None,
            reason: str = "", reconciled_by: str = "") -> int:
    """Record what became of an intent: ``applied`` (the change is in place) or not, with
    ``change`` (before/after, ARM correlation/request ids) and a ``reason``. The run that made
    the change records a ``change``; a later run that found an open intent and looked at the
    cloud passes its own run id as ``reconciled_by`` and records ``reconciled``. An intent
    has one outcome: a second raises :class:`AuditError`. Returns the outcome's seq."""
    kind = Kind.RECONCILED if reconciled_by else Kind.CHANGE
    audit = store()
    with audit.engine.connect() as conn:
        it = _intent_record(conn, intent_seq)
    data: dict[str, Any] = {"intent": intent_seq, "plan_hash": it.payload.get("plan_hash", ""),
                            "fix": it.payload.get("fix", ""), "applied": applied,
                            "change": dict(change or {}), "reason": reason}
    if reconciled_by:
        data["reconciled_by"] = reconciled_by
    k, doc = _prepare(kind, data, it.run_id)

    def only_once(conn: Connection) -> None:
        # canonical JSON writes the link as "intent":N, — narrow in SQL, decide on the payload
        done = conn.execute(sa.select(LOG).where(LOG.c.kind.in_(_OUTCOMES)).where(
            LOG.c.data.contains(f'"intent":{intent_seq},', autoescape=True))).all()
        if intent_seq in _resolved([Record(**r._mapping) for r in done]):
            raise AuditError(f"intent {intent_seq} already has an outcome")

    # the original run's id, so the outcome sits with its evidence, plan and decision
    return audit.append(k.value, doc, run_id=it.run_id, cluster=it.cluster,
                        guard=only_once).seq


@dataclass(frozen=True)
class OpenIntent:
    """An intent without an outcome: its writes may or may not have happened."""

    seq: int
    at: str
    run_id: str
    cluster: str
    fix: str
    plan_hash: str
    changes: list[dict[str, Any]]


def open_intents() -> list[OpenIntent]:
    """Intents without an outcome, oldest first (left by a process that died mid-write, or
    by a run still writing)."""
    recs = store().records(kinds=(Kind.INTENT.value, *_OUTCOMES))
    done = _resolved(recs)
    return [OpenIntent(seq=r.seq, at=r.at, run_id=r.run_id, cluster=r.cluster,
                       fix=str(r.payload.get("fix", "")),
                       plan_hash=str(r.payload.get("plan_hash", "")),
                       changes=list(r.payload.get("changes", [])))
            for r in recs if r.kind == Kind.INTENT.value and r.seq not in done]


@dataclass(frozen=True)
class OpenRun:
    """A run (or sweep) that started and has neither ended nor been marked crashed."""

    run_id: str
    cluster: str
    kind: str
    at: str


def open_runs() -> list[OpenRun]:
    """Runs that started and never ended: still running, or died (record ``crashed`` for
    those whose Prefect run is no longer running)."""
    recs = store().records(kinds=(*_STARTS, *_ENDS))
    ended = {r.run_id for r in recs if r.kind in _ENDS}
    return [OpenRun(run_id=r.run_id, cluster=r.cluster, kind=r.kind, at=r.at)
            for r in recs if r.kind in _STARTS and r.run_id not in ended]
