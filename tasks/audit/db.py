"""Where the audit log lives and how a record is chained onto it.

SQLite under ``$PULLFIX_HOME`` (default ``~/.pullfix``) or any SQLAlchemy URL in
``PULLFIX_AUDIT_URL`` (PostgreSQL for a fleet of workers). Every append locks the one head row
(SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: ``SELECT ... FOR UPDATE``) so concurrent writers in
any number of processes extend one chain. Triggers refuse UPDATE and DELETE on the log: pullfix
never changes or prunes a record, and anyone who does had to drop the trigger first — which
``pullfix audit verify`` then shows as a broken chain.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from tasks.audit.errors import AuditError

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


def safe_url(url: str) -> str:
    """The URL to show a person: a PostgreSQL password never reaches output."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return "(a URL SQLAlchemy cannot parse)"  # it may hold a password: never echoed


@dataclass(frozen=True)
class Record:
    """One stored record; ``data`` is the canonical JSON text the hash covers."""

    seq: int
    kind: str
    at: str
    run_id: str
    cluster: str
    data: str
    prev_hash: str
    hash: str

    @property
    def payload(self) -> dict[str, Any]:
        try:
            value = json.loads(self.data)
        except ValueError:
            return {"_unreadable": self.data}
        return value if isinstance(value, dict) else {"_value": value}

    def computed_hash(self, seq: int | None = None) -> str:
        return record_hash(self.seq if seq is None else seq, self.kind, self.at, self.run_id,
                           self.cluster, self.data, self.prev_hash)


_APPEND_ONLY_SQLITE = [
    f"CREATE TRIGGER IF NOT EXISTS audit_log_no_{op.lower()} BEFORE {op} ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"
    for op in ("UPDATE", "DELETE")]
_APPEND_ONLY_PG = [
    "CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$",
    "CREATE OR REPLACE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
    "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()"]


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
        with self.engine.begin() as conn:
            if self.engine.dialect.name == "postgresql":
                # two workers creating the store at once must not race on CREATE TABLE
                conn.exec_driver_sql("SELECT pg_advisory_xact_lock(804807)")
            _META.create_all(conn)
            statements: list[str] = []
            if self.engine.dialect.name == "sqlite":
                statements = _APPEND_ONLY_SQLITE
            elif self.engine.dialect.name == "postgresql" and conn.exec_driver_sql(
                    "SELECT 1 FROM pg_trigger WHERE tgname = 'audit_log_append_only'").first() is None:
                # only when missing: workers that may just INSERT/SELECT need no DDL rights
                statements = _APPEND_ONLY_PG
            for ddl in statements:
                conn.exec_driver_sql(ddl)
            empty = conn.execute(sa.select(sa.func.count()).select_from(LOG)).scalar() == 0
            if empty and conn.execute(sa.select(HEAD.c.id)).first() is None:
                conn.execute(HEAD.insert().values(id=1, seq=0, hash=GENESIS))

    @contextmanager
    def _locked(self) -> Iterator[tuple[Connection, int, str]]:
        with self.engine.begin() as conn:
            q = sa.select(HEAD.c.seq, HEAD.c.hash).where(HEAD.c.id == 1)
            if self.engine.dialect.name != "sqlite":
                q = q.with_for_update()
            row = conn.execute(q).first()
            if row is None:
                # chaining onto a missing head would fork the chain or collide with a seq:
                # a store in this state was tampered with and needs a person
                raise AuditError(f"the audit log in {safe_url(self.url)} has no head row (was it "
                                 "truncated?): nothing can be appended until it is examined; "
                                 "run `pullfix audit verify`")
            yield conn, int(row.seq), str(row.hash)

    def append(self, kind: str, data: dict[str, Any], *, run_id: str = "", cluster: str = "",
               guard: Callable[[Connection], None] | None = None) -> Record:
        """Chain one record onto the log; returns it as stored. ``guard`` runs under the
        lock first and may raise to refuse (an outcome for an intent that has one). Callers
        go through :func:`tasks.audit.record`, which checks the kind, links and secrets."""
        text = canonical(data)
        with self._locked() as (conn, seq, prev):
            if guard is not None:
                guard(conn)
            at = _now()
            rec = Record(seq=seq + 1, kind=kind, at=at, run_id=run_id, cluster=cluster,
                         data=text, prev_hash=prev,
                         hash=record_hash(seq + 1, kind, at, run_id, cluster, text, prev))
            conn.execute(LOG.insert().values(**rec.__dict__))
            conn.execute(HEAD.update().where(HEAD.c.id == 1).values(seq=rec.seq, hash=rec.hash))
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

    def head(self) -> tuple[int, str] | None:
        """The head row's (seq, hash); ``None`` when it is missing."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(HEAD.c.seq, HEAD.c.hash).where(HEAD.c.id == 1)).first()
        return (int(row.seq), str(row.hash)) if row else None

    def records(self, *, since: str | None = None, run_id: str | None = None,
                seq: int | None = None, kinds: tuple[str, ...] = ()) -> list[Record]:
        """Records in chain order, optionally those at or after ``since`` (ISO 8601 UTC),
        of one run (an id or its unique prefix is the caller's business), one ``seq``, or
        some kinds."""
        q = sa.select(LOG).order_by(LOG.c.seq)
        if since:
            q = q.where(LOG.c.at >= since)
        if run_id:
            q = q.where(LOG.c.run_id == run_id)
        if seq is not None:
            q = q.where(LOG.c.seq == seq)
        if kinds:
            q = q.where(LOG.c.kind.in_(kinds))
        with self.engine.connect() as conn:
            return [Record(**r._mapping) for r in conn.execute(q)]


def canonical(data: dict[str, Any]) -> str:
    """The stored form of a record's data: sorted keys, no spaces (what the hash covers)."""
    return json.dumps(data, sort_keys=True, default=str, separators=(",", ":"))


_STORES: dict[str, AuditStore] = {}
_GUARD = threading.Lock()


def store(url: str | None = None) -> AuditStore:
    """The process's store for ``url`` (default: the environment's), created once."""
    key = url or default_url()
    with _GUARD:
        if key not in _STORES:
            _STORES[key] = AuditStore(key)
        return _STORES[key]
