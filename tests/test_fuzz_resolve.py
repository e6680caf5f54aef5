"""Property-based fuzzing (issue 14, part 4) of what a person types to name a cluster, and of
the kubeconfig a cluster hands back, against the served simulator: ``resolve_cluster`` answers
with the one cluster meant or an ``UnknownClusterError`` that says what to do, for any text;
nothing is written to the (simulated) cloud."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from tasks.contract import ClusterRef
from tasks.inventory import clusters
from tasks.kubeconfig import KubeconfigError, parse_kubeconfig
from tasks.reads import Reads
from tasks.resolve import UnknownClusterError, resolve_cluster
from tests.fuzzlib import FUZZ, YAML_PIECES, mutated, no_writes, pieces
from tests.simharness import Sim

pytestmark = pytest.mark.scenario("demo")
_READS: dict[str, Reads] = {}


def flip_case(text: str) -> st.SearchStrategy[str]:
    return st.lists(st.booleans(), min_size=len(text), max_size=len(text)).map(
        lambda flips: "".join(c.upper() if f else c.lower() for c, f in zip(text, flips, strict=True)))


@FUZZ
@given(data=st.data())
@example(data=None)
def test_any_cluster_name_or_id_resolves_or_is_refused_clearly(sim: Sim, data: st.DataObject | None) -> None:
    # given the demo fleet's clusters, and text built from their names and ids
    if sim.arm not in _READS:  # one inventory per served twin, as in one pullfix run
        _READS[sim.arm] = Reads(sim.clients())
    reads = _READS[sim.arm]
    fleet = reads.memo(("inventory",), lambda: clusters(reads.clients))
    names = [c.name for c in fleet] + [c.id for c in fleet]
    pieces_ = [*names, "/", "/subscriptions/", "resourceGroups", " ", "\t", "*", "%", "..", "\x00", "é"]
    typed = "" if data is None else data.draw(st.one_of(
        st.tuples(st.sampled_from(names).flatmap(flip_case), st.sampled_from(["", "/", " "])).map("".join),
        pieces(pieces_, max_size=6), st.text(max_size=30)), label="typed")
    # when it is resolved
    with no_writes() as writes:
        try:
            ref = resolve_cluster(reads, typed)
        except UnknownClusterError as exc:
            # then a refusal quotes what was typed and says what to do
            assert str(exc).startswith((f"unknown cluster '{typed}'", f"cluster name '{typed}' is ambiguous"))
            assert any(hint in str(exc) for hint in ("visible clusters", "use its ARM id", "sees no cluster"))
        else:
            # or the cluster is the one named, ignoring case and a trailing slash or blank
            assert isinstance(ref, ClusterRef)
            want = typed.strip().lower().rstrip("/")
            assert want in (ref.name.lower(), ref.id.lower())
    assert writes == []
    assert sim.journal() == []  # resolving only reads


def test_every_cluster_resolves_by_id_in_any_case(sim: Sim) -> None:
    reads = Reads(sim.clients())
    fleet = clusters(reads.clients)
    assert len(fleet) >= 2
    for c in fleet:
        assert resolve_cluster(reads, f" {c.id.upper()}/ ").id == c.id


_REAL: dict[str, tuple[str, str]] = {}


@FUZZ
@given(data=st.data())
def test_the_real_kubeconfig_mutated_parses_or_names_the_cluster(sim: Sim, data: st.DataObject) -> None:
    # given the kubeconfig the twin's AKS returns for a cluster (what Clients.kube() reads)
    from azure.mgmt.containerservice import ContainerServiceClient

    if sim.arm not in _REAL:  # once per served twin: the examples only vary the damage
        c = clusters(sim.clients())[0]
        creds = sim.clients().arm(ContainerServiceClient, c.subscription_id).managed_clusters \
            .list_cluster_user_credentials(c.resource_group, c.name)
        _REAL[sim.arm] = (c.name, bytes((creds.kubeconfigs or [])[0].value or b"").decode())
    name, real = _REAL[sim.arm]
    assert parse_kubeconfig(real.encode(), cluster=name)["current-context"] == name
    # when it is damaged, then it is still a document the client can use, or refused by name
    text = data.draw(st.one_of(mutated(real), pieces(YAML_PIECES)), label="kubeconfig")
    with no_writes() as writes:
        try:
            doc = parse_kubeconfig(text.encode("utf-8", "replace"), cluster=name)
        except KubeconfigError as exc:
            assert f"cluster {name}" in str(exc), str(exc)
        else:
            assert doc["current-context"] in [x["name"] for x in doc["contexts"]]
    assert writes == []
