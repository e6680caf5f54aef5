"""The exit codes every ``pullfix`` command uses, so CI can gate on them (a stable contract,
documented in the README):

- ``OK`` (0): done, and nothing is failing;
- ``FAILING`` (1): the command ran and found or left problems — failing pods, a cluster that
  could not be diagnosed, a cluster not healed, an approval the flow refused, a tampered
  audit log;
- ``USAGE`` (2): the command line or its input is wrong — a bad option, a malformed policy,
  an unknown cluster or subscription, an unreadable file (click's own usage errors are 2 too);
- ``CANNOT_RUN`` (3): pullfix could not do its work — no Azure credential or a refused
  sign-in, an unreachable cloud, cluster API, Prefect API or audit store, throttling beyond
  the retries.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    FAILING = 1
    USAGE = 2
    CANNOT_RUN = 3


# a remediation's cluster outcomes (tasks.remediate.ClusterOutcome) that leave nothing failing
HEALTHY = ("healed", "nothing_to_do")


def for_outcome(outcome: str) -> ExitCode:
    """A remediated cluster: 0 when its pods pull, 1 when it is left unhealed."""
    return ExitCode.OK if outcome in HEALTHY else ExitCode.FAILING
