"""Bounded inputs (issue 14, part 1): hostile or broken policy files, scenario files and
``pullfix classify`` input are refused with a message naming the input and the limit, exit 2,
no traceback; policy values that cannot work are validation errors."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from policies import PolicyError, parse_policy
from policies.load import LIMITS, load_policy
from simulator.scenario import ScenarioError, read_scenario
from tasks.fix import fix_risks
from tasks.safe_input import InputLimitError, YamlLimits, bounded_lines, check_yaml, json_depth

ROOT = Path(__file__).resolve().parents[1]
CATALOGUE = fix_risks()


def laughs(levels: int = 9, head: str = "version: 1\n") -> str:
    """The "billion laughs" document: each anchor lists the previous one nine times, so nine
    levels expand to 9**9 (387 million) strings from a few hundred bytes."""
    lines = [head, 'l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n']
    lines += [f"l{i}: &l{i} [{','.join([f'*l{i - 1}'] * 9)}]\n" for i in range(1, levels)]
    return "".join(lines)


def cli(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([sys.executable, *args], cwd=ROOT, input=stdin, capture_output=True,
                          timeout=120, check=False)
    return subprocess.CompletedProcess(proc.args, proc.returncode, proc.stdout.decode(),
                                       proc.stderr.decode())


def refusal(text: str) -> str:
    with pytest.raises(PolicyError) as info:
        parse_policy(text, "p.yaml")
    return str(info.value)


# ---------------------------------------------------------------- policy files: YAML bounds

def test_the_alias_bomb_is_refused_before_it_is_expanded() -> None:
    # given the alias bomb (well under 1 KiB)
    bomb = laughs()
    assert len(bomb) < 600
    # when it is loaded as a policy, then it is refused for what it would expand to
    assert refusal(bomb) == (
        "p.yaml: expands to more than the limit of 50000 nodes (line 6); YAML aliases (*name) "
        "multiply what they point to: write the values out or use fewer aliases")


def test_the_alias_bomb_through_the_cli_is_exit_2_without_a_traceback(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(laughs())
    got = cli("-m", "flows.cli", "policy", "validate", str(bomb))
    assert got.returncode == 2
    assert got.stderr.startswith(f"{bomb}: expands to more than the limit of 50000 nodes")
    assert "Traceback" not in got.stderr and got.stdout == ""


@pytest.mark.parametrize("command", [["sweep", "--mode", "apply"], ["remediate", "--cluster", "aks1"]],
                         ids=["sweep --mode apply", "remediate"])
def test_the_alias_bomb_no_longer_blocks_sweep_or_remediate(tmp_path: Path, command: list[str]) -> None:
    # given the bomb as the policy of the two commands it used to hang
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(laughs())
    got = cli("-m", "flows.cli", *command, "--policy", str(bomb))
    # then they refuse it before touching the cloud
    assert got.returncode == 2
    assert got.stderr.strip() == (f"pullfix: {bomb}: expands to more than the limit of 50000 nodes (line 6); "
                                  "YAML aliases (*name) multiply what they point to: write the values out "
                                  "or use fewer aliases")


def test_too_many_aliases_are_refused_even_when_each_is_small() -> None:
    text = ("version: 1\nscope:\n  cluster_tags: {a: &v x}\n  resource_groups: ["
            + ", ".join(["*v"] * 101) + "]\n")
    assert refusal(text) == ("p.yaml: more than the limit of 100 YAML aliases (line 4); write the values "
                             "out instead")


def test_a_recursive_alias_is_refused() -> None:
    assert refusal("version: 1\nscope: &s {resource_groups: [*s]}\n") == (
        "p.yaml: YAML alias *s refers to a node that contains it (line 2); a recursive document "
        "cannot be read")


@pytest.mark.parametrize("style", ["flow", "block"])
def test_deep_nesting_is_refused_naming_the_line(style: str) -> None:
    # given 10,000 levels of nesting (a RecursionError traceback before)
    if style == "flow":
        text = "version: 1\nscope: " + "[" * 10_000 + "]" * 10_000 + "\n"
        line = 2
    else:
        text = "version: 1\nscope:\n" + "".join(f"{'  ' * i}k{i}:\n" for i in range(1, 40))
        line = 34
    assert refusal(text) == (f"p.yaml: nested deeper than the limit of 32 levels (line {line}); "
                             "flatten the structure")


def test_an_oversized_policy_file_is_refused_without_reading_it_all(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_text("version: 1\n" + "# padding\n" * 30_000)
    with pytest.raises(PolicyError) as info:
        load_policy(big)
    assert str(info.value) == (f"{big}: the policy file is larger than the limit of 262144 bytes; split "
                               "it or remove what is not needed")


def test_aliases_within_the_limits_still_work() -> None:
    # given a policy that shares one approver list through an anchor (a normal YAML habit)
    policy = parse_policy(textwrap.dedent("""\
        version: 1
        mode: apply
        defaults: {approvers: &ops ["group:ops"]}
        fixes:
          reconcile-cluster: {decision: sign-off, approvers: *ops}
        """))
    assert policy.fixes["reconcile-cluster"].approvers == ("group:ops",)


def test_the_shipped_policies_are_far_inside_the_limits() -> None:
    for path in sorted((ROOT / "policies").glob("*.yaml")):
        check_yaml(path.read_text(), source=path.name,
                   limits=YamlLimits(max_bytes=8 * 1024, max_depth=8, max_aliases=0, max_nodes=300))
    assert LIMITS.max_nodes >= 100 * 300


def test_the_guard_reports_its_own_error_type() -> None:
    limits = YamlLimits(max_bytes=10, max_depth=2, max_aliases=0, max_nodes=5)
    with pytest.raises(InputLimitError) as info:
        check_yaml("a: 1234567890\n", source="x.yaml", limits=limits)
    assert (info.value.source, str(info.value)) == ("x.yaml", "x.yaml: larger than the limit of 10 bytes "
                                                    "(14 bytes); split it or remove what is not needed")


# ---------------------------------------------------------------- scenario files

def test_a_scenario_alias_bomb_is_refused(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(laughs(head="name: bomb\n"))
    with pytest.raises(ScenarioError) as info:
        read_scenario(str(bomb))
    assert str(info.value) == (f"{bomb}: expands to more than the limit of 1000000 nodes (line 8); YAML "
                               "aliases multiply what they point to")


def test_a_deep_scenario_is_refused_by_the_simulator_cli(tmp_path: Path) -> None:
    deep = tmp_path / "deep.yaml"
    deep.write_text("name: deep\nresources: " + "[" * 100_000 + "]" * 100_000 + "\n")
    got = cli("-m", "simulator", "serve", "--scenario", str(deep), "--port", "0",
              "--connection-file", str(tmp_path / "conn.json"))
    assert got.returncode == 2
    assert got.stderr.strip() == (f"simulator: cannot start: {deep}: nested deeper than the limit of 64 "
                                  "levels (line 2)")
    assert not (tmp_path / "conn.json").exists()


def test_a_scenario_path_that_is_a_directory_is_a_scenario_error(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match=r"cannot read: Is a directory"):
        read_scenario(str(tmp_path))


def test_a_malformed_fleet_spec_is_a_scenario_error() -> None:
    with pytest.raises(ScenarioError) as info:
        read_scenario("fleet:lots")
    assert str(info.value) == ("fleet spec 'lots' is not SxC[:SEED][?pods=N&failing=F] (for "
                               "example 3x4:7 or 1x1000:7?pods=20&failing=0.05)")


def test_every_built_in_scenario_is_inside_the_limits() -> None:
    from simulator.scenario import scenario_names

    assert all(read_scenario(name)[0] for name in scenario_names())


# ---------------------------------------------------------------- classify input

def classify(stdin: bytes) -> subprocess.CompletedProcess[str]:
    return cli("-m", "flows.cli", "classify", stdin=stdin)


GOOD = b'Failed to pull image "contoso.azurecr.io/app:v1": 401 Unauthorized\n'


def test_a_10_mb_line_is_refused_naming_the_line_and_the_limit() -> None:
    # given a good line, a 10 MB line, and another good line
    got = classify(GOOD + b"x" * 10_000_000 + b"\n" + GOOD)
    # then the long line is named with the limit; nothing is classified
    assert got.returncode == 2
    assert got.stderr.splitlines() == [
        "pullfix: <stdin> line 2: longer than the limit of 65536 bytes; pass one kubelet message per line",
        "pullfix: 1 input line(s) refused: nothing classified"]
    assert got.stdout == ""


def test_a_line_at_the_limit_is_classified() -> None:
    line = GOOD.rstrip(b"\n") + b" " + b"x" * (65536 - len(GOOD))
    assert len(line) == 65536
    got = classify(line + b"\r\n")
    assert got.returncode == 0, got.stderr
    assert json.loads(got.stdout)["http_status"] == 401


def test_a_deeply_nested_json_line_is_refused_naming_the_depth() -> None:
    # given 20,000 levels in 40 KB (a RecursionError traceback before)
    deep = b'{"message": "m", "x": ' + b"[" * 20_000 + b"]" * 20_000 + b"}\n"
    got = classify(GOOD + deep)
    assert got.returncode == 2
    assert got.stderr.splitlines()[0] == ("pullfix: <stdin> line 2: JSON nested deeper than the limit of 32 "
                                          "levels (20001)")
    assert "Traceback" not in got.stderr and got.stdout == ""


def test_brackets_inside_json_strings_are_not_nesting() -> None:
    line = json.dumps({"message": "[" * 1000 + GOOD.decode().strip(), "note": "{" * 1000}).encode()
    got = classify(line + b"\n")
    assert got.returncode == 0, got.stderr
    assert json.loads(got.stdout)["http_status"] == 401


def test_every_refused_line_is_named_up_to_twenty_then_counted() -> None:
    # given 25 broken JSON lines among good ones
    got = classify((GOOD + b'{"msg": "no message"}\n') * 25)
    assert got.returncode == 2
    lines = got.stderr.splitlines()
    assert lines[0] == 'pullfix: <stdin> line 2: JSON line has no "message" string field'
    assert lines[19] == 'pullfix: <stdin> line 40: JSON line has no "message" string field'
    assert lines[20:] == ["pullfix: ... and 5 more refused lines",
                          "pullfix: 25 input line(s) refused: nothing classified"]
    assert got.stdout == ""


@pytest.mark.parametrize(("stdin", "stopped"), [
    (b"x\n" * 100_001, 100_001),
    ((b"y" * 65_000 + b"\n") * 260, 259),
], ids=["lines", "bytes"])
def test_input_past_the_total_bounds_is_refused_while_reading(stdin: bytes, stopped: int) -> None:
    # given more lines, or more bytes in all, than are held before classifying
    got = classify(stdin)
    assert got.returncode == 2
    assert got.stderr.splitlines() == [
        "pullfix: more than the limit of 100000 lines or 16777216 bytes: split the input (stopped at "
        f"<stdin> line {stopped})"]
    assert got.stdout == ""


def test_bounded_lines_drops_a_long_line_and_keeps_counting() -> None:
    stream = io.BytesIO(b"ab\r\n" + b"c" * 50 + b"\n" + b"d" * 10 + b"\nlast")
    got = [(line.number, line.data) for line in bounded_lines(stream, max_bytes=10)]
    assert got == [(1, b"ab"), (2, None), (3, b"d" * 10), (4, b"last")]


def test_json_depth_counts_only_structure() -> None:
    assert [json_depth(t) for t in ('{"a": [1, {"b": []}]}', '{"a": "[[[\\"]]"}', "plain", "[]")] == [
        4, 1, 0, 1]


# ---------------------------------------------------------------- policy values that cannot work

APPROVER_HINT = "add approvers (user:<upn or object id> or group:<name or object id>) to defaults or to " \
                "the fix's rule"


def test_a_timeout_of_99999999_days_is_refused() -> None:
    assert refusal("version: 1\ndefaults: {approval_timeout: 99999999d}\n") == (
        "p.yaml: duration '99999999d' is longer than the limit of 30d at defaults.approval_timeout (line 2); "
        "use at most 30d (e.g. 4h, 2d)")


def test_a_number_too_long_to_be_one_is_a_bad_duration_quoted_short() -> None:
    assert refusal("version: 1\ndefaults: {approval_timeout: " + "9" * 5000 + "d}\n") == (
        f"p.yaml: bad duration '{'9' * 39}…' at defaults.approval_timeout (line 2); use a positive number "
        "with units d, h, m, s (e.g. 30m, 4h, 1h30m, 2d)")


def test_thirty_days_is_the_longest_timeout() -> None:
    policy = parse_policy("version: 1\nfixes:\n  reconcile-cluster: {approval_timeout: 29d23h60m}\n")
    assert policy.fixes["reconcile-cluster"].approval_timeout == "29d23h60m"
    assert "longer than the limit of 30d at fixes.reconcile-cluster.approval_timeout (line 3)" in refusal(
        "version: 1\nfixes:\n  reconcile-cluster: {approval_timeout: 30d1s}\n")


@pytest.mark.parametrize(("text", "where"), [
    ("version: 1\nfixes:\n  reconcile-cluster: {decision: sign-off, approvers: []}\n",
     "fixes.reconcile-cluster.approvers (line 3)"),
    ("version: 1\ndefaults: {approvers: []}\n", "defaults.approvers (line 2)"),
    ("version: 1\noverrides:\n  - match: {}\n    fixes: {repair-vnet-peering: {decision: sign-off, "
     "approvers: []}}\n", "overrides[0].fixes.repair-vnet-peering.approvers (line 4)"),
], ids=["fix rule", "defaults", "override"])
def test_an_explicitly_empty_approver_list_on_a_sign_off_is_refused(text: str, where: str) -> None:
    assert refusal(text) == (f"p.yaml: empty approvers for a sign-off, so nobody can approve it at {where}; "
                             "name at least one user:<upn or object id> or group:<name or object id>")


def test_an_empty_approver_list_on_a_deny_is_fine() -> None:
    assert parse_policy("version: 1\nfixes:\n  reconcile-cluster: {decision: deny, approvers: []}\n")


def test_an_apply_policy_whose_fix_inherits_no_approvers_names_the_fix() -> None:
    # given defaults that deny, and one fix sent to sign-off without approvers anywhere
    text = ("version: 1\nmode: apply\ndefaults: {decision: deny}\nfixes:\n"
            "  reconcile-cluster: {decision: sign-off}\n")
    assert refusal(text) == ("p.yaml: 'reconcile-cluster': sign-off with no approvers, so nobody can approve "
                             f"it at fixes.reconcile-cluster (line 5); {APPROVER_HINT}")


def test_an_apply_policy_with_no_approvers_at_all_says_every_fix() -> None:
    assert refusal("version: 1\nmode: apply\n") == (
        "p.yaml: every fix: sign-off with no approvers, so nobody can approve it at defaults (line 1); "
        f"{APPROVER_HINT}")


def test_a_high_risk_fix_that_defaults_to_auto_needs_approvers_too() -> None:
    # given auto by default without approvers: the high-risk fixes become sign-offs (decide())
    text = "version: 1\nmode: apply\ndefaults: {decision: auto}\n"
    high = ", ".join(f"'{f}'" for f, r in CATALOGUE.items() if r == "high")
    assert refusal(text).startswith(f"p.yaml: {high}: sign-off with no approvers")


def test_an_override_that_empties_approvers_only_for_some_clusters_is_found() -> None:
    # given approvers everywhere, but one override removes them and a later one asks for sign-off
    text = textwrap.dedent("""\
        version: 1
        mode: apply
        defaults: {decision: deny, approvers: ["group:ops"]}
        fixes:
          grant-pull-role: {decision: auto}
        overrides:
          - match: {cluster_tags: {env: prod}}
            fixes: {grant-pull-role: {approvers: []}}
          - match: {cluster_tags: {team: payments}}
            fixes: {grant-pull-role: {decision: sign-off}}
        """)
    # then the clusters matching both would wait for nobody
    assert refusal(text) == ("p.yaml: 'grant-pull-role': sign-off with no approvers, so nobody can approve "
                             f"it at overrides[1].fixes.grant-pull-role (line 10); {APPROVER_HINT}")


@pytest.mark.parametrize("text", [
    "version: 1\n",  # plan mode asks nobody
    "version: 1\nmode: apply\nallow_unauthenticated_ui_approvals: true\n",  # not checked against approvers
    "version: 1\nmode: apply\ndefaults: {decision: deny}\nfixes:\n  grant-pull-role: {decision: auto}\n",
], ids=["plan mode", "unauthenticated UI approvals", "auto and deny only"])
def test_policies_that_never_wait_for_a_named_approver_need_none(text: str) -> None:
    assert parse_policy(text)
