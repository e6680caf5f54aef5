"""Progress on long work (sweeps, remediations, sign-offs), on stderr so stdout stays the
command's data: a rich live display on a terminal, plain lines when piped (CI logs, ``tee``),
one line per step.

What a remediation is doing is read from the audit log as the flow writes it (it records every
step: decision, approval, intent, change, verification, run end), so the same lines appear
whether the flow runs in this process or on a Prefect worker sharing the audit store."""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from tasks.audit import Record


def interactive() -> bool:
    """A person is watching: live displays only then."""
    return sys.stdout.isatty() and sys.stderr.isatty()


class Progress:
    """``line()`` for a step, ``count()`` for n-of-total work."""

    def __init__(self, description: str) -> None:
        self.description = description
        self.live = interactive()
        self._bar: Any = None
        self._task: Any = None
        self._lock = threading.Lock()

    def __enter__(self) -> Progress:
        if self.live:
            from rich.progress import Progress as RichProgress

            from flows.cli.output import console

            self._bar = RichProgress(transient=True, console=console(err=True))
            self._task = self._bar.add_task(self.description, total=None)
            self._bar.start()
        else:
            self.line(f"{self.description} …")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()

    def line(self, text: str) -> None:
        with self._lock:
            if self._bar is not None:
                from rich.text import Text

                self._bar.console.print(Text(text))  # recorded text is data, not markup
            else:
                typer.echo(text, err=True)
                sys.stderr.flush()

    def count(self, done: int, total: int, what: str) -> None:
        if self._bar is not None:
            self._bar.update(self._task, completed=done, total=total, description=what)
        else:
            self.line(f"[{done}/{total}] {what}")


def describe_record(rec: Record) -> str | None:
    """One progress line for an audit record, or None for records that say nothing new."""
    from tasks.audit import Kind
    from tasks.audit.render import short_cluster, summarize

    d = rec.payload
    where = short_cluster(rec.cluster) if rec.cluster else "fleet"
    fix = str(d.get("fix", ""))
    match rec.kind:
        case Kind.RUN_STARTED:
            return f"{where}: remediation started (flow run {rec.run_id})"
        case Kind.EVIDENCE:
            pods = d.get("failing_pods") or []
            return f"{where}: pass {d.get('pass')}: {len(pods)} failing pod(s); {summarize(rec)}"
        case Kind.DECISION:
            return f"{where}: {fix}: {d.get('outcome')} — {d.get('reason', '')}"
        case Kind.INTENT:
            return f"{where}: applying {fix} ({len(d.get('changes') or [])} change(s))"
        case Kind.RUN_ENDED if rec.cluster:
            return f"{where}: {d.get('outcome', 'ended')} — {d.get('summary', '')}"
        case Kind.RUN_ENDED | Kind.SWEEP_STARTED | Kind.PLAN | Kind.RECONCILED:
            return None
    return f"{where}: {summarize(rec)}"


def audit_head() -> int:
    """The seq of the audit log's last record (0 when empty)."""
    from tasks.audit import store

    head = store().head()
    return head[0] if head else 0


@contextmanager
def follow_audit(on_record: Callable[[Record], None], *, interval: float = 1.0,
                 on_tick: Callable[[], None] | None = None, after: int | None = None
                 ) -> Iterator[None]:
    """Call ``on_record`` for each audit record written while the block runs — or after record
    ``after`` (see :func:`audit_head`) — polling the store from a thread (the records after
    the block's last poll are delivered at its end), and ``on_tick`` after each poll."""
    import sqlalchemy as sa

    from tasks.audit import Record, store
    from tasks.audit.db import LOG

    audit = store()
    last = [audit_head() if after is None else after]
    stop = threading.Event()

    def poll() -> None:
        with audit.engine.connect() as conn:
            rows = conn.execute(sa.select(LOG).where(LOG.c.seq > last[0]).order_by(LOG.c.seq))
            recs = [Record(**r._mapping) for r in rows]
        for rec in recs:
            last[0] = rec.seq
            on_record(rec)

    def loop() -> None:
        while not stop.wait(interval):
            try:
                poll()
                if on_tick is not None:
                    on_tick()
            except Exception as exc:  # noqa: BLE001 - progress must never fail the work it reports
                logging.getLogger(__name__).debug("progress poll failed: %s", exc)

    thread = threading.Thread(target=loop, name="pullfix-progress", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(5)
        try:
            poll()
        except Exception as exc:  # noqa: BLE001 - as above
            logging.getLogger(__name__).debug("progress poll failed: %s", exc)
