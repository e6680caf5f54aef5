"""ARM's request throttling: the regional token-bucket model Azure moved subscriptions to in 2024.

What Azure documents ("Understand how Azure Resource Manager throttles requests"):

- one bucket per subscription, per security principal and per operation type — reads 250
  tokens refilled at 25 per second, writes 200 at 10, deletes 200 at 10 — and *global*
  subscription buckets 15 times larger that all principals share (reads 3,750 at 375 per
  second ...). A request is throttled when the principal's or the global bucket is empty;
- tenant-level requests (no subscription in the path) have the same per-principal buckets,
  scoped to the tenant;
- each request takes one token from its buckets; answers carry what is left:
  ``x-ms-ratelimit-remaining-subscription-{reads,writes,deletes}`` and
  ``x-ms-ratelimit-remaining-subscription-global-{reads,writes,deletes}`` (tenant requests:
  ``x-ms-ratelimit-remaining-tenant-{reads,writes,deletes}``);
- the operation type follows the HTTP method: GET/HEAD read, DELETE delete, anything else
  write — POST actions that only read, such as ``listKeys`` or ``listClusterUserCredential``,
  included (they decrement ``x-ms-ratelimit-remaining-subscription-writes``:
  Azure/azure-rest-api-specs#6363, Azure/azure-sdk-for-java#1389), so a sweep that lists each
  cluster's credentials is bound by the writes bucket (200, then 10 per second);
- an empty bucket answers 429 with ``Retry-After`` (whole seconds, at least 1) and
  ``SubscriptionRequestsThrottled`` ("Number of 'read' requests for subscription actor
  '<sub>:<principal>' exceeded. Please try again after '1' seconds after additional tokens are
  available. ...", as Azure/apiops#612 quotes it); a throttled request takes no token.

Buckets refill on the twin's clock: world time passes ``settings.speedup`` times faster than
the wall for Azure's delays, so a bucket refills ``speedup`` times faster too, and advancing the
world clock refills it (as it completes operations); Retry-After is in wall seconds.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

from simulator.core import errors

KINDS = ("reads", "writes", "deletes")
SINGULAR = {"reads": "read", "writes": "write", "deletes": "delete"}
SETTING_KEYS = ("enabled", "global_factor", *(f"{k}_{p}" for k in KINDS
                                               for p in ("burst", "per_second")))


def kind_of(method: str) -> str:
    m = method.upper()
    if m in ("GET", "HEAD"):
        return "reads"
    return "deletes" if m == "DELETE" else "writes"


@dataclass
class Buckets:
    """Token levels by bucket key, each with the twin-clock time it was last filled."""

    levels: dict[tuple[str, ...], tuple[float, float]] = field(default_factory=dict)

    def clear(self) -> None:
        self.levels.clear()

    def level(self, bucket: tuple[str, ...], burst: float, rate: float, now: float) -> float:
        tokens, last = self.levels.get(bucket, (burst, now))
        return min(burst, tokens + max(0.0, now - last) * rate)


def twin_clock(world: Any) -> float:
    """Seconds on the clock Azure's delays run by: wall time times ``speedup``, plus what the
    world clock was advanced by."""
    speedup = max(float(world.settings.get("speedup", 1.0)), 1e-9)
    return time.monotonic() * speedup + float(world.state.get("clock_offset", 0.0))


def take(world: Any, buckets: Buckets, *, method: str, subscription: str | None,
         principal: str) -> dict[str, str]:
    """Take a token for one ARM request: the headers to answer with, or raise the 429."""
    from simulator.core.world import DEFAULT_SETTINGS

    cfg = {**DEFAULT_SETTINGS["throttling"], **(world.settings.get("throttling") or {})}
    if not cfg.get("enabled"):
        return {}
    kind = kind_of(method)
    burst, rate = float(cfg[f"{kind}_burst"]), float(cfg[f"{kind}_per_second"])
    factor = float(cfg["global_factor"])
    now = twin_clock(world)
    scope = "subscription" if subscription else "tenant"
    owner = (subscription or world.tenant_id).lower()
    mine = (scope, owner, principal.lower(), kind)
    layers = [(mine, burst, rate, f"x-ms-ratelimit-remaining-{scope}-{kind}")]
    if subscription:
        layers.append((("global", owner, "*", kind), burst * factor, rate * factor,
                       f"x-ms-ratelimit-remaining-subscription-global-{kind}"))
    levels = [buckets.level(b, size, r, now) for b, size, r, _ in layers]
    for (b, _size, r, header), tokens in zip(layers, levels, strict=True):
        if tokens < 1:
            wait = (1 - tokens) / r  # twin seconds until the next token
            retry = max(1, math.ceil(world.delay(wait)))
            for (b2, *_), t2 in zip(layers, levels, strict=True):
                buckets.levels[b2] = (t2, now)
            actor = f"subscription actor '{owner}:{principal}'" if b[0] != "global" else \
                f"subscription '{owner}'"
            if scope == "tenant":
                actor = f"tenant actor '{owner}:{principal}'"
            raise errors.arm_error(
                429, "SubscriptionRequestsThrottled" if subscription else "TenantRequestsThrottled",
                f"Number of '{SINGULAR[kind]}' requests for {actor} exceeded. Please try again "
                f"after '{retry}' seconds after additional tokens are available. Refer to "
                "https://aka.ms/arm-throttling for additional information.",
                **{"Retry-After": str(retry), header: "0"},
            )
    headers = {}
    for (b, _size, _r, header), tokens in zip(layers, levels, strict=True):
        buckets.levels[b] = (tokens - 1, now)
        headers[header] = str(int(tokens - 1))
    return headers


def validate(patch: Any) -> None:
    """A settings patch for ``throttling``: known keys, a boolean switch, positive numbers."""
    if not isinstance(patch, dict):
        raise errors.bad_request("InvalidSetting", "throttling must be an object, e.g. "
                                 '{"enabled": true}')
    unknown = set(patch) - set(SETTING_KEYS)
    if unknown:
        raise errors.bad_request("InvalidSetting", f"unknown throttling settings "
                                 f"{sorted(unknown)}; valid: {sorted(SETTING_KEYS)}")
    if "enabled" in patch and not isinstance(patch["enabled"], bool):
        raise errors.bad_request("InvalidSetting", f"throttling.enabled must be true or false, "
                                 f"got {patch['enabled']!r}")
    for k, v in patch.items():
        if k != "enabled" and not (isinstance(v, int | float) and not isinstance(v, bool)
                                   and v > 0):
            raise errors.bad_request("InvalidSetting", f"throttling.{k} must be a number > 0, "
                                     f"got {v!r}")
