"""Pacing ARM requests to ARM's own budget, as an azure-core pipeline policy.

ARM throttles with token buckets per subscription (or tenant), per principal and per kind of
operation — reads 250 tokens refilled at 25 per second, writes and deletes 200 at 10 per
second — plus global buckets 15 times larger that every principal shares ("Request limits and
throttling", 2024 regional model). A sweep that ignores them spends its burst, then meets 429s
and waits out each ``Retry-After`` in every thread at once. So pullfix keeps the same buckets
itself and waits *before* sending, and lets ARM correct it:

* each response's ``x-ms-ratelimit-remaining-subscription-{reads,writes,deletes}`` (and the
  ``-global-`` and ``tenant`` variants) is what ARM says is left: the local bucket never holds
  more than that, so other clients of the same subscription and principal are accounted for;
* the kind is ARM's: GET reads, DELETE deletes, PUT, PATCH and POST — actions such as
  ``listClusterUserCredential`` included — writes (Azure/azure-rest-api-specs#6363), so a
  sweep's one credential POST per cluster is paced on the writes bucket;
* a 429's ``Retry-After`` empties the bucket until then for every thread, not only the one that
  was refused; azure-core's RetryPolicy (before this policy in the pipeline) retries it.

Installed as a per-retry policy, so every attempt — retries included — takes a token.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from azure.core.pipeline import PipelineRequest, PipelineResponse
from azure.core.pipeline.policies import SansIOHTTPPolicy

_SUB = re.compile(r"/subscriptions/([^/?]+)", re.IGNORECASE)
_REMAINING = re.compile(r"^x-ms-ratelimit-remaining-(subscription|tenant)-(global-)?"
                        r"(reads|writes|deletes)$", re.IGNORECASE)
KINDS = ("reads", "writes", "deletes")
_CHARGED = "pullfix.arm_budget"  # the request context's note of the bucket it was charged to


@dataclass(frozen=True)
class Budget:
    """One kind of operation's bucket: ``burst`` tokens, refilled at ``per_second``."""

    burst: float
    per_second: float

    def __post_init__(self) -> None:
        if self.per_second <= 0 or self.burst < 1:
            raise ValueError("an ARM budget needs a positive rate (requests per second) and a "
                             "burst of at least 1")


# ARM's documented defaults (per subscription or tenant, per principal)
ARM_BUDGETS: dict[str, Budget] = {"reads": Budget(250, 25), "writes": Budget(200, 10),
                                  "deletes": Budget(200, 10)}


class _Bucket:
    __slots__ = ("budget", "tokens", "last", "blocked_until", "in_flight")

    def __init__(self, budget: Budget, now: float) -> None:
        self.budget = budget
        self.tokens = budget.burst
        self.last = now
        self.blocked_until = 0.0
        self.in_flight = 0  # sent, not yet answered: ARM may not have counted them yet

    def refill(self, now: float) -> None:
        if now > self.last:
            self.tokens = min(self.budget.burst, self.tokens + (now - self.last) * self.budget.per_second)
            self.last = now


class ArmBudgetPolicy(SansIOHTTPPolicy):  # type: ignore[type-arg]
    """Waits for a token of the request's subscription and kind; learns from ARM's answers."""

    def __init__(self, budgets: dict[str, Budget] | None = None, *,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.budgets = {**ARM_BUDGETS, **(budgets or {})}
        self._clock, self._sleep = clock, sleep
        self._buckets: dict[tuple[str, str], _Bucket] = {}
        self._lock = threading.Lock()
        self.waited = 0.0  # seconds spent waiting for tokens, for benchmarks and reports
        self.throttled = 0  # 429s ARM answered all the same

    # -- what a request is ------------------------------------------------------------------
    @staticmethod
    def _scope(url: str) -> str:
        m = _SUB.search(url)
        return m.group(1).lower() if m else "tenant"

    @staticmethod
    def _kind(method: str) -> str:
        m = method.upper()
        if m in ("GET", "HEAD", "OPTIONS"):
            return "reads"
        return "deletes" if m == "DELETE" else "writes"

    def _bucket(self, scope: str, kind: str, now: float) -> _Bucket:
        b = self._buckets.get((scope, kind))
        if b is None:
            b = self._buckets[(scope, kind)] = _Bucket(self.budgets[kind], now)
        return b

    # -- the policy -------------------------------------------------------------------------
    def on_request(self, request: PipelineRequest) -> None:  # type: ignore[type-arg]
        http = request.http_request
        scope, kind = self._scope(http.url), self._kind(http.method)
        while True:
            with self._lock:
                now = self._clock()
                b = self._bucket(scope, kind, now)
                b.refill(now)
                if now >= b.blocked_until and b.tokens >= 1:
                    b.tokens -= 1
                    b.in_flight += 1
                    request.context[_CHARGED] = (scope, kind)
                    return
                wait = max(b.blocked_until - now, (1 - b.tokens) / b.budget.per_second, 0.001)
                self.waited += wait
            self._sleep(wait)

    def on_response(self, request: PipelineRequest, response: PipelineResponse  # type: ignore[type-arg]
                    ) -> None:
        http, answer = request.http_request, response.http_response
        scope = self._scope(http.url)
        with self._lock:
            now = self._clock()
            self._answered(request)
            for name, value in answer.headers.items():
                m = _REMAINING.match(name)
                if not m:
                    continue
                try:
                    remaining = float(value)
                except ValueError:
                    continue
                # the principal's bucket and the global one (shared with every principal):
                # a request needs a token in both, so the local bucket holds the lesser
                b = self._bucket(scope, m.group(3).lower(), now)
                b.refill(now)
                # what ARM has left, less what is on its way and may not be counted yet
                b.tokens = min(b.tokens, remaining - b.in_flight)
            if answer.status_code == 429:
                self.throttled += 1
                retry = _retry_after(answer.headers.get("Retry-After"))
                b = self._bucket(scope, self._kind(http.method), now)
                b.tokens = 0.0
                b.blocked_until = max(b.blocked_until, now + retry)


    def on_exception(self, request: PipelineRequest) -> None:  # type: ignore[type-arg]
        with self._lock:
            self._answered(request)

    def _answered(self, request: PipelineRequest) -> None:  # type: ignore[type-arg]
        charged = request.context.pop(_CHARGED, None)
        if charged is not None and charged in self._buckets:
            b = self._buckets[charged]
            b.in_flight = max(0, b.in_flight - 1)


def _retry_after(value: str | None) -> float:
    try:
        return max(0.0, float(value)) if value else 1.0
    except ValueError:
        return 1.0  # an HTTP date: azure-core's RetryPolicy parses it; a second here is enough
