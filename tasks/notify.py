"""Tell people when a sweep needs them: a sign-off waits, or a fix failed or was rolled back.

One message per sweep, posted as ``{"text": ...}`` — what both Slack and Microsoft Teams
incoming webhooks accept — to every URL in ``PULLFIX_WEBHOOK_URL`` (comma-separated). A
webhook URL is itself a credential (whoever has it can post), so it is never logged: only its
scheme and host are. A notification that cannot be delivered is logged and never breaks the
sweep: the report and the audit log already hold everything it says.
"""

from __future__ import annotations

import logging
import os
from typing import Any
from urllib.parse import urlsplit

import httpx

from tasks.errors import describe
from tasks.fleet_report import fleet_view

ENV = "PULLFIX_WEBHOOK_URL"
log = logging.getLogger(__name__)


def where(url: str) -> str:
    """What a log line may say about a webhook: scheme and host, never the path (the secret)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or '?'}{':' + str(parts.port) if parts.port else ''}"


def _redact(text: str, url: str) -> str:
    """An error text without the webhook's path and query (they carry its secret)."""
    parts = urlsplit(url)
    for secret in (url, parts.path, parts.query):
        if secret and secret != "/":
            text = text.replace(secret, "…")
    return text


def webhook_urls(value: str | None = None, *, logger: logging.Logger | logging.LoggerAdapter[Any]
                 = log) -> list[str]:
    """The webhooks to post to: ``PULLFIX_WEBHOOK_URL`` split on commas; an entry that is not
    an http(s) URL is skipped with a warning naming the variable."""
    raw = os.environ.get(ENV, "") if value is None else value
    urls: list[str] = []
    for entry in (u.strip() for u in raw.split(",")):
        if not entry:
            continue
        parts = urlsplit(entry)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            logger.warning("%s: skipping an entry that is not an http(s) URL (entry %d); "
                           "give the webhook's full https://… address", ENV, len(urls) + 1)
            continue
        urls.append(entry)
    return urls


def attention(summary: dict[str, Any]) -> list[str]:
    """One line per thing a person must act on: sign-offs waiting, fixes that failed or were
    rolled back, clusters that could not be diagnosed or remediated."""
    v = fleet_view(summary)
    lines = [f"sign-off waiting: {s.fix} on {s.cluster} (plan {s.plan}; approvers "
             f"{', '.join(s.approvers) or 'nobody named'})" for s in v.sign_offs]
    lines += [f"{f.outcome.replace('_', ' ')}: {f.fix or 'the cluster'} on {f.cluster} — "
              f"{f.reason}" for f in v.failures]
    return lines


def message(summary: dict[str, Any], *, report: str = "") -> dict[str, str] | None:
    """The payload, or ``None`` unless a sign-off waits or a fix failed or was rolled back (a
    cluster that could not be read alone is the report's news, not a page for someone)."""
    v = fleet_view(summary)
    if not v.sign_offs and not any(f.fix for f in v.failures):
        return None
    lines = attention(summary)
    head = (f"pullfix fleet sweep ({v.mode}): {v.totals['clusters']} clusters, "
            f"{len(v.sign_offs)} sign-off(s) waiting, {len(v.failures)} failure(s)")
    tail = [f"report: {report}"] if report else []
    return {"text": "\n".join([head, *(f"• {line}" for line in lines), *tail])}


def notify(summary: dict[str, Any], *, report: str = "", urls: list[str] | None = None,
           timeout: float = 10.0, logger: logging.Logger | logging.LoggerAdapter[Any] = log
           ) -> list[str]:
    """Post the sweep's message to each webhook when something needs a person. Returns the
    hosts it was delivered to; never raises."""
    try:
        payload = message(summary, report=report)
        targets = webhook_urls(logger=logger) if urls is None else urls
    except Exception as exc:  # noqa: BLE001 - a notification never breaks the sweep
        logger.warning("could not build the sweep notification: %s", describe(exc))
        return []
    if payload is None or not targets:
        return []
    delivered = []
    for url in targets:
        try:
            resp = httpx.post(url, json=payload, timeout=timeout)
            resp.raise_for_status()
        except httpx.HTTPStatusError as exc:
            logger.warning("webhook %s refused the sweep notification: HTTP %s", where(url),
                           exc.response.status_code)
        except Exception as exc:  # noqa: BLE001 - logged; the sweep goes on
            logger.warning("could not notify webhook %s: %s: %s", where(url), type(exc).__name__,
                           _redact(str(exc), url))
        else:
            delivered.append(where(url))
    return delivered
