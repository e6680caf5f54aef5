"""Policies: the shipped files are valid and respect the risk rule; every kind of mistake in a
policy file is refused with a message naming the file, the place and the valid choices;
``decide()`` is table-tested; the committed JSON Schema matches the models; the real
``pullfix policy`` command answers with the right exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from pydantic import ValidationError

from policies import PolicyError, decide, load_policy, parse_policy
from policies.model import Policy
from policies.schema import REGENERATE, SCHEMA_FILE, generate_schema, render_schema
from tasks.contract import ClusterRef
from tasks.fix import Change, FixPlan, Risk, fix_risks

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = sorted((ROOT / "policies").glob("*.yaml"))
HIGH = sorted(n for n, r in fix_risks().items() if r == Risk.HIGH)


def load_text(tmp_path: Path, text: str) -> Policy:
    f = tmp_path / "p.yaml"
    f.write_text(textwrap.dedent(text))
    return load_policy(f)


def problems_of(tmp_path: Path, text: str) -> str:
    with pytest.raises(PolicyError) as info:
        load_text(tmp_path, text)
    return str(info.value)


# ---------------------------------------------------------------- the shipped policies

def test_three_policies_ship() -> None:
    assert [p.name for p in SHIPPED] == ["default.yaml", "nonprod.yaml", "prod.yaml"]


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_policy_is_valid_names_every_fix_and_never_auto_on_high_risk(path: Path) -> None:
    # given a shipped policy
    policy = load_policy(path)
    # then it decides every catalogued fix explicitly (a conscious choice, not a default) ...
    assert set(policy.fixes) == set(fix_risks())
    # ... and no rule, overrides included, makes a high-risk fix auto
    rules = [policy.fixes, *(o.fixes for o in policy.overrides)]
    for rules_ in rules:
        for name, rule in rules_.items():
            assert not (fix_risks()[name] == Risk.HIGH and rule.decision == "auto"), (path.name, name)
    assert policy.allow_unauthenticated_ui_approvals is False
    assert policy.limits.max_changes_per_run and policy.limits.max_changes_per_sweep
    # and an editor using the committed schema agrees
    jsonschema.validate(yaml.safe_load(path.read_text()), json.loads(SCHEMA_FILE.read_text()))


def decisions(name: str) -> dict[str, str | None]:
    return {fix: rule.decision for fix, rule in load_policy(ROOT / "policies" / name).fixes.items()}


def test_default_is_conservative() -> None:
    d = decisions("default.yaml")
    auto = {f for f, v in d.items() if v == "auto"}
    assert auto == {"grant-pull-role", "link-private-dns-zone", "restart-failing-pods"}
    assert {f for f, v in d.items() if v == "deny"} == {"correct-image-reference", "enable-selected-networks"}
    assert all(d[f] == "sign-off" for f, r in fix_risks().items() if r == Risk.MEDIUM)
    default = load_policy(ROOT / "policies" / "default.yaml")
    assert default.scope.is_empty()
    assert default.mode == "apply"


def test_nonprod_auto_applies_medium_fixes_and_prod_only_the_low_risk_three() -> None:
    nonprod, prod = decisions("nonprod.yaml"), decisions("prod.yaml")
    assert nonprod["refresh-pull-secret-admin"] == nonprod["reconcile-cluster"] == "auto"
    assert load_policy(ROOT / "policies" / "nonprod.yaml").scope.cluster_tags == {"env": "nonprod"}
    assert {f for f, v in prod.items() if v == "auto"} == {"grant-pull-role", "link-private-dns-zone",
                                                          "restart-failing-pods"}
    p = load_policy(ROOT / "policies" / "prod.yaml")
    assert p.scope.cluster_tags == {"env": "prod"}
    assert [(w.days, w.decisions) for w in p.maintenance_windows] == [(("sat", "sun"), ("sign-off",))]
    default = load_policy(ROOT / "policies" / "default.yaml")
    assert p.limits.max_changes_per_run < default.limits.max_changes_per_run  # type: ignore[operator]


# ---------------------------------------------------------------- mistakes are refused, precisely

MISTAKES = [
    ("unknown top-level key",
     "version: 1\nmode: apply\nfixs: {}\n",
     ["unknown key 'fixs' at line 3; valid: version, mode, defaults, fixes, scope, maintenance_windows"]),
    ("unknown nested key",
     "version: 1\nfixes:\n  grant-pull-role: {decison: auto}\n",
     ["unknown key 'decison' at fixes.grant-pull-role (line 3); valid: decision, approvers, "
      "approval_timeout"]),
    ("unknown fix name",
     "version: 1\nfixes:\n  grant-pull-role: {decision: auto}\n  grant-pul-role: {decision: auto}\n",
     ["unknown fix 'grant-pul-role' at fixes (line 4); valid: ", "correct-image-reference, "
      "enable-selected-networks, grant-pull-role, link-private-dns-zone"]),
    ("unknown fix name in an override",
     "version: 1\noverrides:\n  - match: {}\n    fixes: {restart-pods: {decision: auto}}\n",
     ["unknown fix 'restart-pods' at overrides[0].fixes (line 4); valid:"]),
    ("auto on a high-risk fix",
     "version: 1\nfixes:\n  correct-image-reference: {decision: auto}\n",
     ["'correct-image-reference' is high risk and can never be auto at fixes.correct-image-reference"
      ".decision (line 3); valid: sign-off, deny"]),
    ("auto on a high-risk fix in an override",
     "version: 1\noverrides:\n  - match: {cluster_tags: {env: dev}}\n    fixes:\n"
     "      rotate-pull-secret-sp: {decision: auto}\n",
     ["'rotate-pull-secret-sp' is high risk and can never be auto at overrides[0].fixes."
      "rotate-pull-secret-sp.decision (line 5)"]),
    ("unknown decision",
     "version: 1\nfixes:\n  grant-pull-role: {decision: yes-please}\n",
     ["input should be 'auto', 'sign-off' or 'deny' (got 'yes-please') at fixes.grant-pull-role.decision "
      "(line 3)"]),
    ("bad duration: no unit",
     "version: 1\ndefaults: {approval_timeout: '90'}\n",
     ["bad duration '90' at defaults.approval_timeout (line 2); use a positive number with units "
      "d, h, m, s"]),
    ("bad duration: words",
     "version: 1\nfixes:\n  reconcile-cluster: {approval_timeout: 1 hour}\n",
     ["bad duration '1 hour' at fixes.reconcile-cluster.approval_timeout (line 3)"]),
    ("bad duration: zero",
     "version: 1\ndefaults: {approval_timeout: 0m}\n", ["bad duration '0m'"]),
    ("window start after end",
     "version: 1\nmaintenance_windows:\n  - {days: [sat], start: '22:00', end: '02:00'}\n",
     ["window start 22:00 is not before end 02:00 at maintenance_windows[0].start (line 3); split a window"]),
    ("window start equals end",
     "version: 1\nmaintenance_windows:\n  - {days: [sat], start: '02:00', end: '02:00'}\n",
     ["window start 02:00 is not before end 02:00"]),
    ("unknown day",
     "version: 1\nmaintenance_windows:\n  - days: [sat, sunday]\n    start: '02:00'\n    end: '06:00'\n",
     ["unknown day 'sunday' at maintenance_windows[0].days (line 3); valid: mon, tue, wed, thu, fri, "
      "sat, sun"]),
    ("no days",
     "version: 1\nmaintenance_windows:\n  - {days: [], start: '02:00', end: '06:00'}\n",
     ["empty list at maintenance_windows[0].days (line 3); name at least one"]),
    ("unknown timezone",
     "version: 1\nmaintenance_windows:\n  - {days: [sat], start: '02:00', end: '06:00', "
     "timezone: Mars/Olympus}\n",
     ["unknown timezone 'Mars/Olympus' at maintenance_windows[0].timezone (line 3); use an IANA name"]),
    ("bad time",
     "version: 1\nmaintenance_windows:\n  - {days: [sat], start: '2am', end: '06:00'}\n",
     ["bad time '2am' at maintenance_windows[0].start (line 3); use HH:MM"]),
    ("approver without a kind",
     "version: 1\ndefaults: {approvers: [alice@contoso.com]}\n",
     ["bad approver 'alice@contoso.com' at defaults.approvers[0] (line 2); use user:<upn or object id> or "
      "group:<name or object id>"]),
    ("user approver that is neither a UPN nor an object id",
     "version: 1\nfixes:\n  reconcile-cluster:\n    approvers:\n      - group:aks-approvers\n"
     "      - user:alice\n",
     ["bad approver 'user:alice' at fixes.reconcile-cluster.approvers[1] (line 6)"]),
    ("empty group approver",
     "version: 1\ndefaults: {approvers: ['group:']}\n", ["bad approver 'group:'"]),
    ("negative cap",
     "version: 1\nlimits: {max_changes_per_run: -1}\n",
     ["input should be greater than or equal to 1 (got -1) at limits.max_changes_per_run (line 2)"]),
    ("cap as a string",
     "version: 1\nlimits:\n  max_changes_per_sweep: '50'\n",
     ["input should be a valid integer (got '50') at limits.max_changes_per_sweep (line 3)"]),
    ("wrong version", "version: 2\n", ["input should be 1 (got 2) at version (line 1)"]),
    ("missing version", "mode: apply\n", ["missing key 'version' at line 1"]),
    ("unknown mode", "version: 1\nmode: dry-run\n",
     ["input should be 'plan' or 'apply' (got 'dry-run') at mode"]),
    ("override without match",
     "version: 1\noverrides:\n  - fixes: {}\n", ["missing key 'match' at overrides[0] (line 3)"]),
    ("duplicate key",
     "version: 1\nmode: apply\nfixes: {}\nmode: plan\n",
     ["duplicate key 'mode' at line 4 (first at line 2)"]),
    ("malformed YAML",
     "version: 1\nfixes:\n  grant-pull-role: {decision: auto\n", ["not valid YAML at line 4"]),
    ("tabs", "version: 1\n\tmode: apply\n", ["not valid YAML at line 2"]),
    ("empty file", "", ["empty policy file; a policy starts with 'version: 1'"]),
    ("only comments", "# nothing here\n", ["empty policy file"]),
    ("a list instead of a mapping", "- version: 1\n", ["a policy is a mapping of keys (version, mode"]),
]


@pytest.mark.parametrize(("text", "expected"), [m[1:] for m in MISTAKES], ids=[m[0] for m in MISTAKES])
def test_a_mistake_is_refused_naming_file_place_and_choices(tmp_path: Path, text: str,
                                                            expected: list[str]) -> None:
    # given a policy file with one kind of mistake, when it is loaded
    message = problems_of(tmp_path, text)
    # then every line of the refusal names the file, and the message names the problem
    assert all(line.startswith(f"{tmp_path / 'p.yaml'}: ") for line in message.splitlines()), message
    for part in expected:
        assert part in message, message


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    message = problems_of(tmp_path, """\
        version: 1
        mode: aply
        fixes:
          grant-pul-role: {decision: auto}
        limits: {max_changes_per_run: 0}
        """)
    assert len(message.splitlines()) == 3
    assert "(got 'aply') at mode (line 2)" in message
    assert "unknown fix 'grant-pul-role' at fixes (line 4)" in message
    assert "at limits.max_changes_per_run (line 5)" in message


def test_unreadable_file_is_a_policy_error(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match=r"missing\.yaml: cannot read: No such file"):
        load_policy(tmp_path / "missing.yaml")


def test_yaml_1_1_surprises_are_read_as_written(tmp_path: Path) -> None:
    # given unquoted times (YAML 1.1 reads 12:30 as the number 750) and a tag value "no" (a
    # YAML 1.1 boolean)
    policy = load_text(tmp_path, """\
        version: 1
        scope: {cluster_tags: {legacy: no}}
        maintenance_windows:
          - {days: [mon], start: 12:30, end: 13:45}
        """)
    # then both are the strings the author wrote
    assert policy.scope.cluster_tags == {"legacy": "no"}
    assert (policy.maintenance_windows[0].start, policy.maintenance_windows[0].end) == ("12:30", "13:45")


def test_the_model_itself_refuses_high_risk_auto_and_is_frozen() -> None:
    # the rule lives in the model, not only in the file loader
    with pytest.raises(ValidationError, match="can never be auto"):
        Policy.model_validate({"version": 1, "fixes": {"enable-selected-networks": {"decision": "auto"}}})
    policy = parse_policy("version: 1\n")
    with pytest.raises(ValidationError):
        policy.mode = "apply"  # type: ignore[misc]


# ---------------------------------------------------------------- decide(), table-driven

BASE = """\
version: 1
mode: apply
defaults: {decision: sign-off, approval_timeout: 1h, approvers: ["group:ops"]}
fixes:
  grant-pull-role: {decision: auto}
  reconcile-cluster: {decision: auto, approval_timeout: 30m}
  rotate-cluster-sp-secret:
    decision: sign-off
    approvers: ["user:alice@contoso.com"]
    approval_timeout: 4h
  correct-image-reference: {decision: deny}
  allow-registry-on-firewall: {approvers: ["group:netops"]}
limits: {max_changes_per_run: 3, max_changes_per_sweep: 5}
overrides:
  - match: {cluster_tags: {env: prod}}
    fixes:
      reconcile-cluster: {decision: sign-off}
      grant-pull-role: {approvers: ["group:prod-ops"]}
  - match: {cluster_tags: {env: prod, team: payments}}
    fixes: {reconcile-cluster: {decision: deny}}
"""
POLICIES = {
    "base": BASE,
    "plan": BASE.replace("mode: apply", "mode: plan"),
    "auto-default": BASE.replace("decision: sign-off, approval_timeout: 1h",
                                 "decision: auto, approval_timeout: 1h"),
    "scoped": BASE + ("scope: {subscriptions: [Contoso Prod], resource_groups: [RG-AKS], "
                      "cluster_tags: {env: prod}}\n"),
    "weekend-signoff": BASE + ("maintenance_windows:\n  - {days: [sat, sun], start: '02:00', end: '06:00', "
                               "timezone: Europe/Amsterdam, decisions: [sign-off]}\n"),
    "weekend-all": BASE + "maintenance_windows:\n  - {days: [sat], start: '02:00', end: '06:00'}\n"
                          "  - {days: [wed], start: '09:00', end: '10:00'}\n",
    "uncapped": BASE.replace("limits: {max_changes_per_run: 3, max_changes_per_sweep: 5}\n", ""),
}
SUB = "00000000-0000-0000-0000-0000000000a1"
WED_NOON = datetime(2026, 11, 4, 12, 0, tzinfo=UTC)
SAT_0230_UTC = datetime(2026, 11, 7, 2, 30, tzinfo=UTC)  # 03:30 in Amsterdam (CET)
SAT_0530_UTC = datetime(2026, 11, 7, 5, 30, tzinfo=UTC)  # 06:30 in Amsterdam: after the window
WED_0930 = datetime(2026, 11, 4, 9, 30, tzinfo=UTC)

# (id, policy, fix, situation, outcome, reason contains, approvers, timeout seconds)
DECIDE: list[tuple[str, str, str, dict[str, Any], str, str, tuple[str, ...], int]] = [
    ("low risk auto by its rule", "base", "grant-pull-role", {}, "auto",
     "fixes.grant-pull-role: auto", ("group:ops",), 3600),
    ("medium auto with its own timeout", "base", "reconcile-cluster", {}, "auto",
     "fixes.reconcile-cluster: auto", ("group:ops",), 1800),
    ("high risk sign-off with its approvers", "base", "rotate-cluster-sp-secret", {}, "sign-off",
     "fixes.rotate-cluster-sp-secret: sign-off", ("user:alice@contoso.com",), 14400),
    ("deny rule", "base", "correct-image-reference", {}, "deny", "fixes.correct-image-reference: deny",
     ("group:ops",), 3600),
    ("unnamed fix falls to defaults", "base", "repair-vnet-peering", {}, "sign-off", "defaults: sign-off",
     ("group:ops",), 3600),
    ("rule without decision inherits it, keeps its approvers", "base", "allow-registry-on-firewall", {},
     "sign-off", "defaults: sign-off", ("group:netops",), 3600),
    ("override matches on a tag", "base", "reconcile-cluster", {"cluster_tags": {"env": "prod"}},
     "sign-off", "overrides[0].fixes.reconcile-cluster: sign-off", ("group:ops",), 1800),
    ("tag names are case-insensitive, values are not", "base", "reconcile-cluster",
     {"cluster_tags": {"ENV": "Prod"}}, "auto", "fixes.reconcile-cluster: auto", ("group:ops",), 1800),
    ("later override wins", "base", "reconcile-cluster",
     {"cluster_tags": {"env": "prod", "team": "payments"}}, "deny",
     "overrides[1].fixes.reconcile-cluster: deny", ("group:ops",), 1800),
    ("override changes approvers only", "base", "grant-pull-role", {"cluster_tags": {"env": "prod"}},
     "auto", "fixes.grant-pull-role: auto", ("group:prod-ops",), 3600),
    ("defaults auto: a high-risk fix becomes sign-off", "auto-default", "rotate-pull-secret-sp", {},
     "sign-off", "defaults: auto, but 'rotate-pull-secret-sp' is high risk: sign-off", ("group:ops",), 3600),
    ("defaults auto applies to a medium fix", "auto-default", "repair-vnet-peering", {}, "auto",
     "defaults: auto", ("group:ops",), 3600),
    ("a plan claiming high risk is never auto", "base", "grant-pull-role", {"risk": Risk.HIGH},
     "sign-off", "is high risk: sign-off", ("group:ops",), 3600),
    ("mode plan decides nothing", "plan", "grant-pull-role", {}, "plan-only", "mode: plan", (), 0),
    ("mode plan does not apply outside the scope", "scoped", "grant-pull-role",
     {"cluster_tags": {"env": "dev"}}, "out-of-scope",
     "scope: tag env=prod required (cluster has env=dev)", (), 0),
    ("in scope by subscription name, any case", "scoped", "grant-pull-role",
     {"cluster_tags": {"env": "prod"}, "subscription_name": "contoso prod", "resource_group": "rg-aks"},
     "auto", "fixes.grant-pull-role: auto", ("group:prod-ops",), 3600),
    ("in scope by subscription id", "scoped", "grant-pull-role",
     {"cluster_tags": {"env": "prod"}, "resource_group": "rg-aks",
      "scope_subscription": SUB}, "auto", "fixes.grant-pull-role: auto", ("group:prod-ops",), 3600),
    ("out of scope: subscription", "scoped", "grant-pull-role",
     {"cluster_tags": {"env": "prod"}, "subscription_name": "Contoso Dev"}, "out-of-scope",
     "scope: subscription 'Contoso Dev' is not one of ['Contoso Prod']", (), 0),
    ("out of scope: resource group", "scoped", "grant-pull-role",
     {"cluster_tags": {"env": "prod"}, "subscription_name": "Contoso Prod", "resource_group": "rg-other"},
     "out-of-scope", "scope: resource group 'rg-other' is not one of ['RG-AKS']", (), 0),
    ("out of scope: tag missing", "scoped", "grant-pull-role",
     {"subscription_name": "Contoso Prod", "resource_group": "rg-aks"}, "out-of-scope",
     "cluster has no 'env' tag", (), 0),
    ("sign-off outside its window", "weekend-signoff", "rotate-cluster-sp-secret", {}, "outside-window",
     "maintenance_windows: 2026-11-04T12:00+00:00 is outside sat,sun 02:00-06:00 Europe/Amsterdam",
     ("user:alice@contoso.com",), 14400),
    ("sign-off inside its window (in the window's time zone)", "weekend-signoff", "rotate-cluster-sp-secret",
     {"now": SAT_0230_UTC}, "sign-off", "fixes.rotate-cluster-sp-secret: sign-off",
     ("user:alice@contoso.com",), 14400),
    ("window end is exclusive, in local time", "weekend-signoff", "repair-vnet-peering",
     {"now": SAT_0530_UTC}, "outside-window", "outside", ("group:ops",), 3600),
    ("a sign-off-only window does not bind auto", "weekend-signoff", "grant-pull-role", {}, "auto",
     "fixes.grant-pull-role: auto", ("group:ops",), 3600),
    ("an all-decisions window binds auto", "weekend-all", "grant-pull-role", {}, "outside-window",
     "outside sat 02:00-06:00 UTC; wed 09:00-10:00 UTC", ("group:ops",), 3600),
    ("inside the second window", "weekend-all", "grant-pull-role", {"now": WED_0930}, "auto",
     "fixes.grant-pull-role: auto", ("group:ops",), 3600),
    ("deny needs no window", "weekend-all", "correct-image-reference", {}, "deny",
     "fixes.correct-image-reference: deny", ("group:ops",), 3600),
    ("run cap reached by this plan's changes", "base", "grant-pull-role",
     {"changes": 2, "run": 2}, "cap-reached", "limits.max_changes_per_run: 2 changes made + 2 planned > 3",
     ("group:ops",), 3600),
    ("exactly at the run cap is fine", "base", "grant-pull-role", {"changes": 1, "run": 2}, "auto",
     "fixes.grant-pull-role: auto", ("group:ops",), 3600),
    ("sweep cap", "base", "rotate-cluster-sp-secret", {"run": 0, "sweep": 5}, "cap-reached",
     "limits.max_changes_per_sweep: 5 changes made + 1 planned > 5", ("user:alice@contoso.com",), 14400),
    ("no caps", "uncapped", "grant-pull-role", {"changes": 40, "run": 100, "sweep": 1000}, "auto",
     "fixes.grant-pull-role: auto", ("group:ops",), 3600),
]


def make_plan(fix: str, changes: int = 1, risk: Risk | None = None) -> FixPlan:
    cluster = ClusterRef(subscription_id=SUB, resource_group="rg-aks", name="aks1",
                         id=f"/subscriptions/{SUB}/resourceGroups/rg-aks/providers/"
                            "Microsoft.ContainerService/managedClusters/aks1")
    return FixPlan(fix=fix, cluster=cluster, summary=f"{fix} on aks1", resolves=("some-check",),
                   risk=risk or fix_risks()[fix], reversible=True,
                   changes=tuple(Change(resource=f"{cluster.id}/thing/{i}", operation="create", api="ARM PUT")
                                 for i in range(changes)))


@pytest.mark.parametrize(("policy", "fix", "situation", "outcome", "reason", "approvers", "timeout"),
                         [row[1:] for row in DECIDE], ids=[row[0] for row in DECIDE])
def test_decide(policy: str, fix: str, situation: dict[str, Any], outcome: str, reason: str,
                approvers: tuple[str, ...], timeout: int) -> None:
    # given a policy, a plan and where/when it would run
    plan = make_plan(fix, situation.get("changes", 1), situation.get("risk"))
    # when the policy decides
    got = decide(plan, parse_policy(POLICIES[policy], policy),
                 cluster_tags=situation.get("cluster_tags", {}),
                 subscription=situation.get("scope_subscription", SUB),
                 subscription_name=situation.get("subscription_name", "Contoso Prod"),
                 resource_group=situation.get("resource_group", "rg-aks"),
                 now=situation.get("now", WED_NOON),
                 changes_so_far_run=situation.get("run", 0), changes_so_far_sweep=situation.get("sweep", 0))
    # then the outcome, the rule that decided, and who may sign off for how long
    assert (got.outcome, got.approvers, got.approval_timeout) == (outcome, approvers, timeout), got.reason
    assert reason in got.reason
    assert "\n" not in got.reason
    assert (got.fix, got.plan_hash) == (fix, plan.hash)


def test_decide_table_is_big_enough_and_covers_every_outcome() -> None:
    assert len(DECIDE) >= 20
    assert {row[4] for row in DECIDE} == {"auto", "sign-off", "deny", "out-of-scope", "outside-window",
                                          "cap-reached", "plan-only"}


def test_decide_needs_an_aware_clock() -> None:
    with pytest.raises(ValueError, match="aware datetime"):
        decide(make_plan("grant-pull-role"), parse_policy(BASE), cluster_tags={}, subscription=SUB,
               subscription_name="x", resource_group="rg", now=datetime(2026, 11, 4, 12),  # noqa: DTZ001
               changes_so_far_run=0, changes_so_far_sweep=0)


# ---------------------------------------------------------------- the JSON Schema

def test_committed_schema_matches_the_models() -> None:
    assert SCHEMA_FILE.read_text() == render_schema(), (
        f"policies/schema.json is out of date with policies/model.py; regenerate it: {REGENERATE}")


def test_schema_names_every_fix_and_refuses_what_the_model_refuses() -> None:
    schema = generate_schema()
    assert schema["properties"]["fixes"]["propertyNames"]["enum"] == list(fix_risks())
    validator = jsonschema.Draft202012Validator(schema)
    assert not list(validator.iter_errors({"version": 1, "fixes": {"grant-pull-role": {"decision": "auto"}}}))
    for bad in ({"version": 1, "fixs": {}},
                {"version": 1, "fixes": {"grant-pul-role": {"decision": "auto"}}},
                *({"version": 1, "fixes": {name: {"decision": "auto"}}} for name in HIGH),
                {"version": 1, "overrides": [{"match": {}, "fixes": {HIGH[0]: {"decision": "auto"}}}]},
                {"version": 1, "defaults": {"approval_timeout": "1 hour"}},
                {"version": 1, "defaults": {"approvers": ["alice"]}},
                {"version": 1, "limits": {"max_changes_per_run": -1}}):
        assert list(validator.iter_errors(bad)), bad


# ---------------------------------------------------------------- the real command

def pullfix(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "flows.cli", "policy", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120, check=False)


def test_cli_validate_accepts_a_shipped_policy() -> None:
    got = pullfix("validate", "policies/prod.yaml")
    assert got.returncode == 0, got.stderr
    assert got.stdout.startswith("ok: 14 fixes (3 auto, 2 deny, 9 sign-off), mode apply, scope env=prod")


def test_cli_validate_refuses_a_broken_policy_with_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nfixes:\n  enable-selected-networks: {decision: auto}\n")
    got = pullfix("validate", str(bad))
    assert got.returncode == 2
    assert got.stdout == ""
    assert got.stderr.strip() == (f"{bad}: 'enable-selected-networks' is high risk and can never be auto at "
                                  "fixes.enable-selected-networks.decision (line 3); valid: sign-off, deny")


def test_cli_validate_refuses_a_missing_file_with_exit_2(tmp_path: Path) -> None:
    got = pullfix("validate", str(tmp_path / "nope.yaml"))
    assert (got.returncode, "cannot read" in got.stderr) == (2, True)


def test_cli_schema_prints_the_generated_schema() -> None:
    got = pullfix("schema")
    assert got.returncode == 0, got.stderr
    assert json.loads(got.stdout) == generate_schema()
