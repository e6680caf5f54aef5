"""The audit store: an append-only, hash-chained log of what pullfix did, and the ledger of
approval tokens already used.

It lives outside Prefect (whose history is pruned and whose database anyone with the API can
edit) in its own database: SQLite under ``$PULLFIX_HOME`` (default ``~/.pullfix``) or any
SQLAlchemy URL in ``PULLFIX_AUDIT_URL`` (PostgreSQL for a fleet of workers). pullfix never
prunes it: it outlives Prefect's flow-run retention and Azure's 90-day activity log, and
``pullfix audit export`` is how it is archived. Every record carries ``seq``, ``kind``,
``at``, ``prev_hash`` and ``hash`` = SHA-256 over the canonical JSON of the other fields and
``prev_hash``, so an edit, a deletion, a reorder or a truncation breaks the chain at the first
record it touched (``verify.py``). Nothing written here is a secret: :func:`record` refuses
data that looks like one.

The flows call :func:`record` (any :class:`Kind`) or the typed recorders in ``steps``
(``steps.plan(run_id=, plan=)``, ``steps.decision``, ``steps.approval``, ...), :func:`intent`
(or ``steps.intent``) before each write and :func:`outcome` after it, and on start
:func:`open_intents` / :func:`open_runs` to reconcile what a dead process left behind.
"""

from tasks.audit.api import OpenIntent, OpenRun, intent, open_intents, open_runs, outcome, record
from tasks.audit.db import GENESIS, AuditStore, Record, default_url, record_hash, safe_url, store
from tasks.audit.errors import AuditError
from tasks.audit.kinds import REQUIRED, Kind
from tasks.audit.redact import SecretInAuditRecord, check_no_secrets
from tasks.audit.verify import Anchor, Gap, Problem, completeness, read_anchors, verify_chain

__all__ = [
    "GENESIS", "REQUIRED", "Anchor", "AuditError", "AuditStore", "Gap", "Kind", "OpenIntent",
    "OpenRun", "Problem", "Record", "SecretInAuditRecord", "check_no_secrets", "completeness",
    "default_url", "intent", "open_intents", "open_runs", "outcome", "read_anchors", "record",
    "record_hash", "safe_url", "store", "verify_chain",
]
