"""Property-based fuzzing (issue 14, part 4) of every reader of outside input that needs no
cloud: policy YAML, scenario YAML, ``pullfix classify`` input (the CLI's reader and the
classifier itself), ARM resource ids and the kubeconfig ARM hands back.

The property, for each: whatever the input, the reader returns a value or raises its module's
declared error with a message (``PolicyError``, ``ScenarioError``, exit 2, ``KubeconfigError``)
— no other exception, no hang (hypothesis' deadline), and nothing written to disk.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import yaml
from hypothesis import example, given
from hypothesis import strategies as st
from typer.testing import CliRunner

from flows.cli import app
from policies import PolicyError, parse_policy
from policies.load import load_policy
from policies.model import Policy
from simulator.scenario import ScenarioDoc, ScenarioError, build_world, read_scenario, scenario_dir
from tasks.classify import classify
from tasks.contract import Classification
from tasks.fix import fix_risks
from tasks.kubeconfig import KubeconfigError, parse_kubeconfig
from tasks.reads import parse_id
from tasks.safe_input import InputLimitError, YamlLimits, check_yaml
from tests.fuzzlib import FUZZ, YAML_PIECES, json_like, mutated, no_writes, pieces

ROOT = Path(__file__).resolve().parents[1]
CATALOGUE = fix_risks()
SHIPPED = {p.name: p.read_text() for p in sorted((ROOT / "policies").glob("*.yaml"))}
POLICY_KEYS = st.one_of(st.sampled_from([*Policy.model_fields, "decision", "approvers", "approval_timeout",
                                         "match", "days", "start", "end", "timezone", "decisions",
                                         "cluster_tags", *CATALOGUE]), st.text(max_size=8))


def policy_outcome(text: str) -> Policy | None:
    """Parse ``text``; ``None`` for a refusal, which must name the source on every line."""
    with no_writes() as writes:
        try:
            policy = parse_policy(text, "fuzz.yaml")
        except PolicyError as exc:
            assert str(exc).strip(), "a refusal says what is wrong"
            assert all(line.startswith("fuzz.yaml: ") for line in str(exc).splitlines()), str(exc)
            policy = None
    assert writes == []
    return policy


# ---------------------------------------------------------------- policy YAML

@FUZZ
@given(pieces(YAML_PIECES))
@example("a: &a [*a]\n")
@example("version: 1\nscope: " + "[" * 5000 + "]" * 5000)
def test_policy_text_from_yaml_pieces(text: str) -> None:
    policy_outcome(text)


@FUZZ
@given(st.sampled_from(sorted(SHIPPED)).flatmap(lambda name: mutated(SHIPPED[name])))
def test_mutated_shipped_policies(text: str) -> None:
    policy = policy_outcome(text)
    if policy is not None:  # whatever survives the edits still obeys the model's rules
        assert all(rule.decision != "auto" or CATALOGUE[name] != "high"
                   for name, rule in policy.fixes.items())


@FUZZ
@given(st.dictionaries(POLICY_KEYS, json_like(keys=POLICY_KEYS), max_size=6))
@example({"[key]": None})  # pydantic's own marker for a dict key, as a policy's key
@example({"defaults": {"[key]": 1}})
def test_random_policy_documents(doc: dict[str, Any]) -> None:
    policy_outcome(yaml.safe_dump(doc))
    policy_outcome(yaml.safe_dump({"version": 1, **doc}))


@FUZZ
@given(st.binary(max_size=300))
def test_policy_files_of_random_bytes(tmp_path_factory: Any, data: bytes) -> None:
    path = tmp_path_factory.mktemp("policy") / "p.yaml"
    path.write_bytes(data)
    with no_writes() as writes:
        try:
            load_policy(path)
        except PolicyError as exc:
            assert str(exc).startswith(f"{path}: ")
    assert writes == []


@FUZZ
@given(st.one_of(st.sampled_from(sorted(SHIPPED)).flatmap(lambda name: mutated(SHIPPED[name])),
                 pieces(YAML_PIECES)))
def test_policy_validate_command(tmp_path_factory: Any, text: str) -> None:
    # given any policy file, when `pullfix policy validate` checks it
    path = tmp_path_factory.mktemp("validate") / "p.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    got = CliRunner().invoke(app, ["policy", "validate", str(path)])
    # then it is usable (exit 0, a summary) or refused (exit 2, every line naming the file)
    assert got.exception is None or isinstance(got.exception, SystemExit), repr(got.exception)
    if got.exit_code == 0:
        assert got.stdout.startswith("ok: ")
    else:
        assert got.exit_code == 2 and got.stdout == ""
        assert all(line.startswith(f"{path}: ") for line in got.stderr.splitlines()), got.stderr


# ---------------------------------------------------------------- scenario YAML

SCENARIOS = {p.stem: p.read_text() for p in sorted(scenario_dir().glob("*.yaml"))
             if p.stat().st_size < 4000}


def scenario_outcome(tmp: Path, text: str) -> dict[str, Any] | None:
    path = tmp / "s.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    with no_writes() as writes:
        try:
            doc, origin = read_scenario(str(path))
        except ScenarioError as exc:
            assert str(exc).startswith(f"{path}: "), str(exc)
            doc = None
    assert writes == []
    return doc


@FUZZ
@given(pieces(YAML_PIECES + ["name", "resources", "kind", "subscription", "resource-group", "location"]))
def test_scenario_text_from_yaml_pieces(tmp_path_factory: Any, text: str) -> None:
    scenario_outcome(tmp_path_factory.mktemp("scenario"), text)


@FUZZ
@given(st.sampled_from(sorted(SCENARIOS)).flatmap(lambda name: mutated(SCENARIOS[name])))
def test_mutated_scenarios_load_or_are_refused(tmp_path_factory: Any, text: str) -> None:
    # given a built-in scenario with a few edits, when the simulator reads and builds it
    doc = scenario_outcome(tmp_path_factory.mktemp("scenario"), text)
    if doc is None:
        return
    # then the world is built, or the scenario is refused with a ScenarioError
    try:
        build_world(doc, "fuzz.yaml")
    except ScenarioError as exc:
        assert str(exc).startswith("fuzz.yaml: "), str(exc)


def test_the_scenario_model_is_what_the_fuzzer_targets() -> None:
    assert {"name", "resources", "expect"} <= set(ScenarioDoc.model_fields)
    assert len(SCENARIOS) >= 10


# ---------------------------------------------------------------- classify input

KUBELET = ["Failed to pull image ", '"contoso.azurecr.io/app:v1"', ": rpc error: code = Unknown desc = ",
           "401 Unauthorized", "403 Forbidden", "404 Not Found", "i/o timeout", "EOF", "no such host",
           "manifest unknown", "x509: certificate", "dial tcp 10.0.0.4:443", "Back-off pulling image",
           "ErrImagePull", "ImagePullBackOff", "https://", ".azurecr.io", ".azurecr.cn", "/oauth2/token",
           "anonymous", "429 Too Many Requests", "exec format error", "no match for platform",
           "failed to resolve reference", "authorize", "  ", "\t", ":", "@sha256:", "a" * 64]


@FUZZ
@given(pieces(KUBELET, max_size=40), st.one_of(st.none(), st.sampled_from(
    ["Failed", "ErrImagePull", "ErrImageNeverPull", "InvalidImageName", "BackOff"]), st.text(max_size=10)))
def test_classify_returns_a_classification_for_any_message(message: str, reason: str | None) -> None:
    with no_writes() as writes:
        got = classify(message, reason)
    assert isinstance(got, Classification)
    assert 0 <= got.confidence <= 1
    assert writes == []


def line_strategy() -> st.SearchStrategy[bytes]:
    text_line = pieces(KUBELET, max_size=10)
    json_line = st.one_of(
        st.builds(lambda m, r: json.dumps({"message": m, "event_reason": r}), text_line,
                  st.one_of(st.none(), st.text(max_size=8))),
        json_like(keys=st.sampled_from(["message", "reason", "event_reason", "x"])).map(json.dumps),
        st.integers(0, 60).map(lambda n: '{"message": "m", "x": ' + "[" * n + "]" * n + "}"),
        pieces(["{", "}", "[", "]", '"message"', ": ", ", ", '"', "\\", "1e999", "null"], max_size=20))
    return st.one_of(text_line, json_line, st.text(max_size=30)).map(lambda s: s.encode("utf-8", "replace"))


@FUZZ
@given(st.one_of(st.lists(line_strategy(), max_size=8).map(lambda ls: b"\n".join(ls)),
                 st.binary(max_size=200)))
@example(b"x" * 70_000 + b"\n" + b"ok\n")
def test_classify_command_input(data: bytes) -> None:
    # given anything on stdin, when `pullfix classify` reads it
    with no_writes() as writes:
        got = CliRunner().invoke(app, ["classify"], input=data)
    assert writes == []
    # then it classifies every line (exit 0) or refuses, exit 2, with a message and no output
    assert got.exception is None or isinstance(got.exception, SystemExit), repr(got.exception)
    assert got.exit_code in (0, 2), (got.exit_code, got.stderr)
    assert "Traceback" not in got.stderr
    if got.exit_code == 0:
        rows = [json.loads(line) for line in got.stdout.splitlines()]
        assert len(rows) == sum(1 for line in data.split(b"\n") if line.strip())
    else:
        assert got.stdout == "" and got.stderr.startswith("pullfix: ")


# ---------------------------------------------------------------- ARM resource ids

ID_PIECES = ["/", "//", "subscriptions", "resourceGroups", "resourcegroups", "providers",
             "Microsoft.ContainerService", "managedClusters", "00000000-0000-0000-0000-000000000001",
             "rg-aks", "aks1", " ", "%2F", "..", "é"]


@FUZZ
@given(st.one_of(pieces(ID_PIECES, max_size=16), st.text(max_size=40)))
@example("/subscriptions/x/resourceGroups")
def test_parse_id_always_answers_with_strings(resource_id: str) -> None:
    got = parse_id(resource_id)
    assert {"subscription", "name"} <= got.keys() <= {"subscription", "name", "resource_group"}
    assert all(isinstance(v, str) for v in got.values())


# ---------------------------------------------------------------- kubeconfigs

KUBECONFIG = yaml.safe_dump({
    "apiVersion": "v1", "kind": "Config", "preferences": {},
    "clusters": [{"name": "aks1", "cluster": {"certificate-authority-data": "LS0tLS1CRUdJTg==",
                                              "server": "https://127.0.0.1:8443/k8s/abc"}}],
    "contexts": [{"name": "aks1", "context": {"cluster": "aks1", "user": "clusterUser_rg_aks1"}}],
    "current-context": "aks1",
    "users": [{"name": "clusterUser_rg_aks1", "user": {"token": "t0ken"}}]}, sort_keys=False)


def test_the_kubeconfig_seed_is_accepted() -> None:
    assert parse_kubeconfig(KUBECONFIG.encode(), cluster="aks1")["current-context"] == "aks1"


@FUZZ
@given(st.one_of(mutated(KUBECONFIG).map(str.encode), pieces(YAML_PIECES).map(str.encode),
                 st.binary(max_size=200)))
@example(None)
def test_kubeconfig_parses_or_names_the_cluster(data: bytes | None) -> None:
    with no_writes() as writes:
        try:
            doc = parse_kubeconfig(data, cluster="aks1")
        except KubeconfigError as exc:
            assert "cluster aks1" in str(exc), str(exc)
        else:
            assert doc["current-context"] in [c["name"] for c in doc["contexts"]]
    assert writes == []


def test_the_write_detector_sees_writes(tmp_path: Path) -> None:
    # the "nothing written" half of every property above is only as good as this detector
    with no_writes() as writes:
        (tmp_path / "a.txt").write_text("x")
        (tmp_path / "a.txt").rename(tmp_path / "b.txt")
        (tmp_path / "d").mkdir()
        (tmp_path / "b.txt").read_text()
    assert [w.split()[0] for w in writes] == ["open", "os.rename", "os.mkdir"]


# ---------------------------------------------------------------- the guard's own arithmetic

def expanded(value: Any) -> int:
    """Nodes a walk over loaded data visits: what the guard must count without loading."""
    if isinstance(value, dict):
        return 1 + sum(expanded(k) + expanded(v) for k, v in value.items())
    if isinstance(value, list):
        return 1 + sum(expanded(v) for v in value)
    return 1


@st.composite
def shared_structures(draw: st.DrawFn) -> Any:
    """Lists and dicts that reuse earlier ones (yaml.safe_dump writes those as anchors and
    aliases), nested a few levels: small texts with large expansions."""
    pool: list[Any] = [draw(st.text(max_size=3))]
    for _ in range(draw(st.integers(1, 8))):
        parts = draw(st.lists(st.sampled_from(range(len(pool))), min_size=1, max_size=4))
        if draw(st.booleans()):
            pool.append([pool[i] for i in parts])
        else:
            pool.append({f"k{n}": pool[i] for n, i in enumerate(parts)})
    return pool[-1]


@FUZZ
@given(shared_structures())
def test_the_guard_counts_exactly_what_the_aliases_expand_to(value: Any) -> None:
    # given a document whose aliases expand to n nodes
    text = yaml.safe_dump(value)
    n = expanded(yaml.safe_load(text))
    wide = YamlLimits(max_bytes=10**6, max_depth=100, max_aliases=10**6, max_nodes=n)
    # then a limit of n passes it and a limit of n - 1 refuses it, before anything is built
    check_yaml(text, source="s.yaml", limits=wide)
    try:
        check_yaml(text, source="s.yaml", limits=dataclasses.replace(wide, max_nodes=n - 1))
    except InputLimitError as exc:
        assert f"more than the limit of {n - 1} nodes" in str(exc)
    else:
        raise AssertionError(f"{n} nodes passed a limit of {n - 1}")
