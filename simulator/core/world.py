"""The World: all simulated state, keyed by lower-cased ARM id.

State is plain JSON-able data so it can be snapshotted, compared, reset and persisted to a
state directory across restarts. Keys that start with ``_`` are the simulator's private
bookkeeping (pending operations, secret hashes, effective times) and are never rendered.
"""

from __future__ import annotations

import collections
import copy
import json
import pickle
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from simulator.core import errors
from simulator.core.ids import key, parse

DEFAULT_SETTINGS: dict[str, Any] = {
    # how long a new role assignment takes to be honoured: Azure documents "up to 10 minutes"
    # (longer for group memberships); five minutes is a typical wait
    "role_propagation_seconds": 300.0,
    # how long a long-running operation stays InProgress (Azure: tens of seconds for network
    # and registry updates, minutes for clusters)
    "lro_seconds": 30.0,
    # Azure's delays (role assignment propagation, LRO durations) pass this many times faster
    # than wall time, so operators and tests rehearse minutes-long waits in seconds; timestamps
    # stay on the wall clock, so tokens, expiry dates and the activity log agree with clients
    "speedup": 1.0,
    # the poll interval the simulator advertises with retry-after-ms
    "retry_after_ms": 100,
    # multiplies the kubelet's image pull back-off (10 s doubling to 300 s); tests compress it
    "kubelet_backoff_scale": 1.0,
    # ARM throttling model (simulator.core.throttling: token buckets per subscription,
    # principal and operation type, and global ones ``global_factor`` times larger that all
    # principals share); off unless enabled
    "throttling": {"enabled": False, "reads_burst": 250, "reads_per_second": 25,
                   "writes_burst": 200, "writes_per_second": 10,
                   "deletes_burst": 200, "deletes_per_second": 10, "global_factor": 15},
    # network latency added to every cloud request (ARM, Entra, Graph, Kubernetes, registry;
    # not the control API), in wall milliseconds: speedup does not shorten it
    "latency_ms": 0,
    # the public address every client (pullfix, az, tests) reaches public endpoints from, as
    # registry firewalls (networkRuleSet.ipRules) see it
    "client_public_ip": "198.51.100.7",
}


T = TypeVar("T")


def clone(doc: T) -> T:
    """A deep copy of plain JSON-able state; pickling copies such trees several times faster
    than ``copy.deepcopy`` (a 1,000-cluster world holds hundreds of thousands of nodes)."""
    return pickle.loads(pickle.dumps(doc, protocol=pickle.HIGHEST_PROTOCOL))  # noqa: S301


def _freeze(state: dict[str, Any]) -> bytes:
    return pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL)


def _thaw(blob: bytes) -> dict[str, Any]:
    return pickle.loads(blob)  # type: ignore[no-any-return]  # noqa: S301 — our own bytes


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    tmp.chmod(0o600)
    tmp.replace(path)


_NESTED = (dict, list)


def public(doc: Any) -> Any:
    """A deep copy without private (``_``-prefixed) keys. Every answer is rendered through
    it, so leaves (most of a document) are copied inline rather than by a call each."""
    if isinstance(doc, dict):
        return {k: public(v) if isinstance(v, _NESTED) else v
                for k, v in doc.items() if not k.startswith("_")}
    if isinstance(doc, list):
        return [public(v) if isinstance(v, _NESTED) else v for v in doc]
    return doc


class World:
    """State of one simulated cloud (one tenant, any number of subscriptions)."""

    def __init__(self, tenant_id: str | None = None) -> None:
        self.lock = threading.RLock()
        self.state: dict[str, Any] = self._empty(tenant_id or str(uuid.uuid4()))
        # what reset() returns to, pickled (a copy of it is made per reset; it is written to
        # the state directory once per mark_initial, not on every persisted write)
        self._initial = _freeze(self.state)
        self._initial_saved = False
        self._initial_writer: threading.Thread | None = None
        self.journal: list[dict[str, Any]] = []
        self.listeners: list[Any] = []  # callables(world) run after each write (e.g. the kubelet)
        # indexes over state["resources"], rebuilt whenever the state is replaced (reset,
        # restore, load) and kept by put/delete, so lookups by type do not scan every resource
        self._by_type: dict[str, dict[str, dict[str, Any]]] = {}
        self._lookups: dict[str, _Lookup] = {}
        self._reindex()
        # how much work the twin did, for tests and benchmarks (not state: a restart starts at 0)
        self.counters: collections.Counter[str] = collections.Counter()
        # bumped by every changed(): with ``epoch`` (this process's world) it tells caches
        # whether anything may have moved since they were filled
        self.changes = 0
        self.epoch = uuid.uuid4().hex

    @staticmethod
    def _empty(tenant_id: str) -> dict[str, Any]:
        return {
            "tenant_id": tenant_id,
            "clock_offset": 0.0,
            "settings": copy.deepcopy(DEFAULT_SETTINGS),
            "subscriptions": {},
            "resources": {},
            "graph": {"applications": {}, "servicePrincipals": {}, "users": {}, "groups": {}},
            "operations": {},
            "activity_log": [],
            "faults": [],
            "scenario": {},
        }

    # -- views -------------------------------------------------------------------------------
    @property
    def tenant_id(self) -> str:
        return self.state["tenant_id"]

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        return self.state["resources"]

    @property
    def graph(self) -> dict[str, dict[str, Any]]:
        return self.state["graph"]

    @property
    def settings(self) -> dict[str, Any]:
        return self.state["settings"]

    def now(self) -> float:
        """World time: wall clock plus an offset tests and operators may advance."""
        return time.time() + self.state["clock_offset"]

    def delay(self, seconds: float) -> float:
        """How long one of Azure's delays (role assignment propagation, an LRO) really takes
        here: ``seconds`` divided by ``settings.speedup``."""
        return float(seconds) / max(float(self.settings.get("speedup", 1.0)), 1e-9)

    def advance(self, seconds: float) -> None:
        with self.lock:
            self.state["clock_offset"] += seconds
            self.settle()

    # -- lifecycle -----------------------------------------------------------------------------
    def mark_initial(self) -> None:
        """Remember the current state as what ``reset()`` returns to."""
        self._initial = _freeze(self.state)
        self._initial_saved = False

    def reset(self) -> None:
        with self.lock:
            self.state = _thaw(self._initial)
            self._reindex()
            self.journal.clear()
            self.changed()

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return clone(self.state)

    def restore(self, snap: dict[str, Any]) -> None:
        with self.lock:
            self.state = clone(snap)
            self._reindex()
            self.changed()

    def save(self, directory: Path) -> None:
        """Persist the state (and, once per ``mark_initial``, the initial state) so a restart
        with the same directory resumes the same world."""
        writer = self._initial_writer
        if writer is not None:
            writer.join()
        with self.lock:
            if not self._initial_saved:
                _write(directory / "world-initial.json", json.dumps(_thaw(self._initial)))
                self._initial_saved = True
            _write(directory / "world.json", json.dumps({"state": self.state,
                                                         "journal": self.journal}))

    def save_initial(self, directory: Path) -> None:
        """Persist a world that is still as built: its initial state only (a load with no
        ``world.json`` resumes it), written by a background thread from the frozen initial
        state, so a fleet's start does not wait for it; ``save`` waits for it first. (Should
        the process die before it is written, a restart builds the same scenario again.)"""
        (directory / "world.json").unlink(missing_ok=True)
        (directory / "world-initial.json").unlink(missing_ok=True)
        blob = self._initial
        self._initial_saved = True

        def write() -> None:
            _write(directory / "world-initial.json", json.dumps(_thaw(blob)))

        self._initial_writer = threading.Thread(target=write, name="save-initial", daemon=True)
        self._initial_writer.start()

    @classmethod
    def load(cls, directory: Path) -> World | None:
        path = directory / "world.json"
        initial_only = directory / "world-initial.json"
        if not path.exists() and initial_only.exists():
            data = json.loads(initial_only.read_text())
            world = cls(data["tenant_id"])
            world.state = data
            world._initial = _freeze(data)
            world._initial_saved = True
            world._reindex()
            return world
        if not path.exists():
            return None
        data = json.loads(path.read_text())
        world = cls(data["state"]["tenant_id"])
        world.state = data["state"]
        initial = directory / "world-initial.json"
        # a state directory written before the initial state had its own file keeps it inline
        world._initial = _freeze(data["initial"] if "initial" in data
                                 else json.loads(initial.read_text()))
        world._initial_saved = "initial" not in data
        world.journal = data["journal"]
        world._reindex()
        return world

    # -- change notification ------------------------------------------------------------------
    def changed(self) -> None:
        self.changes += 1
        for listener in list(self.listeners):
            listener(self)

    def record_write(self, entry: dict[str, Any]) -> None:
        with self.lock:
            entry = dict(entry, seq=len(self.journal) + 1, time=self.now())
            self.journal.append(entry)

    # -- resources -----------------------------------------------------------------------------
    def get(self, resource_id: str) -> dict[str, Any] | None:
        return self.resources.get(key(resource_id))

    def require_scope(self, resource_id: str) -> None:
        """Raise the error ARM gives when the subscription or resource group is missing."""
        p = parse(resource_id)
        if p.subscription and p.subscription.lower() not in {
            s.lower() for s in self.state["subscriptions"]
        }:
            raise errors.subscription_not_found(p.subscription)
        if p.subscription and p.resource_group:
            rg_id = f"/subscriptions/{p.subscription}/resourceGroups/{p.resource_group}"
            if key(rg_id) not in self.resources:
                raise errors.group_not_found(p.resource_group)

    def must_get(self, resource_id: str) -> dict[str, Any]:
        res = self.get(resource_id)
        if res is None:
            self.require_scope(resource_id)
            p = parse(resource_id)
            raise errors.not_found(p.resource_type, "/".join(p.names), p.resource_group)
        return res

    def put(self, doc: dict[str, Any]) -> dict[str, Any]:
        """Store ``doc`` (or re-index it after an in-place edit of an indexed field)."""
        with self.lock:
            k = key(doc["id"])
            old = self.resources.get(k)
            self.resources[k] = doc
            t = _type(doc)
            if old is not None and _type(old) != t:
                # a replacement of another type keeps its place in the resources: rebuild
                self._reindex()
                return doc
            self._by_type.setdefault(t, {})[k] = doc
            for lookup in self._lookups.values():
                if lookup.resource_type == t:
                    lookup.add(k, doc)
            return doc

    def delete(self, resource_id: str) -> dict[str, Any] | None:
        with self.lock:
            k = key(resource_id)
            doc = self.resources.pop(k, None)
            if doc is not None:
                t = _type(doc)
                self._by_type.get(t, {}).pop(k, None)
                for lookup in self._lookups.values():
                    if lookup.resource_type == t:
                        lookup.remove(k)
            return doc

    # -- indexes -------------------------------------------------------------------------------
    def _reindex(self) -> None:
        """Rebuild every index from ``state["resources"]`` (in its order, so lookups answer
        as a scan of the resources would)."""
        if hasattr(self, "counters"):
            self.counters["index_rebuilds"] += 1
        self._by_type = {}
        for k, doc in self.resources.items():
            self._by_type.setdefault(_type(doc), {})[k] = doc
        for lookup in self._lookups.values():
            lookup.rebuild(self._by_type.get(lookup.resource_type, {}))

    def lookup(self, name: str, resource_type: str, values: Callable[[dict[str, Any]], list[str]],
               value: str) -> list[dict[str, Any]]:
        """Resources of one type whose ``values(doc)`` include ``value``, from an index named
        ``name`` that ``put``/``delete`` keep (created on first use). ``values`` reads fields
        of the stored document: whoever edits such a field in place calls ``put`` again."""
        found = self._lookups.get(name)
        if found is None:
            found = self._lookups[name] = _Lookup(resource_type.lower(), values)
            found.rebuild(self._by_type.get(found.resource_type, {}))
        return list(found.by_value.get(value, {}).values())

    def check_indexes(self) -> list[str]:
        """Differences between the indexes and a full scan of the resources (empty when they
        agree); the control API exposes it so tests can prove the indexes stay consistent."""
        scan: dict[str, dict[str, dict[str, Any]]] = {}
        for k, doc in self.resources.items():
            scan.setdefault(_type(doc), {})[k] = doc
        problems = []
        for t in sorted(set(scan) | {t for t, b in self._by_type.items() if b}):
            want, got = scan.get(t, {}), self._by_type.get(t, {})
            if list(want) != list(got):
                problems.append(f"type {t}: index has {sorted(set(got) - set(want))} extra, "
                                f"{sorted(set(want) - set(got))} missing"
                                + ("" if set(want) != set(got) else " (order differs)"))
            elif any(want[k] is not got[k] for k in want):
                problems.append(f"type {t}: index holds stale documents")
        for name, lookup in sorted(self._lookups.items()):
            fresh = _Lookup(lookup.resource_type, lookup.values)
            fresh.rebuild(scan.get(lookup.resource_type, {}))
            have = {v: set(b) for v, b in lookup.by_value.items() if b}
            want_v = {v: set(b) for v, b in fresh.by_value.items() if b}
            wrong = sorted(v for v in set(have) | set(want_v) if have.get(v) != want_v.get(v))
            if wrong:
                problems.append(f"lookup {name}: differs from a scan for values {wrong}")
        return problems

    def children(self, parent_id: str, child_type: str | None = None) -> list[dict[str, Any]]:
        """Resources directly or indirectly below ``parent_id``, optionally of one type."""
        if child_type:
            return self.of_type(child_type, parent_id)
        prefix = key(parent_id) + "/"
        return [r for k, r in self.resources.items() if k.startswith(prefix)]

    def of_type(self, resource_type: str, scope: str | None = None) -> list[dict[str, Any]]:
        bucket = self._by_type.get(resource_type.lower())
        if not bucket:
            return []
        if not scope:
            return list(bucket.values())
        prefix = key(scope) + "/"
        return [r for k, r in bucket.items() if k.startswith(prefix)]

    def named(self, resource_type: str, name: str, scope: str | None = None
              ) -> list[dict[str, Any]]:
        """Resources of one type with this name (case-insensitive), optionally below a scope."""
        found = self.lookup(f"name:{resource_type.lower()}", resource_type, _name_values,
                            name.lower())
        if scope:
            prefix = key(scope) + "/"
            found = [r for r in found if key(r["id"]).startswith(prefix)]
        return found

    def find_by_name(self, resource_type: str, name: str) -> dict[str, Any] | None:
        found = self.named(resource_type, name)
        return found[0] if found else None

    # -- long-running operations ---------------------------------------------------------------
    def begin_operation(
        self,
        *,
        resource_id: str,
        kind: str,
        apply: dict[str, Any] | None = None,
        seconds: float | None = None,
    ) -> str:
        """Start an LRO on ``resource_id``; ``apply`` is merged (or the resource deleted when
        kind == 'delete') when it completes. Returns the operation id."""
        with self.lock:
            op_id = str(uuid.uuid4())
            duration = self.delay(self.settings["lro_seconds"]) if seconds is None else seconds
            self.state["operations"][op_id] = {
                "id": op_id,
                "resource_id": resource_id,
                "kind": kind,
                "apply": apply,
                "status": "InProgress",
                "startTime": self.now(),
                "done_at": self.now() + duration,
            }
            return op_id

    def running_operation(self, resource_id: str) -> dict[str, Any] | None:
        self.settle()
        for op in self.state["operations"].values():
            if op["status"] == "InProgress" and key(op["resource_id"]) == key(resource_id):
                return op
        return None

    def operation(self, op_id: str) -> dict[str, Any] | None:
        self.settle()
        return self.state["operations"].get(op_id)

    def settle(self) -> None:
        """Complete every operation whose time has come."""
        done = False
        with self.lock:
            now = self.now()
            for op in self.state["operations"].values():
                if op["status"] != "InProgress" or op["done_at"] > now:
                    continue
                op["status"] = "Succeeded"
                op["endTime"] = now
                res = self.get(op["resource_id"])
                if op["kind"] == "delete":
                    if res is not None:
                        self.delete(op["resource_id"])
                        for child in self.children(op["resource_id"]):
                            self.delete(child["id"])
                elif res is not None:
                    _merge(res, op.get("apply") or {})
                    res.setdefault("properties", {})
                    if "provisioningState" in res["properties"]:
                        res["properties"]["provisioningState"] = "Succeeded"
                done = True
        if done:
            self.changed()


def _type(doc: dict[str, Any]) -> str:
    return str(doc.get("type", "")).lower()


def _name_values(doc: dict[str, Any]) -> list[str]:
    return [str(doc.get("name", "")).lower()]


class _Lookup:
    """One secondary index: value -> {resource key: document}, kept in the resources' order
    as long as documents keep their values; ``keys_of`` remembers what each document was
    filed under so an in-place edit followed by ``put`` re-files it."""

    def __init__(self, resource_type: str, values: Callable[[dict[str, Any]], list[str]]) -> None:
        self.resource_type = resource_type
        self.values = values
        self.by_value: dict[str, dict[str, dict[str, Any]]] = {}
        self.keys_of: dict[str, list[str]] = {}

    def rebuild(self, bucket: dict[str, dict[str, Any]]) -> None:
        self.by_value, self.keys_of = {}, {}
        for k, doc in bucket.items():
            self.add(k, doc)

    def add(self, k: str, doc: dict[str, Any]) -> None:
        new = list(dict.fromkeys(self.values(doc)))
        old = self.keys_of.get(k)
        if old == new:
            for v in new:
                self.by_value[v][k] = doc  # same place, new document
            return
        if old is not None:
            self.remove(k)
        self.keys_of[k] = new
        for v in new:
            self.by_value.setdefault(v, {})[k] = doc

    def remove(self, k: str) -> None:
        for v in self.keys_of.pop(k, []):
            bucket = self.by_value.get(v)
            if bucket is not None:
                bucket.pop(k, None)
                if not bucket:
                    del self.by_value[v]


def _merge(target: dict[str, Any], patch: dict[str, Any]) -> None:
    for k, v in patch.items():
        if isinstance(v, dict) and isinstance(target.get(k), dict):
            _merge(target[k], v)
        else:
            target[k] = copy.deepcopy(v)


merge = _merge
