"""``pullfix remediate`` of one cluster, end to end: the wall an operator waits, and where it goes.

It serves a library scenario (default ``missing-pull-role``: the kubelet identity lacks
AcrPull) with no network latency and the twin's clock ``--speedup`` times faster than Azure's
(default 1,000: a role assignment honoured after 5 minutes is honoured after 0.3 s, so the
wall is pullfix's own time; at ``--speedup 100`` Azure's 5 minutes cost 3 s of it), runs the
real command ``python -m flows.cli remediate --cluster NAME --policy policies/default.yaml``
against a Prefect server (``$PREFECT_API_URL``, or one started here), ``--runs`` times on a
fresh world each, and writes JSON per run:

- ``wall_s`` (process start to exit), ``cpu_s`` (the command's user + system CPU), ``outcome``;
- ``phases`` from the run's own audit records (timestamps of the same clock): ``startup_s``
  (process start → ``run-started``: interpreter, imports, the policy, the cluster's
  resolution, the flow run's creation), ``remediation_s`` (``run-started`` → ``run-ended``:
  diagnosis passes, the fix, its verification, Azure's propagation at this speedup) and
  ``shutdown_s`` (``run-ended`` → exit: the report, the flow run's final state, Prefect's
  flushes, the interpreter's exit);
- and the median of each over the runs; ``--warmup`` runs (default 1) come first and are
  reported apart: the first remediation a Prefect server sees pays for its warm-up.

    .venv/bin/python bench/remediate_one.py --runs 3 --out bench/results/remediate-one.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

if __package__ in (None, ""):  # `python bench/remediate_one.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._measure import prefect_server, run_child  # noqa: E402
from tests.simharness import ROOT, Sim, env_with  # noqa: E402


class BenchError(RuntimeError):
    pass


def _world(scenario: str, speedup: float, workdir: Path) -> Path:
    """The scenario with the twin's clock at ``speedup`` from its first instant (changing it
    later leaves back-offs already scheduled at the old pace) and no latency."""
    path = Path(scenario)
    if not path.exists():
        path = ROOT / "simulator" / "scenarios" / f"{scenario}.yaml"
    if not path.exists():
        raise BenchError(f"no scenario '{scenario}': name one in simulator/scenarios/ or a YAML path")
    doc = yaml.safe_load(path.read_text())
    doc["settings"] = {**(doc.get("settings") or {}), "speedup": speedup, "latency_ms": 0}
    out = workdir / path.name
    out.write_text(yaml.safe_dump(doc, sort_keys=False))
    return out


def _cluster(scenario_file: Path) -> str:
    doc = yaml.safe_load(scenario_file.read_text())
    names = [r["name"] for r in doc.get("resources") or [] if r.get("kind") == "cluster"]
    if len(names) != 1:
        raise BenchError(f"{scenario_file.name} has {len(names)} clusters; name a scenario with one")
    return str(names[0])


def _stamp(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def one_run(scenario_file: Path, *, api_url: str, workdir: Path, timeout: float) -> dict[str, Any]:
    cluster = _cluster(scenario_file)
    (workdir / "sim").mkdir(parents=True)
    sim = Sim(str(scenario_file), workdir / "sim")
    try:
        env = env_with(sim, PULLFIX_HOME=str(workdir / "home"), PREFECT_API_URL=api_url,
                       PYTHONDONTWRITEBYTECODE=None)
        started = time.time()
        run = run_child([sys.executable, "-m", "flows.cli", "remediate", "--cluster", cluster,
                         "--policy", "policies/default.yaml", "-o", "json"],
                        env=env, timeout=timeout, name="pullfix")
        ended = started + run.wall_s
        if run.returncode not in (0, 1):
            raise BenchError(f"pullfix remediate exited {run.returncode}: {run.stderr[-1500:]}")
        exported = run_child([sys.executable, "-m", "flows.cli", "audit", "export",
                              "--format", "jsonl"], env=env, timeout=120)
    finally:
        sim.stop()
    records = [json.loads(line) for line in exported.stdout.splitlines() if line.strip()]
    at = {r["kind"]: _stamp(r["at"]) for r in records if r["kind"] in ("run-started", "run-ended")}
    if set(at) != {"run-started", "run-ended"}:
        raise BenchError(f"the audit log holds no complete run: {[r['kind'] for r in records]}")
    summary = json.loads(run.stdout)
    return {"wall_s": round(run.wall_s, 2), "cpu_s": round(run.cpu_s, 2),
            "outcome": summary.get("outcome"),
            "phases": {"startup_s": round(at["run-started"] - started, 2),
                       "remediation_s": round(at["run-ended"] - at["run-started"], 2),
                       "shutdown_s": round(ended - at["run-ended"], 2)}}


def measure(*, scenario: str, speedup: float, runs: int, warmup: int, timeout: float
            ) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="pullfix-remediate-bench-") as tmp_s:
        tmp = Path(tmp_s)
        scenario_file = _world(scenario, speedup, tmp)
        _cluster(scenario_file)  # one cluster, or say so before serving anything
        (tmp / "prefect").mkdir()
        with prefect_server(workdir=tmp / "prefect") as server:
            # the first remediation a Prefect server sees pays for its own warm-up (its first
            # queries, its services starting): measured, reported, left out of the medians
            warm = [one_run(scenario_file, api_url=server.api_url, workdir=tmp / f"warmup{i}",
                            timeout=timeout) for i in range(warmup)]
            results = [one_run(scenario_file, api_url=server.api_url, workdir=tmp / f"run{i}",
                               timeout=timeout) for i in range(runs)]

    def median(get: Any) -> float:
        return round(statistics.median(get(r) for r in results), 2)

    return {"scenario": scenario, "speedup": speedup, "latency_ms": 0, "runs": results,
            "warmup_runs": warm,
            "wall_s": median(lambda r: r["wall_s"]), "cpu_s": median(lambda r: r["cpu_s"]),
            "phases": {k: median(lambda r, k=k: r["phases"][k])
                       for k in ("startup_s", "remediation_s", "shutdown_s")},
            "outcomes": sorted({str(r["outcome"]) for r in results})}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scenario", default="missing-pull-role",
                    help="library scenario name or YAML path (one cluster)")
    ap.add_argument("--speedup", type=float, default=1000.0,
                    help="the twin's clock against Azure's (1000: Azure's 5 minutes take 0.3 s)")
    ap.add_argument("--runs", type=int, default=3, help="runs, each on a fresh world")
    ap.add_argument("--warmup", type=int, default=1,
                    help="runs before the measured ones, reported apart (the Prefect server's "
                         "first remediation pays for its own warm-up)")
    ap.add_argument("--timeout", type=float, default=900, help="seconds per run")
    ap.add_argument("--out", type=Path, default=None, help="write the JSON here")
    args = ap.parse_args(argv)
    if args.runs < 1 or args.warmup < 0 or args.speedup <= 0:
        ap.error("--runs must be ≥ 1, --warmup ≥ 0 and --speedup > 0")
    try:
        result = measure(scenario=args.scenario, speedup=args.speedup, runs=args.runs,
                         warmup=args.warmup, timeout=args.timeout)
    except BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2
    text = json.dumps(result, indent=2)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
