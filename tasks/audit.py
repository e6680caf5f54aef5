"""The audit store: an append-only, hash-chained log of what pullfix did, and the ledger of
approval tokens already used.

It lives outside Prefect (whose history is pruned and whose database anyone with the API can
edit) in its own database: SQLite under ``$PULLFIX_HOME`` (default ``~/.pullfix``) or any
SQLAlchemy URL in ``PULLFIX_AUDIT_URL`` (PostgreSQL for a fleet of workers). Every record
carries ``seq``, ``kind``, ``at``, ``prev_hash`` and ``hash`` = SHA-256 over the canonical JSON
of the other fields and ``prev_hash``, so an edit, a deletion, a reorder or a truncation
breaks the chain at the first record it touched. Nothing written here is a secret: callers
pass evidence, plans and verified identities, never tokens or passwords.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

GENESIS = "0" * 64

_META = sa.MetaData()
LOG = sa.Table(
    "audit_log", _META,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("kind", sa.String(64), nullable=False),
    sa.Column("at", sa.String(40), nullable=False),
    sa.Column("run_id", sa.String(64), nullable=False, default=""),
    sa.Column("cluster", sa.Text, nullable=False, default=""),
    sa.Column("data", sa.Text, nullable=False),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)
# one row: the chain's head, locked by every append so concurrent writers serialise
HEAD = sa.Table(
    "audit_head", _META,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)
# an approval token's unique id (Entra's ``uti``) is accepted once, ever
TOKENS = sa.Table(
    "approval_tokens", _META,
    sa.Column("token_id", sa.String(128), primary_key=True),
    sa.Column("run_id", sa.String(64), nullable=False),
    sa.Column("plan_hash", sa.String(64), nullable=False),
    sa.Column("approver", sa.String(64), nullable=False),
    sa.Column("at", sa.String(40), nullable=False),
)


def record_hash(seq: int, kind: str, at: str, run_id: str, cluster: str, data: str,
                prev_hash: str) -> str:
    body = json.dumps([seq, kind, at, run_id, cluster, data, prev_hash], separators=(",", ":"),
                      ensure_ascii=False)
    return hashlib.sha256(body.encode()).hexdigest()


def default_url() -> str:
    if os.environ.get("PULLFIX_AUDIT_URL"):
        return os.environ["PULLFIX_AUDIT_URL"]
    home = Path(os.environ.get("PULLFIX_HOME") or Path.home() / ".pullfix").expanduser()
    home.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{home.resolve() / 'audit.db'}"


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")


class AuditStore:
    def __init__(self, url: str | None = None) -> None:
        self.url = url or default_url()
        self.engine: Engine = sa.create_engine(self.url, future=True)
        if self.engine.dialect.name == "sqlite":
            # every append takes the database's write lock up front (BEGIN IMMEDIATE), so two
            # processes never chain onto the same head
            @sa.event.listens_for(self.engine, "connect")
            def _no_pysqlite_begin(dbapi_conn: Any, _record: Any) -> None:
                dbapi_conn.isolation_level = None
                dbapi_conn.execute("PRAGMA busy_timeout = 30000")

            @sa.event.listens_for(self.engine, "begin")
            def _begin_immediate(conn: Connection) -> None:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
        _META.create_all(self.engine)

    @contextmanager
    def _locked(self) -> Iterator[tuple[Connection, int, str]]:
        with self.engine.begin() as conn:
            q = sa.select(HEAD.c.seq, HEAD.c.hash).where(HEAD.c.id == 1)
            if self.engine.dialect.name != "sqlite":
                q = q.with_for_update()
            row = conn.execute(q).first()
            if row is None:
                conn.execute(HEAD.insert().values(id=1, seq=0, hash=GENESIS))
                yield conn, 0, GENESIS
            else:
                yield conn, int(row.seq), str(row.hash)

    def append(self, kind: str, data: dict[str, Any], *, run_id: str = "", cluster: str = ""
               ) -> dict[str, Any]:
        """Chain one record onto the log; returns it as stored."""
        text = json.dumps(data, sort_keys=True, default=str, separators=(",", ":"))
        with self._locked() as (conn, seq, prev):
            rec: dict[str, Any] = {"seq": seq + 1, "kind": kind, "at": _now(), "run_id": run_id,
                   "cluster": cluster, "data": text, "prev_hash": prev}
            rec["hash"] = record_hash(**rec)
            conn.execute(LOG.insert().values(**rec))
            conn.execute(HEAD.update().where(HEAD.c.id == 1).values(seq=rec["seq"],
                                                                     hash=rec["hash"]))
        return rec

    def claim_token(self, token_id: str, *, run_id: str, plan_hash: str, approver: str) -> bool:
        """Record an approval token as used; ``False`` when it was used before (a replay)."""
        try:
            with self.engine.begin() as conn:
                conn.execute(TOKENS.insert().values(token_id=token_id, run_id=run_id,
                                                    plan_hash=plan_hash, approver=approver,
                                                    at=_now()))
        except sa.exc.IntegrityError:
            return False
        return True

    def token_use(self, token_id: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(TOKENS).where(TOKENS.c.token_id == token_id)).first()
        return dict(row._mapping) if row else None

    def records(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(sa.select(LOG).order_by(LOG.c.seq))]


_STORES: dict[str, AuditStore] = {}
_GUARD = threading.Lock()


def store(url: str | None = None) -> AuditStore:
    """The process's store for ``url`` (default: the environment's), created once."""
    key = url or default_url()
    with _GUARD:
        if key not in _STORES:
            _STORES[key] = AuditStore(key)
        return _STORES[key]
