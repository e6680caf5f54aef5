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
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tasks import classify_extract as x
from tasks.contract import Category, Classification

U, NF, FB, TO, PM, OT = (Category.UNAUTHORIZED, Category.NOT_FOUND, Category.FORBIDDEN,
                        Category.TIMEOUT, Category.PLATFORM_MISMATCH, Category.OTHER)


@dataclass(frozen=True)
class Rule:
    pattern: re.Pattern[str]
    category: Category
    subcause: str | None
    confidence: float
    reason: str
    ambiguous: bool = False


def rule(regex: str, category: Category, subcause: str | None, confidence: float, reason: str,
         ambiguous: bool = False) -> Rule:
    return Rule(re.compile(regex, re.I), category, subcause, confidence, reason, ambiguous)


# Order matters: the first rule that matches an error wins.
RULES: tuple[Rule, ...] = (
    # -- the kubelet's own verdicts: nothing was asked of a registry ---------------------------
    rule(r"ErrImageNeverPull|is not present with pull policy of Never", OT, "never_pull", 0.95,
         "imagePullPolicy: Never and the image is not on the node"),
    rule(r"InvalidImageName|invalid reference format|couldn't parse image (?:name|reference)",
         OT, "invalid_reference", 0.95, "the image reference does not parse"),
    rule(r"pull QPS exceeded", OT, "pull_qps", 0.95, "the kubelet's registryPullQPS limit"),
    rule(r"no space left on device", OT, "disk", 0.9, "the node's image filesystem is full"),
    # -- the registry answered ------------------------------------------------------------------
    rule(r"toomanyrequests|429 Too Many Requests|Too Many Requests", OT, "rate_limited", 0.9,
         "the registry rate-limits pulls (429)"),
    rule(r"no matching manifest for|no match for platform in manifest", PM, None, 0.9,
         "the image has no manifest for the node's OS/architecture"),
    rule(r"client with IP .{0,60}is not allowed access|aka\.ms/acr/firewall", FB, None, 0.9,
         "the registry's firewall refuses the node's egress address"),
    rule(r"AuthorizationFailure|not authorized to perform this operation", FB, None, 0.85,
         "Azure Storage (the registry's data endpoint) refused the request (403)"),
    rule(r"error parsing HTTP 403 response body|403 Forbidden|\b403\b.{0,40}denied", FB, None, 0.8,
         "the registry answered 403 Forbidden (network rules, private endpoint DNS, or policy)"),
    rule(r"\b50[0-4]\b\s*(?:Internal Server Error|Not Implemented|Bad Gateway|Service Unavailable|"
         r"Gateway Timeout)|received unexpected HTTP status: 5\d\d", OT, "registry_error", 0.85,
         "the registry failed (5xx)"),
    # -- the network -----------------------------------------------------------------------------
    # before timeouts: a lookup that timed out is a resolver problem
    rule(r"server misbehaving|SERVFAIL|Temporary failure in name resolution|"
         r"lookup \S+(?: on \S+)?: (?:read udp|dial udp)|lookup \S+: device or resource busy"
         r"|lookup \S+ on \S+: .{0,40}i/o timeout", OT, "dns", 0.85,
         "the DNS resolver failed (not an answer that the name does not exist)"),
    rule(r"no such host|NXDOMAIN", NF, None, 0.8,
         "the registry host does not resolve (NXDOMAIN): a misspelled login server"),
    rule(r"x509:|certificate signed by unknown authority|certificate has expired|"
         r"tls: failed to verify", OT, "tls", 0.9, "the registry's TLS certificate is not trusted"),
    rule(r"TLS handshake timeout|i/o timeout|context deadline exceeded|DeadlineExceeded|"
         r"Client\.Timeout exceeded|connection timed out|code = 4 desc|"
         r"connected party did not properly respond", TO, None, 0.85,
         "the registry did not answer in time (route, NSG, firewall or appliance drops)"),
    rule(r"context canceled|request canceled|code = Canceled", TO, None, 0.55,
         "the pull was cancelled before it finished (a deadline, or the kubelet gave up)", True),
    rule(r"connection refused|connection reset by peer|actively refused|No connection could be made",
         OT, "connection", 0.8, "the connection to the registry was refused or reset"),
    # -- credentials -----------------------------------------------------------------------------
    rule(r"incorrect username or password|invalid username/password|"
         r"Application not registered with AAD", U, None, 0.9,
         "the registry refused the credentials that were sent"),
    rule(r"(?:oauth token|POST request to)[^,]{0,300}?\b401\b", U, None, 0.9,
         "credentials were sent and the registry refused them (401)"),
    rule(r"anonymous token[^,]{0,300}?\b401\b", U, None, 0.55,
         "no credential worked, the anonymous fallback got 401: a missing pull role, missing "
         "credentials, or a repository that does not exist read the same", True),
    # docker Hub's wording for a repository that does not exist *or* needs a login
    rule(r"pull access denied|requested access to the resource is denied|"
         r"repository does not exist or may require", NF, None, 0.6,
         "the repository does not exist or needs credentials", True),
    rule(r"\b401\b|unauthorized|authentication required", U, None, 0.6,
         "401 without proof that credentials were sent: a wrong name reads the same", True),
    # -- the image is not there ----------------------------------------------------------------
    rule(r"manifest unknown|manifest for \S+ not found|name unknown|image not found|"
         r"repository \S+ not found|: not found\s*$|not found: not found", NF, None, 0.85,
         "the registry has no such repository or tag"),
    rule(r"\bnot found\b|code = NotFound|code = 5 desc", NF, None, 0.65,
         "the runtime reports NotFound"),
    rule(r"\bEOF\b", OT, "connection", 0.6, "the connection closed mid-request (EOF)"),
)

NXDOMAIN = next(r for r in RULES if "no such host" in r.pattern.pattern)
TRANSIENT = {"registry_error", "connection", "rate_limited"}
_EVENT_REASONS = {
    "errimageneverpull": RULES[0],
    "invalidimagename": RULES[1],
}
UNKNOWN = Rule(re.compile(""), OT, "unknown", 0.1, "no known pull-error wording", True)


def _match(err: str) -> Rule | None:
    return next((r for r in RULES if r.pattern.search(err)), None)


def classify(message: str, event_reason: str | None = None) -> Classification:
    """The classifier's reading of one kubelet event / container status message."""
    text = message.strip()
    errors = x.errors_of(text)
    # the kubelet's own verdict (ErrImageNeverPull, InvalidImageName) needs no reading
    hit = _EVENT_REASONS.get((event_reason or "").lower())
    for err in errors if hit is None else ():  # else the first error that says anything decides
        hit = _match(err)
        if hit:
            break
    hit = hit or _match(text) or UNKNOWN
    image = x.image_of(text)
    host = x.registry_host(text, image)
    confidence, ambiguous, reason = hit.confidence, hit.ambiguous, hit.reason
    if hit is NXDOMAIN and _azure_registry(host, text):
        # an Azure registry behind a private endpoint answers NXDOMAIN when the private DNS zone
        # lacks its record — the same text as a typo in the login server
        confidence, ambiguous = 0.6, True
        reason += ", or a private DNS zone without the registry's record"
    if re.search(r"\bEOF\b", text) and re.search(r"\b401\b|unauthorized", text, re.I):
        # an egress firewall cuts the connection (EOF) and the anonymous fallback then gets 401
        confidence, ambiguous = min(confidence, 0.45), True
        reason += "; EOF with 401 also fits an egress firewall cutting the connection"
    others = {r for r in (_match(e) for e in errors[1:]) if r and r.category is not hit.category}
    if others:  # the credentials tried disagree: the first error usually matters, not always
        confidence = round(max(confidence - 0.1, 0.05), 2)
        if hit.category is TO or hit.subcause in TRANSIENT:
            # a hiccup on one attempt next to a definite answer on another: either may be it
            confidence, ambiguous = min(confidence, 0.5), True
            reason += f"; another credential got: {sorted(r.reason for r in others)[0]}"
    return Classification(
        category=hit.category, subcause=hit.subcause, confidence=confidence, ambiguous=ambiguous,
        image=image, registry_host=host, http_status=x.http_status(errors),
        credentials_sent=x.credentials_sent(errors), runtime=x.runtime_of(text), reason=reason)


def _azure_registry(host: str | None, text: str) -> bool:
    return bool(host and ".azurecr." in host) or bool(re.search(r"\.azurecr\.", text))
