"""The World: all simulated state, keyed by lower-cased ARM id.

State is plain JSON-able data so it can be snapshotted, compared, reset and persisted to a
state directory across restarts. Keys that start with ``_`` are the simulator's private
bookkeeping (pending operations, secret hashes, effective times) and are never rendered.
"""

from __future__ import annotations

import copy
import json
import threading
import time
import uuid
from pathlib import Path
from typing import Any

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
    # ARM throttling model (token buckets per subscription+principal); off unless enabled
    "throttling": {"enabled": False, "reads_burst": 250, "reads_per_second": 25,
                   "writes_burst": 200, "writes_per_second": 10},
    # the public address every client (pullfix, az, tests) reaches public endpoints from, as
    # registry firewalls (networkRuleSet.ipRules) see it
    "client_public_ip": "198.51.100.7",
}


def public(doc: Any) -> Any:
    """A deep copy without private (``_``-prefixed) keys."""
    if isinstance(doc, dict):
        return {k: public(v) for k, v in doc.items() if not k.startswith("_")}
    if isinstance(doc, list):
        return [public(v) for v in doc]
    return doc


class World:
    """State of one simulated cloud (one tenant, any number of subscriptions)."""

    def __init__(self, tenant_id: str | None = None) -> None:
        self.lock = threading.RLock()
        self.state: dict[str, Any] = self._empty(tenant_id or str(uuid.uuid4()))
        self._initial: dict[str, Any] = copy.deepcopy(self.state)
        self.journal: list[dict[str, Any]] = []
        self.listeners: list[Any] = []  # callables(world) run after each write (e.g. the kubelet)

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
        self._initial = copy.deepcopy(self.state)

    def reset(self) -> None:
        with self.lock:
            self.state = copy.deepcopy(self._initial)
            self.journal.clear()
            self.changed()

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return copy.deepcopy(self.state)

    def restore(self, snap: dict[str, Any]) -> None:
        with self.lock:
            self.state = copy.deepcopy(snap)
            self.changed()

    def save(self, directory: Path) -> None:
        with self.lock:
            tmp = directory / "world.json.tmp"
            tmp.write_text(json.dumps({"state": self.state, "initial": self._initial,
                                       "journal": self.journal}))
            tmp.chmod(0o600)
            tmp.replace(directory / "world.json")

    @classmethod
    def load(cls, directory: Path) -> World | None:
        path = directory / "world.json"
        if not path.exists():
            return None
        data = json.loads(path.read_text())
        world = cls(data["state"]["tenant_id"])
        world.state = data["state"]
        world._initial = data["initial"]
        world.journal = data["journal"]
        return world

    # -- change notification ------------------------------------------------------------------
    def changed(self) -> None:
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
        with self.lock:
            self.resources[key(doc["id"])] = doc
            return doc

    def delete(self, resource_id: str) -> dict[str, Any] | None:
        with self.lock:
            return self.resources.pop(key(resource_id), None)

    def children(self, parent_id: str, child_type: str | None = None) -> list[dict[str, Any]]:
        """Resources directly or indirectly below ``parent_id``, optionally of one type."""
        prefix = key(parent_id) + "/"
        out = [r for k, r in self.resources.items() if k.startswith(prefix)]
        if child_type:
            out = [r for r in out if r.get("type", "").lower() == child_type.lower()]
        return out

    def of_type(self, resource_type: str, scope: str | None = None) -> list[dict[str, Any]]:
        t = resource_type.lower()
        prefix = key(scope) + "/" if scope else "/"
        return [
            r for k, r in self.resources.items()
            if r.get("type", "").lower() == t and k.startswith(prefix)
        ]

    def find_by_name(self, resource_type: str, name: str) -> dict[str, Any] | None:
        for r in self.of_type(resource_type):
            if r["name"].lower() == name.lower():
                return r
        return None

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


def _merge(target: dict[str, Any], patch: dict[str, Any]) -> None:
    for k, v in patch.items():
        if isinstance(v, dict) and isinstance(target.get(k), dict):
            _merge(target[k], v)
        else:
            target[k] = copy.deepcopy(v)


merge = _merge
