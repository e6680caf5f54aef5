"""The kinds of audit record: a stable contract (exports, auditors' queries and other tools
read these strings; never rename one, only add).

What links the records of one change: every record carries the ``run_id`` of the flow run
that wrote it (a sweep's records carry the sweep's run id; a remediation names its sweep in
``run-started``'s ``sweep``), and every record about one fix carries the ``plan_hash`` of its
:class:`tasks.fix.FixPlan` in ``data`` — the hash the approval, the Prefect transaction key
and the audit records share. ``change`` and ``reconciled`` also name the ``intent`` (its
``seq``) they resolve. Evidence belongs to the run (one diagnosis backs all its plans).

``REQUIRED`` lists the keys a kind must carry; these further keys are what ``audit show`` and
the exports read (record them when known; more keys are kept as they are):

================  ==========================================================================
run-started       ``policy``, ``policy_hash``, ``mode``, ``sweep`` (the parent sweep's run id)
sweep-started     ``policy``, ``policy_hash``, ``mode``, ``clusters``
evidence          ``findings`` (list), ``root_causes`` (list of ``{"check": ...}``)
plan              ``summary``, ``risk``, ``changes``, ``resolves`` (the ``FixPlan`` dump)
decision          ``fix``, ``reason``, ``rule``, ``policy``, ``policy_hash``, ``approvers``
approval          ``approver`` (``{"object_id", "name"}``), ``verified`` (how), ``comment``,
                  ``token_id`` (the token's ``uti``, never the token)
rejection         ``by`` (as ``approver``, when known), ``comment``
change            ``change`` (``{"applied": [...], "x-ms-request-id", "x-ms-correlation-request-id"}``),
                  ``reason``
verification      ``fix``, ``detail``
rollback          ``fix``, ``reason``, ``changes``
run-ended         ``counts`` (outcome → number), ``changes``
crashed           ``prefect_state``, ``found_by`` (run id)
================  ==========================================================================
"""

from __future__ import annotations

from enum import StrEnum


class Kind(StrEnum):
    SWEEP_STARTED = "sweep-started"  # a fleet sweep began (policy, mode, clusters)
    RUN_STARTED = "run-started"  # a remediation began (cluster, policy + hash, sweep)
    EVIDENCE = "evidence"  # the diagnosis: findings and root causes the plans rest on
    PLAN = "plan"  # a fix's plan: its changes, risk, hash
    DECISION = "decision"  # the policy's verdict: outcome, policy file + hash, the rule
    APPROVAL = "approval"  # a verified sign-off: who (object id, name), how, when, comment
    REJECTION = "rejection"  # a sign-off refused, timed out or not verifiable: who and why
    INTENT = "intent"  # about to write: the changes, recorded before the first write
    CHANGE = "change"  # the outcome of an intent: applied or not, before/after, request ids
    VERIFICATION = "verification"  # whether the fix really healed the pod
    ROLLBACK = "rollback"  # a change undone after failed verification
    RUN_ENDED = "run-ended"  # a remediation or sweep finished: outcome counts
    RECONCILED = "reconciled"  # an intent's outcome found later, by looking at the cloud
    CRASHED = "crashed"  # a run that died without ending, as found by a later run


# data keys a record of each kind must carry (what links it; see the module docstring)
REQUIRED: dict[Kind, tuple[str, ...]] = {
    Kind.SWEEP_STARTED: (),
    Kind.RUN_STARTED: (),
    Kind.EVIDENCE: (),
    Kind.PLAN: ("plan_hash", "fix"),
    Kind.DECISION: ("plan_hash", "outcome"),
    Kind.APPROVAL: ("plan_hash", "approver"),
    Kind.REJECTION: ("plan_hash", "reason"),
    Kind.INTENT: ("plan_hash", "fix", "changes"),
    Kind.CHANGE: ("plan_hash", "intent", "applied"),
    Kind.VERIFICATION: ("plan_hash", "ok"),
    Kind.ROLLBACK: ("plan_hash",),
    Kind.RUN_ENDED: (),
    Kind.RECONCILED: ("plan_hash", "intent", "applied", "reconciled_by"),
    Kind.CRASHED: ("reason",),
}

# the decision outcome that needs an approval before a change (policies/decide.py)
SIGN_OFF = "sign-off"
