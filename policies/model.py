"""The policy file's models: the single source of truth for what a policy may say.

Every model is frozen and rejects unknown keys, so a typo fails loudly instead of silently
falling back to a default. Custom checks raise ``PydanticCustomError`` with a message that
names the valid choices, and put the offending key path (relative to the field) in the
error's context as ``path`` so the loader (``policies/load.py``) can point at the line.
The JSON Schema (``policies/schema.py``) is generated from these models, fix names included.
"""

from __future__ import annotations

import re
import zoneinfo
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from tasks.fix import Risk, fix_risks

# the contract with tasks/fixes/: every registered fix's name and risk, read from the classes
FIX_RISKS: dict[str, Risk] = fix_risks()
FIX_NAMES: tuple[str, ...] = tuple(FIX_RISKS)
DAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

RuleDecision = Literal["auto", "sign-off", "deny"]
Mode = Literal["plan", "apply"]


class PolicyError(ValueError):
    """A policy file that cannot be used; ``str()`` is one line per problem, each naming the file."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = tuple(problems)
        super().__init__("\n".join(f"{source}: {p}" for p in problems))


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# --- durations ("30m", "4h", "1h30m", "2d") ---------------------------------------------------
_DURATION = re.compile(r"^(?=\d)(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
_DURATION_PATTERN = r"^(?=\d)(\d+d)?(\d+h)?(\d+m)?(\d+s)?$"


def duration_seconds(text: str) -> int:
    m = _DURATION.match(text)
    if not m:
        raise ValueError(text)
    d, h, mi, s = (int(g or 0) for g in m.groups())
    return ((d * 24 + h) * 60 + mi) * 60 + s


MAX_DURATION = "30d"  # a sign-off nobody answers in a month will not be answered; longer overflows clocks


def _short(text: str) -> str:
    return text if len(text) <= 40 else text[:39] + "…"


def _check_duration(text: str) -> str:
    try:
        seconds = duration_seconds(text)
    except ValueError:  # also a number too long to be one (Python's int digit limit)
        seconds = -1
    if seconds <= 0:
        raise PydanticCustomError(
            "bad_duration", "bad duration '{value}'; use a positive number with units d, h, m, s "
            "(e.g. 30m, 4h, 1h30m, 2d)", {"value": _short(text)})
    if seconds > duration_seconds(MAX_DURATION):
        raise PydanticCustomError(
            "duration_too_long", "duration '{value}' is longer than the limit of {limit}; use at most "
            "{limit} (e.g. 4h, 2d)", {"value": _short(text), "limit": MAX_DURATION})
    return text


Duration = Annotated[str, AfterValidator(_check_duration), WithJsonSchema(
    {"type": "string", "pattern": _DURATION_PATTERN, "examples": ["30m", "4h", "1h30m", "2d"]})]


# --- approvers (Entra users and groups) -------------------------------------------------------
_GUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_UPN = r"[^@\s:]+@[^@\s]+\.[^@\s.]+"
_APPROVER_PATTERN = rf"^(user:({_UPN}|{_GUID})|group:\S(.*\S)?)$"
_APPROVER = re.compile(_APPROVER_PATTERN)


def _check_approver(text: str) -> str:
    if not _APPROVER.match(text):
        raise PydanticCustomError(
            "bad_approver", "bad approver '{value}'; use user:<upn or object id> or "
            "group:<name or object id>", {"value": text})
    return text


Approver = Annotated[str, AfterValidator(_check_approver), WithJsonSchema(
    {"type": "string", "pattern": _APPROVER_PATTERN,
     "examples": ["user:alice@contoso.com", "group:aks-approvers"]})]


# --- fix names: the contract with the fix registry (tasks/fixes/) ------------------------------------------
def _check_fix_name(name: str) -> str:
    if name not in FIX_RISKS:
        raise PydanticCustomError("unknown_fix", "unknown fix '{value}'; valid: {valid}",
                                  {"value": name, "valid": ", ".join(FIX_NAMES)})
    return name


FixName = Annotated[str, AfterValidator(_check_fix_name), WithJsonSchema(
    {"type": "string", "enum": list(FIX_NAMES)})]


class FixRule(_Model):
    """What a policy says about one fix; an unset field inherits from ``defaults``."""

    decision: RuleDecision | None = Field(None, description="auto | sign-off | deny")
    approvers: tuple[Approver, ...] | None = Field(
        None, description="Entra users/groups allowed to sign off (user:<upn|id>, group:<name|id>)")
    approval_timeout: Duration | None = Field(None, description="how long a sign-off waits, e.g. 4h")

    @model_validator(mode="after")
    def _signoff_has_approvers(self) -> FixRule:
        _check_named_approvers(self.decision, self.approvers)
        return self


def _check_named_approvers(decision: str | None, approvers: tuple[str, ...] | None) -> None:
    """``approvers: []`` written next to ``sign-off``: nobody could ever approve."""
    if decision == "sign-off" and approvers == ():
        raise PydanticCustomError(
            "no_approvers", "empty approvers for a sign-off, so nobody can approve it; name at least "
            "one user:<upn or object id> or group:<name or object id>", {"path": ("approvers",)})


def _no_high_risk_auto(rules: dict[str, FixRule]) -> dict[str, FixRule]:
    for name, rule in rules.items():
        if rule.decision == "auto" and FIX_RISKS.get(name) == Risk.HIGH:
            raise PydanticCustomError(
                "high_risk_auto", "'{fix}' is high risk and can never be auto; valid: sign-off, deny",
                {"fix": name, "path": (name, "decision")})
    return rules


FixRules = Annotated[dict[FixName, FixRule], AfterValidator(_no_high_risk_auto)]


class Defaults(_Model):
    decision: RuleDecision = Field("sign-off", description="for fixes without their own rule; a high-risk "
                               "fix is never auto, whatever this says (it becomes sign-off)")
    approval_timeout: Duration = "1h"
    approvers: tuple[Approver, ...] = ()

    @model_validator(mode="after")
    def _signoff_has_approvers(self) -> Defaults:
        if "approvers" in self.model_fields_set:
            _check_named_approvers(self.decision, self.approvers)
        return self


class Scope(_Model):
    """Which clusters a policy (or an override) governs; every non-empty field must match."""

    subscriptions: tuple[str, ...] = Field((), description="subscription ids or display names")
    resource_groups: tuple[str, ...] = ()
    cluster_tags: dict[str, str] = Field({}, description="all must match, e.g. {env: prod}")

    def is_empty(self) -> bool:
        return not (self.subscriptions or self.resource_groups or self.cluster_tags)


# --- maintenance windows ----------------------------------------------------------------------
_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$|^24:00$")
_TIME_PATTERN = r"^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$"


def _check_time(text: str) -> str:
    if not _TIME.match(text):
        raise PydanticCustomError("bad_time", "bad time '{value}'; use HH:MM, 00:00 to 24:00",
                                  {"value": text})
    return text


Time = Annotated[str, AfterValidator(_check_time), WithJsonSchema(
    {"type": "string", "pattern": _TIME_PATTERN, "examples": ["02:00"]})]


def _check_day(text: str) -> str:
    if text not in DAYS:
        raise PydanticCustomError("unknown_day", "unknown day '{value}'; valid: {valid}",
                                  {"value": text, "valid": ", ".join(DAYS)})
    return text


Day = Annotated[str, AfterValidator(_check_day), WithJsonSchema({"type": "string", "enum": list(DAYS)})]


def minutes(hhmm: str) -> int:
    h, m = hhmm.split(":")
    return int(h) * 60 + int(m)


class Window(_Model):
    days: tuple[Day, ...] = Field(min_length=1)
    start: Time
    end: Time
    timezone: str = Field("UTC", description="IANA name, e.g. UTC, Europe/Amsterdam")
    decisions: tuple[Literal["auto", "sign-off"], ...] = Field(
        ("auto", "sign-off"), min_length=1,
        description="which decisions this window constrains; a decision no window names may "
                    "write at any time")

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, tz: str) -> str:
        try:
            zoneinfo.ZoneInfo(tz)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise PydanticCustomError(
                "unknown_timezone", "unknown timezone '{value}'; use an IANA name such as UTC, "
                "Europe/Amsterdam or America/New_York", {"value": tz}) from None
        return tz

    @model_validator(mode="after")
    def _start_before_end(self) -> Window:
        if minutes(self.start) >= minutes(self.end):
            raise PydanticCustomError(
                "window_order", "window start {start} is not before end {end}; split a window that "
                "crosses midnight into two", {"start": self.start, "end": self.end, "path": ("start",)})
        return self


class Limits(_Model):
    """Blast-radius caps, counted in planned changes; unset means no cap."""

    max_changes_per_run: StrictInt | None = Field(None, ge=1)
    max_changes_per_sweep: StrictInt | None = Field(None, ge=1)


class Verification(_Model):
    """How a remediation judges its fixes and how long it waits for Azure."""

    fix_checks: Duration = Field(
        "5m", description="how long a fix's own checks may take to pass on fresh reads before "
                          "it is rolled back (ARM read-after-write, LROs)")
    propagation: Duration = Field(
        "20m", description="how long to wait for Azure to honour changes that propagate (role "
                           "assignments: up to 10 minutes, sometimes more; DNS links; new "
                           "credentials) before reporting the cluster partly healed; such a "
                           "change is never undone while it propagates")
    max_passes: StrictInt = Field(
        4, ge=1, le=10, description="diagnose → fix passes per cluster (one cause can hide "
                                    "another: a 403 hides a 401)")


class Override(_Model):
    """A scoped exception: for clusters matching ``match``, these fix rules win."""

    match: Scope
    fixes: FixRules


_State = tuple[str, bool]  # (decision, approvers empty)
_Where = tuple[str | int, ...]


def _merge(state: _State, at: _Where, rule: FixRule, where: _Where) -> tuple[_State, _Where]:
    decision, empty = state
    nxt = (rule.decision or decision, empty if rule.approvers is None else not rule.approvers)
    return nxt, where if nxt != state else at


def _unapprovable(policy: Policy) -> tuple[list[str], _Where]:
    """The fixes that some cluster would send to a sign-off nobody may give (no approvers after
    defaults <- fixes <- matching overrides, merged the way ``decide()`` merges them), and the
    place of the first. Any subset of the overrides may match a cluster, so every reachable
    (decision, approvers empty) state is followed: at most six per fix, however many overrides."""
    found: list[str] = []
    first: _Where = ("defaults",)
    for fix, risk in FIX_RISKS.items():
        state: _State = (policy.defaults.decision, not policy.defaults.approvers)
        at: _Where = ("defaults",)
        if fix in policy.fixes:
            state, at = _merge(state, at, policy.fixes[fix], ("fixes", fix))
        states = {state: at}
        for i, ov in enumerate(policy.overrides):
            if fix in ov.fixes:
                for st, where in list(states.items()):
                    nxt, nat = _merge(st, where, ov.fixes[fix], ("overrides", i, "fixes", fix))
                    states.setdefault(nxt, nat)
        for (decision, empty), where in states.items():
            if empty and (decision == "sign-off" or (decision == "auto" and risk == Risk.HIGH)):
                first = first if found else where
                found.append(fix)
                break
    return found, first


class Policy(_Model):
    version: Literal[1]
    mode: Mode = Field("plan", description="plan: decide and report, change nothing; apply: write")
    defaults: Defaults = Defaults()
    fixes: FixRules = Field({}, description="per fix name: decision, approvers, approval_timeout")
    scope: Scope = Field(Scope(), description="which clusters this policy governs (empty = all)")
    maintenance_windows: tuple[Window, ...] = Field(
        (), description="writes only inside one of these (none = always)")
    limits: Limits = Limits()
    verification: Verification = Verification()
    allow_unauthenticated_ui_approvals: StrictBool = Field(
        False, description="accept approvals from the Prefect UI form, which carry no identity")
    overrides: tuple[Override, ...] = Field((), description="scoped exceptions, applied in order")

    @model_validator(mode="after")
    def _every_signoff_has_approvers(self) -> Policy:
        # plan mode asks nobody, and an unauthenticated UI approval is not checked against approvers
        if self.mode == "apply" and not self.allow_unauthenticated_ui_approvals:
            fixes, where = _unapprovable(self)
            if fixes:
                named = "every fix" if len(fixes) == len(FIX_RISKS) else ", ".join(f"'{f}'" for f in fixes)
                raise PydanticCustomError(
                    "no_approvers", "{fixes}: sign-off with no approvers, so nobody can approve it; add "
                    "approvers (user:<upn or object id> or group:<name or object id>) to defaults or to "
                    "the fix's rule", {"fixes": named, "path": where})
        return self


def load_policy(path: str | Path) -> Policy:
    """Read and validate a policy file (see ``policies/load.py``); raises :class:`PolicyError`."""
    from policies.load import load_policy as load

    return load(path)


def parse_policy(text: str, source: str = "<policy>") -> Policy:
    from policies.load import parse_policy as parse

    return parse(text, source)
