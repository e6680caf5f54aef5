"""The audit store's one exception type: a caller's mistake (a secret, a missing link, an
unknown kind) or a store that cannot be appended to safely (its head row is gone)."""

from __future__ import annotations


class AuditError(ValueError):
    pass
