"""Checking the log: is the chain intact, does it reach the head (and every anchor), and does
every applied change have the records that justify it?

The chain alone shows an edit (a record's hash no longer matches its content), a deletion (a
seq is missing), a reorder (a record sits at another record's seq) and a rewrite (a record's
hash no longer matches the next record's ``prev_hash``). Cutting records off the *end* leaves a
shorter chain that is intact, so the head row (updated with every append) is checked too; and
since whoever can cut the end can also fix the head row, an **anchor** — heads the operator
copied to a place the store's writers cannot change (``pullfix audit anchor FILE``) — proves
the chain once reached that seq with that hash.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from tasks.audit.db import GENESIS, Record
from tasks.audit.errors import AuditError
from tasks.audit.kinds import SIGN_OFF, Kind


@dataclass(frozen=True)
class Problem:
    """Something wrong with the chain; ``seq`` is the first record it concerns."""

    seq: int
    message: str


@dataclass(frozen=True)
class Anchor:
    source: str  # file:line
    seq: int
    hash: str
    at: str


def read_anchors(path: str) -> list[Anchor]:
    """The heads in an anchor file (JSON lines written by ``pullfix audit anchor``)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise AuditError(f"cannot read the anchor file {path}: "
                         f"{getattr(exc, 'strerror', None) or exc}") from None
    anchors = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            doc = json.loads(line)
            anchors.append(Anchor(source=f"{path}:{n}", seq=int(doc["seq"]), hash=str(doc["hash"]),
                                  at=str(doc.get("at", ""))))
        except (ValueError, KeyError, TypeError):
            raise AuditError(f"{path} line {n} is not an anchor (a JSON object with seq and hash, "
                             "as `pullfix audit anchor` writes)") from None
    return anchors


def _moved_from(rec: Record, by_hash: dict[str, int], window: int = 64) -> int | None:
    """The seq this record was written at, when it was moved: its content hashes correctly
    there. Tried: right after the record its prev_hash names, then nearby positions (a swap
    moves that record too)."""
    candidates = [1] if rec.prev_hash == GENESIS else (
        [by_hash[rec.prev_hash] + 1] if rec.prev_hash in by_hash else [])
    candidates += [s for d in range(1, window) for s in (rec.seq - d, rec.seq + d) if s > 0]
    return next((c for c in candidates if c != rec.seq and rec.computed_hash(c) == rec.hash),
                None)


def verify_chain(records: Iterable[Record], head: tuple[int, str] | None,
                 anchors: Sequence[Anchor] = ()) -> list[Problem]:
    """Every problem, first record first; empty when intact."""
    recs = list(records)
    by_hash = {r.hash: r.seq for r in recs}
    by_seq = {r.seq: r for r in recs}
    problems: list[Problem] = []
    expected, prev, prev_bad = 1, GENESIS, False
    for rec in recs:
        gap = rec.seq != expected
        if rec.seq < expected:
            problems.append(Problem(rec.seq, f"record {rec.seq}: not a valid position (the log "
                                             f"counts from 1; expected {expected})"))
        elif gap:
            span = str(expected) if rec.seq == expected + 1 else f"{expected}..{rec.seq - 1}"
            problems.append(Problem(expected, f"record {span} missing (deleted): after "
                                              f"{expected - 1 or 'the start'} comes {rec.seq}"))
        bad = rec.computed_hash() != rec.hash
        if bad:
            moved = _moved_from(rec, by_hash)
            problems.append(Problem(rec.seq, (
                f"record {rec.seq}: holds record {moved}'s content (records were reordered)"
                if moved else f"record {rec.seq}: its content does not match its hash (edited)")))
        elif not gap and not prev_bad and rec.prev_hash != prev:
            problems.append(Problem(rec.seq - 1, (
                f"record {rec.seq - 1}: rewritten (its hash no longer matches record "
                f"{rec.seq}'s prev_hash)")))
        prev, prev_bad, expected = rec.hash, bad, max(expected, rec.seq + 1)
    last = expected - 1
    last_hash = by_seq[last].hash if last in by_seq else GENESIS
    if head is None:
        if recs:
            problems.append(Problem(last + 1, (
                f"the head row is missing: records after {last} may have been cut off "
                "(truncated); check against an anchor: pullfix audit verify --anchor FILE")))
    elif head[0] > last:
        span = str(last + 1) if head[0] == last + 1 else f"{last + 1}..{head[0]}"
        problems.append(Problem(last + 1, f"record {span} missing (truncated): the head row "
                                          f"says the log ends at {head[0]}"))
    elif head[0] < last:
        problems.append(Problem(head[0] + 1, f"records {head[0] + 1}..{last} were added without "
                                             f"moving the head row (it says {head[0]})"))
    elif head[1] != last_hash:
        problems.append(Problem(last, f"record {last}: rewritten (the head row's hash differs)"))
    for a in anchors:
        if a.seq > last:
            span = str(last + 1) if a.seq == last + 1 else f"{last + 1}..{a.seq}"
            problems.append(Problem(last + 1, f"record {span} missing (truncated): the anchor "
                                              f"{a.source} says the log reached {a.seq} at {a.at}"))
        elif a.seq in by_seq and by_seq[a.seq].hash != a.hash:
            problems.append(Problem(a.seq, f"record {a.seq}: differs from the anchor {a.source} "
                                           "(the chain was rewritten up to here)"))
    unique = {(p.seq, p.message): p for p in problems}
    return sorted(unique.values(), key=lambda p: p.seq)


@dataclass(frozen=True)
class Gap:
    """An applied change without a record that should justify it."""

    seq: int  # the change (or reconciled) record
    run_id: str
    cluster: str
    fix: str
    plan_hash: str
    missing: tuple[str, ...]

    @property
    def message(self) -> str:
        return (f"record {self.seq}: {self.fix or 'a change'} applied in run {self.run_id} "
                f"(plan {self.plan_hash[:12]}) has no {', no '.join(self.missing)}")


def completeness(records: Iterable[Record]) -> tuple[list[Gap], list[str]]:
    """(gaps, runs still open). Every applied change (``change`` or ``reconciled`` with
    ``applied``) needs, linked by run id and plan hash: the run's ``evidence``, a ``plan``, a
    ``decision`` and — when the decision was sign-off — an ``approval``, all written before
    the change's intent; and a ``verification`` or ``rollback`` of its plan on its cluster
    after it (by the run, the run that reconciled it, or a later run of the same plan).
    Changes of runs that have not ended yet are left out (they may still be
    verified); their run ids are returned so the caller can say so."""
    recs = list(records)
    ended = {r.run_id for r in recs if r.kind in (Kind.RUN_ENDED, Kind.CRASHED)}
    evidence: dict[str, int] = {}
    linked: dict[tuple[str, str], list[Record]] = {}
    for r in recs:
        if r.kind == Kind.EVIDENCE:
            evidence.setdefault(r.run_id, r.seq)
        plan_hash = r.payload.get("plan_hash")
        if isinstance(plan_hash, str):
            linked.setdefault((r.run_id, plan_hash), []).append(r)
    # a change is judged by a verification of its plan, or by its rollback, after it: by its
    # own run, or — when the run died between the change and its verification — by the run
    # that reconciled it or the later run that met the same plan on the cluster and verified it
    judged: dict[str, list[Record]] = {}
    for r in recs:
        if r.kind in (Kind.VERIFICATION, Kind.ROLLBACK) and isinstance(r.payload.get("plan_hash"), str):
            judged.setdefault(r.payload["plan_hash"], []).append(r)
    gaps: list[Gap] = []
    open_runs: set[str] = set()
    for r in recs:
        data = r.payload
        if r.kind not in (Kind.CHANGE, Kind.RECONCILED) or data.get("applied") is not True:
            continue
        if r.kind == Kind.CHANGE and r.run_id not in ended:
            open_runs.add(r.run_id)
            continue
        plan_hash = str(data.get("plan_hash", ""))
        before = int(data.get("intent") or r.seq)
        mine = [x for x in linked.get((r.run_id, plan_hash), []) if x.seq < before]
        kinds = {x.kind for x in mine}
        missing = []
        if evidence.get(r.run_id, before) >= before:
            missing.append("evidence")
        missing += [k.value for k in (Kind.PLAN, Kind.DECISION) if k not in kinds]
        if any(x.kind == Kind.DECISION and x.payload.get("outcome") == SIGN_OFF for x in mine) \
                and Kind.APPROVAL not in kinds:
            missing.append("approval")
        if not any(x.seq > before and x.cluster == r.cluster for x in judged.get(plan_hash, [])):
            missing.append("verification")
        if missing:
            gaps.append(Gap(seq=r.seq, run_id=r.run_id, cluster=r.cluster,
                            fix=str(data.get("fix", "")), plan_hash=plan_hash,
                            missing=tuple(missing)))
    return gaps, sorted(open_runs)
