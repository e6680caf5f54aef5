"""A per-subscription request rate limit for ARM, as an azure-core pipeline policy.

ARM throttles per subscription and principal (token buckets; roughly 25 reads/s sustained),
so a sweep limits itself per subscription before ARM has to, and azure-core's RetryPolicy
honours ``Retry-After`` when ARM answers 429 anyway. Installed after the retry policy, so
every attempt — retries included — takes a token.
"""

from __future__ import annotations

import re
import threading
import time

from azure.core.pipeline import PipelineRequest
from azure.core.pipeline.policies import SansIOHTTPPolicy

_SUB = re.compile(r"/subscriptions/([^/?]+)", re.IGNORECASE)


class SubscriptionRateLimitPolicy(SansIOHTTPPolicy):  # type: ignore[type-arg]
    def __init__(self, per_second: float, burst: int | None = None) -> None:
        if per_second <= 0:
            raise ValueError("the rate limit must be positive (requests per second)")
        self.rate = per_second
        self.burst = float(burst if burst is not None else max(1, int(per_second)))
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()
        self.waited = 0.0  # seconds spent waiting, for benchmarks and reports

    def on_request(self, request: PipelineRequest) -> None:  # type: ignore[type-arg]
        m = _SUB.search(request.http_request.url)
        key = m.group(1).lower() if m else "-"
        while True:
            with self._lock:
                now = time.monotonic()
                tokens, last = self._buckets.get(key, (self.burst, now))
                tokens = min(self.burst, tokens + (now - last) * self.rate)
                if tokens >= 1:
                    self._buckets[key] = (tokens - 1, now)
                    return
                self._buckets[key] = (tokens, now)
                wait = (1 - tokens) / self.rate
                self.waited += wait
            time.sleep(wait)
