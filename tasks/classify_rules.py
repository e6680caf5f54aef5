"""The classifier's rule table: named, ordered, each reading one layer of a pull error's
structure.

A pull error is a stack of wrappers around one failure: the kubelet's own verdicts, then what the
registry answered (its OCI distribution error code — ``UNAUTHORIZED``, ``DENIED``,
``MANIFEST_UNKNOWN``, ``NAME_UNKNOWN``, ``TOOMANYREQUESTS`` … — and its HTTP status), then the
network (resolve, dial, TLS). Registries word the same code differently ("denied: access
forbidden", "denied: Permission … denied on resource", "denied: denied"), so rules key on the code
and the status rather than on one registry's phrase, and an unseen registry's wording still lands.

Order matters: the first rule that matches an error wins. Specific answers come before generic
ones (a 5xx before the 401 a fallback credential got; a DNS lookup that timed out is DNS, not a
timeout; a platform miss is reported as ``not found`` by containerd, but it is a platform miss).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tasks.contract import Category

U, NF, FB, TO, PM, OT = (Category.UNAUTHORIZED, Category.NOT_FOUND, Category.FORBIDDEN,
                        Category.TIMEOUT, Category.PLATFORM_MISMATCH, Category.OTHER)


@dataclass(frozen=True)
class Rule:
    name: str
    pattern: re.Pattern[str]
    category: Category
    subcause: str | None
    confidence: float
    reason: str
    ambiguous: bool = False


def rule(name: str, regex: str, category: Category, subcause: str | None, confidence: float,
         reason: str, ambiguous: bool = False) -> Rule:
    return Rule(name, re.compile(regex, re.I), category, subcause, confidence, reason, ambiguous)


# an HTTP status as runtimes print it: "401 Unauthorized", "status: 403", "403 (Forbidden)",
# "unexpected status code 404", "StatusCode: 404", "Status 429 trying to pull"
def _status(codes: str) -> str:
    return (rf"(?:\b(?:{codes})\b(?=\s*(?:[A-Z(:\-]|$))"
            rf"|(?:status(?: code)?|StatusCode|HTTP)[:=]?\s*(?:{codes})\b"
            rf"|error parsing HTTP (?:{codes}) response body)")


RULES: tuple[Rule, ...] = (
    # -- the kubelet's own verdicts: nothing was asked of a registry -----------------------------
    rule("never_pull", r"ErrImageNeverPull|is not present with pull policy of Never", OT, "never_pull", 0.95,
         "imagePullPolicy: Never and the image is not on the node"),
    rule("invalid_reference",
         r"InvalidImageName|invalid reference format|couldn't parse image (?:name|reference)|"
         r"repository name (?:component )?must match|short-name resolution enforced|"
         r"no registries configured while trying to pull an unqualified image",
         OT, "invalid_reference", 0.95, "the image reference does not parse or names no registry"),
    rule("pull_qps", r"pull QPS exceeded", OT, "pull_qps", 0.95, "the kubelet's registryPullQPS limit"),
    rule("disk_full", r"no space left on device", OT, "disk", 0.9, "the node's image filesystem is full"),
    rule("disk_io", r"(?:register|extract) layer.{0,300}input/output error", OT, "disk", 0.5,
         "unpacking a layer hit an I/O error: a full or failing image filesystem", True),
    # -- the registry answered: its error code or wording -----------------------------------------
    rule("rate_limited", r"toomanyrequests|Too Many Requests|Rate exceeded|" + _status("429"), OT,
         "rate_limited", 0.9, "the registry rate-limits pulls (429 / TOOMANYREQUESTS)"),
    rule("platform",
         r"no match(?:ing)?(?: manifest)? for (?:current )?platform|no matching manifest|"
         r"choosing image instance|no image found in (?:manifest list|image index)|could not find platform|"
         r"cannot be used on this platform|does not match the specified platform",
         PM, None, 0.9, "the image has no manifest for the node's OS/architecture"),
    rule("acr_firewall", r"client with IP .{0,60}is not allowed access|aka\.ms/acr/firewall", FB, None, 0.9,
         "the registry's firewall refuses the node's egress address"),
    rule("storage_authorization", r"AuthorizationFailure|not authorized to perform this operation", FB,
         None, 0.85, "Azure Storage (the registry's data endpoint) refused the request (403)"),
    rule("token_expired", r"(?:authorization|auth) token has expired", U, None, 0.9,
         "the registry token the client holds has expired"),
    rule("no_credentials", r"no basic auth credentials", U, None, 0.85,
         "the registry requires credentials and none were configured for it"),
    rule("credentials_refused",
         r"incorrect username or password|invalid username/password|Application not registered with AAD|"
         r"cannot be authenticated with the token provided|Please login to the .{0,30}Registry|"
         r"unauthorized: Not Authorized",
         U, None, 0.9, "the registry refused the credentials that were sent"),
    rule("permission_or_credentials", r"You don't have the needed permissions.{0,80}invalid credentials|"
         r"client does not have permission for", U,
         None, 0.8, "the registry refused the caller: no pull permission or invalid credentials (401)"),
    rule("unauthenticated", r"Unauthenticated requests do not have permission", U, None, 0.85,
         "the registry refused an anonymous request: credentials are needed"),
    # the daemon passes the registry's 404 through its own API status: a definite "no such image"
    rule("daemon_404", r"API error \(404\)|\(HTTP code 404\)", NF, None, 0.8,
         "the daemon answered 404: the registry has no such repository or tag"),
    # docker Hub's wording for a repository that does not exist *or* needs a login
    rule("hub_pull_access_denied",
         r"pull access denied|requested access to the resource is denied|repository does not exist or may "
         r"require|does not exist or no pull access",
         NF, None, 0.6, "the repository does not exist or needs credentials", True),
    rule("denied_or_missing", r"or (?:the resource |it )?may not exist", FB, None, 0.6,
         "the registry denied access to a resource that may not exist (403)", True),
    rule("denied_no_detail", r"\bdenied: denied\b|\bdenied\s*$", FB, None, 0.55,
         "the registry said DENIED with no detail: stale or missing credentials, or no permission", True),
    rule("registry_denied", r"\bdenied: |\bDENIED\b", FB, None, 0.75,
         "the registry's DENIED code (403): the identity may not pull this repository"),
    rule("http_403", _status("403") + r"|(?<![\w-])Forbidden\b", FB, None, 0.8,
         "the registry answered 403 Forbidden (network rules, private endpoint DNS, or policy)"),
    rule("registry_5xx",
         r"\b50[0-4]\b\s*\(?(?:Internal Server Error|Not Implemented|Bad Gateway|Service Unavailable|"
         r"Gateway Timeout|Server Error)|"
         r"(?:received unexpected HTTP status|invalid status code from registry)[:]?\s*5\d\d|"
         r"\b400 Bad Request\b",
         OT, "registry_error", 0.85, "the registry (or a proxy in front of it) failed"),
    # -- the network ---------------------------------------------------------------------------------
    # before timeouts: a lookup that timed out is a resolver problem
    rule("dns_failure",
         r"server misbehaving|SERVFAIL|Temporary failure in name resolution|"
         r"lookup \S+(?: on \S+)?: (?:read udp|dial udp)|lookup \S+: device or resource busy"
         r"|lookup \S+ on \S+: .{0,40}i/o timeout|dial tcp: lookup [^\s:]+\s*$", OT, "dns", 0.85,
         "the DNS resolver failed (not an answer that the name does not exist)"),
    rule("nxdomain", r"no such host|NXDOMAIN", NF, None, 0.8,
         "the registry host does not resolve (NXDOMAIN): a misspelled login server"),
    rule("tls", r"x509:|certificate signed by unknown authority|certificate has expired|"
         r"tls: failed to verify|server gave HTTP response to HTTPS client", OT, "tls", 0.9,
         "TLS with the registry failed (untrusted or mismatched certificate, or plain HTTP)"),
    rule("timeout",
         r"TLS handshake timeout|i/o timeout|context deadline exceeded|DeadlineExceeded|"
         r"Client\.Timeout exceeded|connection timed out|code = 4 desc|"
         r"connected party did not properly respond|\betimed?out\b|waiting for connection|no progress in \d",
         TO, None, 0.85, "the registry did not answer in time (route, NSG, firewall or appliance drops)"),
    rule("canceled", r"context canceled|request canceled|code = Canceled", TO, None, 0.55,
         "the pull was cancelled before it finished (a deadline, or the kubelet gave up)", True),
    rule("connection",
         r"connection refused|connection reset by peer|actively refused|No connection could be made|"
         r"no route to host|unexpected EOF",
         OT, "connection", 0.8, "the connection to the registry was refused, reset or cut"),
    # -- credentials ---------------------------------------------------------------------------------
    rule("oauth_token_401", r"(?:oauth token|POST request to)[^,]{0,300}?\b401\b", U, None, 0.9,
         "credentials were sent and the registry refused them (401)"),
    rule("anonymous_token_401", r"anonymous token[^,]{0,300}?\b401\b", U, None, 0.55,
         "no credential worked, the anonymous fallback got 401: a missing pull role, missing credentials, "
         "or a repository that does not exist read the same", True),
    rule("insufficient_scope", r"insufficient_scope|does not match bearer token", U, None, 0.55,
         "the token does not cover this repository: no permission, or a repository that does not exist",
         True),
    rule("unauthorized",
         r"\b401\b|unauthorized|authentication required|authentication is required|is not authorized|"
         r"not authorized",
         U, None, 0.6, "401 without proof that credentials were sent: a wrong name reads the same", True),
    # -- the image is not there -------------------------------------------------------------------
    # kubelets ≤ 1.5 hedged their own "not found" (dockertools): the kubelet says it cannot tell
    rule("kubelet_no_credentials_hint", r"may be because there are no credentials on this request", NF, None,
         0.6, "the kubelet pulled without credentials: not found, or hidden from an anonymous pull", True),
    rule("manifest_unknown",
         r"manifest[ _]unknown|manifest for \S+ not found|name[ _]unknown|blob[ _]unknown|image not found|"
         r"\bimage \S+ not found|repository \S+ not found|artifact \S+ not found|Repository not found|"
         r"repository name not known|: not found\s*$|not found: not found",
         NF, None, 0.85, "the registry has no such repository or tag (MANIFEST_UNKNOWN / NAME_UNKNOWN)"),
    rule("http_404", _status("404"), NF, None, 0.75, "the registry answered 404 Not Found"),
    rule("not_found", r"\bnot found\b|code = NotFound|code = 5 desc", NF, None, 0.65,
         "the runtime reports NotFound"),
    rule("eof", r"\bEOF\b", OT, "connection", 0.6, "the connection closed mid-request (EOF)"),
)

BY_NAME = {r.name: r for r in RULES}
UNKNOWN = Rule("unknown", re.compile(""), OT, "unknown", 0.1, "no known pull-error wording", True)
