"""Classify a kubelet pull error (event message or container status message) into the stable
categories of DESIGN.md "Classifying pull errors".

Never anchored on one prefix: the text is split into the errors the kubelet aggregated (the
first usually matters), and an ordered table of rules is searched in each — first the kubelet's
own verdicts, then specific causes before general ones (a DNS lookup that timed out is DNS, not
a timeout; a 5xx is a registry error even if a 401 follows). Where the text alone cannot tell
the cause the result says so (``ambiguous``) with a lower confidence instead of guessing: a 401
without proof that credentials were sent (a wrong repository name and a missing role read the
same, via the anonymous-token fallback), an NXDOMAIN for an Azure registry (a typo, or a private
DNS zone without the record), EOF together with 401 (an egress firewall).

The rules live in :mod:`tasks.classify_rules`; every result names the rule that decided and the
part of the text it read (``rule``, ``evidence``) and the failing step, so ``pullfix classify -o
table`` can show why.
"""

from __future__ import annotations

import re

from pydantic import Field

from tasks import classify_extract as x
from tasks.classify_rules import BY_NAME, RULES, UNKNOWN, Rule
from tasks.contract import Category, Classification

TRANSIENT = {"registry_error", "connection", "rate_limited"}
_EVENT_REASONS = {"errimageneverpull": BY_NAME["never_pull"],
                  "invalidimagename": BY_NAME["invalid_reference"]}
_EVIDENCE_MAX = 160


class Classified(Classification):
    """A :class:`Classification` that also says why. The extra fields stay out of
    ``model_dump`` (the stable contract other code serialises); the CLI asks for them."""

    rule: str = Field(default="", exclude=True)  # the rule that decided, e.g. "anonymous_token_401"
    evidence: str = Field(default="", exclude=True)  # the part of the message the rule read
    step: str | None = Field(default=None, exclude=True)  # resolve | dial | tls | authorize | ...

    def explanation(self) -> dict[str, str | None]:
        return {"rule": self.rule, "evidence": self.evidence, "step": self.step}


def _match(err: str) -> tuple[Rule, str] | None:
    for r in RULES:
        m = r.pattern.search(err)
        if m:
            return r, m.group(0)
    return None


def _evidence(text: str, matched: str) -> str:
    """The matched words with a little context, never more than a line of a table."""
    i = text.find(matched)
    if len(matched) >= _EVIDENCE_MAX:  # keep both ends: what was asked and what came back
        half = _EVIDENCE_MAX // 2 - 2
        return matched[:half].rstrip() + " … " + matched[-half:].lstrip()
    if i < 0:
        return matched
    pad = (_EVIDENCE_MAX - len(matched)) // 2
    lo, hi = max(0, i - pad), min(len(text), i + len(matched) + pad)
    return ("…" if lo else "") + text[lo:hi].strip() + ("…" if hi < len(text) else "")


def classify(message: str, event_reason: str | None = None) -> Classified:
    """The classifier's reading of one kubelet event / container status message."""
    text = message.strip()
    errors = x.errors_of(text)
    hit: tuple[Rule, str] | None = None
    # the kubelet's own verdict (ErrImageNeverPull, InvalidImageName) needs no reading
    verdict = _EVENT_REASONS.get((event_reason or "").lower())
    decided_in = text
    if verdict is not None:
        hit = (verdict, event_reason or "")
    for err in errors if hit is None else ():  # else the first error that says anything decides
        hit = _match(err)
        if hit:
            decided_in = err
            break
    hit = hit or _match(text) or (UNKNOWN, "")
    r, matched = hit
    image = x.image_of(text)
    host = x.registry_host(text, image)
    category, subcause, name = r.category, r.subcause, r.name
    confidence, ambiguous, reason = r.confidence, r.ambiguous, r.reason
    if r.name == "nxdomain":
        looked_up = x.lookup_host(decided_in) or host
        if x.public_registry(looked_up) and not _azure_registry(looked_up, ""):
            # a public registry's name always resolves: NXDOMAIN for it is the resolver failing
            category, subcause, name, confidence = Category.OTHER, "dns", "nxdomain_public_registry", 0.8
            reason = f"{looked_up} always resolves: the node's DNS resolver gave a wrong answer"
        elif _azure_registry(host, text):
            # an Azure registry behind a private endpoint answers NXDOMAIN when the private DNS zone
            # lacks its record — the same text as a typo in the login server
            confidence, ambiguous = 0.6, True
            reason += ", or a private DNS zone without the registry's record"
    if category is Category.UNAUTHORIZED and ambiguous and _ecr(host, text):
        # ECR has no anonymous fallback for private repositories: a 401 is always about credentials
        name, confidence, ambiguous = r.name + "_ecr", 0.8, False
        reason = "ECR answers 401 only when credentials are missing, expired or refused"
    if re.search(r"\bEOF\b", text) and re.search(r"\b401\b|unauthorized", text, re.I):
        # an egress firewall cuts the connection (EOF) and the anonymous fallback then gets 401
        confidence, ambiguous = min(confidence, 0.45), True
        reason += "; EOF with 401 also fits an egress firewall cutting the connection"
    others = {o[0] for o in (_match(e) for e in errors[1:]) if o and o[0].category is not category}
    if others:  # the credentials tried disagree: the first error usually matters, not always
        confidence = round(max(confidence - 0.1, 0.05), 2)
        if category is Category.TIMEOUT or subcause in TRANSIENT:
            # a hiccup on one attempt next to a definite answer on another: either may be it
            confidence, ambiguous = min(confidence, 0.5), True
            reason += f"; another credential got: {sorted(o.reason for o in others)[0]}"
    return Classified(
        category=category, subcause=subcause, confidence=confidence, ambiguous=ambiguous,
        image=image, registry_host=host, http_status=x.http_status(errors),
        credentials_sent=x.credentials_sent(errors), runtime=x.runtime_of(text), reason=reason,
        rule=name, evidence=_evidence(text, matched) if matched else "", step=x.step_of(decided_in))


def _azure_registry(host: str | None, text: str) -> bool:
    return bool(host and ".azurecr." in host) or bool(re.search(r"\.azurecr\.", text))


def _ecr(host: str | None, text: str) -> bool:
    return bool(re.search(r"\.dkr\.ecr\.[\w-]+\.amazonaws\.com", host or text))
