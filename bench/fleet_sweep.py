"""Benchmark: pullfix's plan sweep of a generated fleet, against ARM's throttle floor and
against the az CLI way (issue 12).

    .venv/bin/python bench/fleet_sweep.py --clusters 1000 --subscriptions 1 --pods 20 \\
        --failing 0.05 --latency-ms 30 --az-sample 5 --out bench/results/x.json
    .venv/bin/python bench/fleet_sweep.py --table            # the README's matrix

What it does, in order:

1. serves the fleet (``fleet:SxC:SEED?pods=N&failing=F``; without ``--pods``/``--failing`` the
   generator's classic ``fleet:SxC:SEED``) in a real simulator process with per-call latency
   (``latency_ms``) and ARM's throttling model on (``throttling.enabled``: token buckets per
   subscription, principal and operation type, and global ones; ``--throttling`` sets smaller
   buckets, so that a small fleet is ARM-bound);
2. reports to the Prefect server ``$PREFECT_API_URL`` names, or starts one (``prefect server
   start`` on a free port, a temporary ``PREFECT_HOME``) and stops it after;
3. runs ``pullfix sweep --mode plan -o json`` in a child process pointed at the twin (the
   connection file's environment), and measures it apart from everything else: wall time, CPU
   (user + system, the kernel's ``wait4`` accounting of the child and what it waited for), peak
   resident memory (the kernel's peak of the process, or the sampled peak of its process tree
   when it starts servers of its own); the simulator's CPU over the sweep (``psutil``); the
   Prefect server's memory when this benchmark started it (reported apart, in ``breakdown``);
4. counts the requests the twin served per route (``GET /_sim/stats``) and computes ``floor_s``
   and the ARM calls per healthy/failing cluster as ``bench/_floor.py`` documents (the latter
   with a second, healthy-only sweep of the same shape: ``failing=0``, or ``--baseline-spec``);
5. on a sample of clusters (failing ones first, at least one healthy one when the sample has
   room), times the guide's az/kubectl commands per cluster with the real az CLI
   (``bench/_operator.py``): ``az_s_per_cluster`` weighs the failing and healthy means by the
   fleet's failing share; ``speedup_vs_az = az_s_per_cluster / (wall_s / clusters)``.

It prints one line and writes the JSON (``--out``): ``clusters``, ``failing`` (clusters), ``wall_s``,
``floor_s``, ``ratio_to_floor``, ``arm_calls_per_healthy``, ``arm_calls_per_failing``,
``pullfix_cpu_ms_per_cluster``, ``sim_cpu_ms_per_cluster``, ``peak_rss_mb``, ``throttled_429s``,
``az_s_per_cluster``, ``speedup_vs_az``, and ``breakdown`` (calls per service and per ARM route,
the buckets' times, start-up, the az sample's commands). A setting the simulator does not have
(an older twin) is named in ``breakdown.not_applied`` and left out of the floor, never faked.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import sys
import tempfile
import time
from collections import Counter
from itertools import zip_longest
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import psutil
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _floor  # noqa: E402
from bench._measure import (  # noqa: E402
    MB,
    PeakSampler,
    PrefectServer,
    cpu_seconds,
    prefect_server,
    run_child,
)
from tests.simharness import ROOT, Sim, env_with  # noqa: E402

KEYS = ("clusters", "failing", "wall_s", "floor_s", "ratio_to_floor", "arm_calls_per_healthy",
        "arm_calls_per_failing", "pullfix_cpu_ms_per_cluster", "sim_cpu_ms_per_cluster",
        "peak_rss_mb", "throttled_429s", "az_s_per_cluster", "speedup_vs_az")
TABLE_SIZES = (100, 300, 1000)
TABLE_SUBSCRIPTIONS = (1, 10)


class BenchError(Exception):
    """A benchmark that cannot run: said in one line."""


# -- the fleet ---------------------------------------------------------------------------------
def fleet_spec(*, clusters: int, subscriptions: int, seed: int, pods: int | None,
               failing: float | None) -> str:
    if subscriptions < 1 or clusters < subscriptions or clusters % subscriptions:
        raise BenchError(f"--clusters {clusters} is not a multiple of --subscriptions "
                         f"{subscriptions}: every subscription holds the same number of clusters")
    query = {k: v for k, v in (("pods", pods), ("failing", failing)) if v is not None}
    spec = f"fleet:{subscriptions}x{clusters // subscriptions}:{seed}"
    return spec + ("?" + urlencode(query) if query else "")


def broken_clusters(spec: str) -> dict[str, str] | None:
    """The fleet's broken clusters and each one's cause, from the generator's ``expect``
    (``causes``, or the older generators' ``notes``); None if the generator cannot say."""
    from simulator.fleet import generate_from_spec

    try:
        expect = generate_from_spec(spec.split(":", 1)[1])["expect"]
    except ValueError:
        return None
    if isinstance(expect.get("causes"), dict):
        return {str(k): str(v) for k, v in expect["causes"].items()}
    named = dict(re.findall(r"([\w.-]+): ([\w-]+)", str(expect.get("notes", "")).split("):", 1)[-1]))
    return {p["cluster"]: named.get(p["cluster"], "unknown") for p in expect["pods"]}


def serve(spec: str, workdir: Path, *, latency_ms: float, notes: list[str],
          throttling: dict[str, Any] | None = None) -> tuple[Sim, dict[str, Any]]:
    """The fleet served with ARM's throttling on (``throttling``: other bucket sizes) and
    ``latency_ms`` per call; returns the twin and its settings as it applies them."""
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        sim = Sim(spec, workdir)
    except RuntimeError as exc:
        raise BenchError(f"the simulator refused fleet '{spec}': {str(exc).strip()[-600:]}") from exc
    try:
        try:
            settings = sim.settings(throttling={**(throttling or {}), "enabled": True})
        except requests.HTTPError as exc:
            raise BenchError(f"the simulator refused --throttling: {_error(exc)}") from exc
        if latency_ms:
            try:
                settings = sim.settings(latency_ms=latency_ms)
            except requests.HTTPError as exc:
                notes.append(f"latency_ms: the simulator refused it ({_error(exc)}); measured "
                             "without latency")
    except BaseException:
        sim.stop()
        raise
    return sim, settings


def _error(exc: requests.HTTPError) -> str:
    try:
        return str(exc.response.json()["error"]["message"])
    except Exception:  # noqa: BLE001 - any body: its status then
        return f"HTTP {exc.response.status_code}"


def refill(sim: Sim) -> None:
    """Start ARM's token buckets full (the simulator clears them when its settings change)."""
    sim.settings(throttling={"enabled": True})


def split_stats(stats: dict[str, Any], routes: dict[str, _floor.RouteKind]
                ) -> tuple[dict[str, int], int | None]:
    """Per-route counts and the 429s served: the twin counts them under ``"429"`` (once one
    was served); None from a twin that does not count them (no ``simulator.core.throttling``)."""
    counts = {k: v for k, v in stats.items() if isinstance(v, int) and k in routes}
    if "429" in stats:
        return counts, int(stats["429"])
    return counts, 0 if importlib.util.find_spec("simulator.core.throttling") else None


# -- the sweep ---------------------------------------------------------------------------------
def sweep(sim: Sim, *, home: Path, api_url: str, timeout: float,
          sampler: PeakSampler | None = None) -> tuple[dict[str, Any], Any]:
    env = env_with(sim, PULLFIX_HOME=str(home), PREFECT_API_URL=api_url,
                   PYTHONDONTWRITEBYTECODE=None)
    run = run_child([sys.executable, "-m", "flows.cli", "sweep", "--mode", "plan", "-o", "json"],
                    env=env, timeout=timeout, sampler=sampler, name="pullfix")
    if run.returncode not in (0, 1):
        raise BenchError(f"pullfix sweep exited {run.returncode}: {run.stderr.strip()[-1500:]}")
    try:
        return json.loads(run.stdout), run
    except json.JSONDecodeError as exc:
        raise BenchError(f"pullfix sweep printed no JSON: {run.stdout[:300]!r}") from exc


def healthy_counts(spec: str, workdir: Path, *, api_url: str, timeout: float,
                   routes: dict[str, _floor.RouteKind], notes: list[str],
                   throttling: dict[str, Any] | None) -> tuple[_floor.Counts, int]:
    """The ARM calls of a sweep of a healthy-only fleet ``spec`` (no latency: it changes no
    count); refuses a fleet where the sweep found failing pods."""
    sim, _ = serve(spec, workdir / "sim", latency_ms=0, notes=notes, throttling=throttling)
    try:
        refill(sim)
        sim.control("DELETE", "stats")
        summary, _ = sweep(sim, home=workdir / "home", api_url=api_url, timeout=timeout)
        counts, _ = split_stats(sim.stats(), routes)
    finally:
        sim.stop()
    if summary["failing_clusters"]:
        raise BenchError(f"the healthy baseline fleet '{spec}' has {summary['failing_clusters']} "
                         "failing cluster(s): name a healthy one with --baseline-spec")
    return _floor.classify(counts, routes), int(summary["clusters"])


# -- the az CLI way ----------------------------------------------------------------------------
def az_sample(sim: Sim, summary: dict[str, Any], broken: dict[str, str], *, size: int,
              workdir: Path) -> dict[str, Any]:
    from bench._operator import Operator

    results = summary["results"]
    # failing clusters first, one cause after another, so a small sample meets the mix
    by_cause: dict[str, list[dict[str, Any]]] = {}
    for r in results:
        if r["cluster"] in broken:
            by_cause.setdefault(broken[r["cluster"]], []).append(r)
    failing = [r for group in zip_longest(*by_cause.values()) for r in group if r is not None]
    healthy = [r for r in results if r["cluster"] not in broken]
    n_failing = min(len(failing), size - 1 if size > 1 and healthy else size)
    chosen = failing[:n_failing] + healthy[:size - n_failing]
    op = Operator(sim, workdir)
    per_sub = {}
    for r in chosen:
        if r["subscription"] not in per_sub:
            op.clusters(r["subscription"])
            per_sub[r["subscription"]] = sum(1 for x in results
                                             if x["subscription"] == r["subscription"])
    timings = [op.diagnose(subscription=r["subscription"], group=r["resource_group"],
                           name=r["cluster"]) for r in chosen]
    f_times = [t.seconds for t in timings if t.cluster in broken]
    h_times = [t.seconds for t in timings if t.cluster not in broken]
    share = len(broken) / max(1, len(results))
    if f_times and h_times:
        per_cluster = share * _mean(f_times) + (1 - share) * _mean(h_times)
        weighting = f"failing share {share:.3f} x failing mean + the rest x healthy mean"
    else:
        per_cluster = _mean(f_times or h_times)
        weighting = "the sample's mean (it holds one kind of cluster only)"
    inventory = _mean([s / per_sub[sub] for sub, s in op.inventory_s.items()])
    return {"az_s_per_cluster": per_cluster + inventory, "weighting": weighting,
            "inventory_s_per_cluster": inventory,
            "failing_mean_s": _mean(f_times) if f_times else None,
            "healthy_mean_s": _mean(h_times) if h_times else None,
            "clusters": [{"cluster": t.cluster, "failing": t.failing, "seconds": round(t.seconds, 2),
                          "commands": t.commands, "errors": t.errors} for t in timings]}


def _mean(xs: list[float]) -> float:
    return sum(xs) / len(xs) if xs else 0.0


# -- one measurement ---------------------------------------------------------------------------
def measure(*, clusters: int, subscriptions: int, seed: int, pods: int | None,
            failing: float | None, latency_ms: float, az_sample_size: int,
            baseline_spec: str | None, timeout: float, server: PrefectServer,
            throttling: dict[str, Any] | None = None) -> dict[str, Any]:
    """One fleet: served, swept, compared with az, and its healthy-only twin swept."""
    spec = fleet_spec(clusters=clusters, subscriptions=subscriptions, seed=seed, pods=pods,
                      failing=failing)
    healthy_spec = baseline_spec or fleet_spec(clusters=clusters, subscriptions=subscriptions,
                                               seed=seed, pods=pods, failing=0.0)
    notes: list[str] = []
    routes = _floor.route_table()
    broken = broken_clusters(spec)
    with tempfile.TemporaryDirectory(prefix="pullfix-bench-") as tmp_s:
        tmp = Path(tmp_s)
        t = time.perf_counter()
        sim, settings = serve(spec, tmp / "sim", latency_ms=latency_ms, notes=notes,
                              throttling=throttling)
        sim_start_s = time.perf_counter() - t
        try:
            sim_proc = psutil.Process(sim.proc.pid)
            refill(sim)
            sim.control("DELETE", "stats")
            cpu0 = cpu_seconds(sim_proc)
            with PeakSampler() as sampler:
                sampler.watch("simulator", sim.proc.pid)
                if server.process is not None:
                    sampler.watch("prefect-server", server.process.pid)
                summary, run = sweep(sim, home=tmp / "home", api_url=server.api_url,
                                     timeout=timeout, sampler=sampler)
            sim_cpu_s = cpu_seconds(sim_proc) - cpu0
            per_route, throttled = split_stats(sim.stats(), routes)
            if broken is None:
                broken = {r["cluster"]: "unknown" for r in summary["results"]
                          if r["failing_pods"]}
            az: dict[str, Any] | None = None
            if az_sample_size > 0:
                refill(sim)
                az = az_sample(sim, summary, broken, size=az_sample_size, workdir=tmp / "az")
        finally:
            sim.stop()
        baseline, baseline_clusters = healthy_counts(
            healthy_spec, tmp / "baseline", api_url=server.api_url, timeout=timeout,
            routes=routes, notes=notes, throttling=throttling)
    return report(spec=spec, summary=summary, run=run, per_route=per_route, throttled=throttled,
                  routes=routes, settings=settings, latency_ms=latency_ms, notes=notes,
                  subscriptions=subscriptions, broken=broken, sim_cpu_s=sim_cpu_s,
                  sim_start_s=sim_start_s, server_start_s=server.start_s,
                  server_started=server.process is not None, sampler_peaks=sampler.peaks,
                  baseline=baseline, baseline_clusters=baseline_clusters,
                  healthy_spec=healthy_spec, az=az)


def report(*, spec: str, summary: dict[str, Any], run: Any, per_route: dict[str, int],
           throttled: int | None, routes: dict[str, _floor.RouteKind], settings: dict[str, Any],
           latency_ms: float, notes: list[str], subscriptions: int, broken: dict[str, str],
           sim_cpu_s: float, sim_start_s: float, server_start_s: float, server_started: bool,
           sampler_peaks: dict[str, int], baseline: _floor.Counts, baseline_clusters: int,
           healthy_spec: str, az: dict[str, Any] | None) -> dict[str, Any]:
    n = int(summary["clusters"])
    counts = _floor.classify(per_route, routes)
    latency_applied = "latency_ms" in settings and not any(x.startswith("latency_ms") for x in notes)
    latency_s = float(settings.get("latency_ms", 0)) / 1000 if latency_applied else 0.0
    buckets = _floor.throttle_seconds(counts, subscriptions=subscriptions,
                                      throttling=settings["throttling"], throttled=throttled or 0,
                                      speedup=float(settings.get("speedup", 1.0)))
    floor_s = _floor.floor_seconds(buckets, latency_s=latency_s, clusters=n)
    per_healthy, per_failing = _floor.per_cluster(counts, baseline, clusters=n,
                                                  failing=len(broken),
                                                  baseline_clusters=baseline_clusters)
    if throttled is None:
        notes.append("throttled_429s: the simulator's stats do not count 429s")
    peak = max(run.max_rss_bytes, run.tree_peak_bytes)
    first = next((s for s, line in run.stderr_times if "diagnosed" in line), None)
    out: dict[str, Any] = {
        "clusters": n,
        "failing": len(broken),
        "wall_s": round(run.wall_s, 3),
        "floor_s": round(floor_s, 3),
        "ratio_to_floor": round(run.wall_s / floor_s, 2) if floor_s else None,
        "arm_calls_per_healthy": round(per_healthy, 2),
        "arm_calls_per_failing": round(per_failing, 2) if per_failing is not None else None,
        "pullfix_cpu_ms_per_cluster": round(run.cpu_s * 1000 / max(1, n), 1),
        "sim_cpu_ms_per_cluster": round(sim_cpu_s * 1000 / max(1, n), 1),
        "peak_rss_mb": round(peak / MB, 1),
        "throttled_429s": throttled,
        "az_s_per_cluster": round(az["az_s_per_cluster"], 2) if az else None,
        "speedup_vs_az": (round(az["az_s_per_cluster"] / (run.wall_s / max(1, n)), 1)
                          if az else None),
    }
    out["breakdown"] = {
        "fleet": spec,
        "subscriptions": subscriptions,
        "failing_share": round(len(broken) / max(1, n), 4),
        "failing_causes": dict(Counter(broken.values()).most_common()),
        "latency_ms": latency_s * 1000,
        "throttling": settings["throttling"],
        "sweep": {"exit_code": run.returncode, "failing_clusters": summary["failing_clusters"],
                  "failing_pods": summary["failing_pods"],
                  "unreachable_clusters": len(summary["unreachable_clusters"]),
                  "first_cluster_diagnosed_s": round(first, 2) if first is not None else None},
        "pullfix": {"cpu_user_s": round(run.cpu_user_s, 2), "cpu_sys_s": round(run.cpu_sys_s, 2),
                    "max_rss_mb": round(run.max_rss_bytes / MB, 1),
                    "tree_peak_rss_mb": round(run.tree_peak_bytes / MB, 1)},
        "simulator": {"start_s": round(sim_start_s, 2), "cpu_s": round(sim_cpu_s, 2),
                      "peak_rss_mb": round(sampler_peaks.get("simulator", 0) / MB, 1)},
        "prefect_server": ({"started_by_bench": True, "start_s": round(server_start_s, 2),
                            "peak_rss_mb": round(sampler_peaks.get("prefect-server", 0) / MB, 1)}
                           if server_started else {"started_by_bench": False,
                                                   "api_url": os.environ.get("PREFECT_API_URL")}),
        "calls": {"by_service": counts.by_service, "arm": counts.arm,
                  "arm_fleet_wide_lists": counts.fleet_wide,
                  "arm_by_bucket": {k: counts.of_kind(k) for k in _floor.KINDS},
                  "arm_by_route": dict(sorted(counts.arm_by_route.items(), key=lambda kv: -kv[1])),
                  "k8s_per_cluster": round(counts.by_service.get("k8s", 0) / max(1, n), 2)},
        "floor": {"buckets_s": {k: round(v, 3) for k, v in buckets.items()},
                  "critical_path_calls": _floor.CRITICAL_PATH_CALLS,
                  "formula": "max(T_buckets + L, D * L): see bench/_floor.py",
                  # the most any tool making these ARM calls could reach against the az way:
                  # az's time per cluster over the floor's
                  "speedup_ceiling": (round(az["az_s_per_cluster"] / (floor_s / max(1, n)), 1)
                                      if az and floor_s else None)},
        "healthy_baseline": {"fleet": healthy_spec, "clusters": baseline_clusters,
                             "arm": baseline.arm, "arm_fleet_wide_lists": baseline.fleet_wide},
        "az": az,
        "not_applied": [x for x in notes if not x.startswith("throttled_429s")],
        "notes": notes,
    }
    return out


def summary_line(r: dict[str, Any]) -> str:
    """The one line a run prints: the JSON's keys in words."""
    ratio = "n/a" if r["ratio_to_floor"] is None else f"x{r['ratio_to_floor']:.1f}"
    failing = "n/a" if r["arm_calls_per_failing"] is None else f"{r['arm_calls_per_failing']}"
    throttled = "n/a" if r["throttled_429s"] is None else str(r["throttled_429s"])
    ceiling = r["breakdown"]["floor"]["speedup_ceiling"]
    az = ("az not run" if r["az_s_per_cluster"] is None else
          f"az {r['az_s_per_cluster']} s/cluster (speedup x{r['speedup_vs_az']}"
          + (f"; x{ceiling} at the floor)" if ceiling is not None else ")"))
    return (f"{r['clusters']} clusters ({r['failing']} failing, {r['breakdown']['subscriptions']} "
            f"sub): wall {r['wall_s']:.1f} s, floor {r['floor_s']:.2f} s ({ratio}), ARM "
            f"{r['arm_calls_per_healthy']}/healthy {failing}/failing, pullfix CPU "
            f"{r['pullfix_cpu_ms_per_cluster']} ms/cluster, sim CPU {r['sim_cpu_ms_per_cluster']} "
            f"ms/cluster, peak {r['peak_rss_mb']} MB, 429s {throttled}, {az}")


TABLE_HEAD = ("| clusters | subscriptions | failing | wall s | floor s | ratio to floor | ARM calls / "
              "healthy | ARM calls / failing | pullfix CPU ms / cluster | simulator CPU ms / "
              "cluster | peak RSS MB | 429s | az s / cluster | speedup vs az |")


def table(rows: list[dict[str, Any]]) -> str:
    """The README's table: one row per fleet, the JSON's keys as columns."""
    def cell(v: Any, digits: int) -> str:
        return "n/a" if v is None else f"{v:,.{digits}f}"

    lines = [TABLE_HEAD, "|" + "---:|" * 14]
    for r in rows:
        cells = [cell(r["clusters"], 0), cell(r["breakdown"]["subscriptions"], 0),
                 cell(r["failing"], 0), cell(r["wall_s"], 1), cell(r["floor_s"], 2),
                 cell(r["ratio_to_floor"], 1), cell(r["arm_calls_per_healthy"], 2),
                 cell(r["arm_calls_per_failing"], 1), cell(r["pullfix_cpu_ms_per_cluster"], 0),
                 cell(r["sim_cpu_ms_per_cluster"], 1), cell(r["peak_rss_mb"], 0),
                 cell(r["throttled_429s"], 0), cell(r["az_s_per_cluster"], 2),
                 cell(r["speedup_vs_az"], 1)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(f"'{text}' is not JSON: {exc.msg}") from exc
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"'{text}' is not a JSON object")
    return value


def _ints(text: str) -> list[int]:
    try:
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"'{text}' is not a comma-separated list of "
                                         "integers") from exc


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="bench/fleet_sweep.py",
                                 description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--clusters", type=int, default=100, help="clusters in the fleet")
    ap.add_argument("--subscriptions", type=int, default=1, help="subscriptions they spread over")
    ap.add_argument("--pods", type=int, default=None,
                    help="pods per cluster (default: the generator's)")
    ap.add_argument("--failing", type=float, default=None,
                    help="share of clusters failing, mixed causes (default: the generator's)")
    ap.add_argument("--seed", type=int, default=1, help="the fleet generator's seed")
    ap.add_argument("--latency-ms", type=float, default=30.0, help="per-call latency (0: none)")
    ap.add_argument("--az-sample", type=int, default=5,
                    help="clusters diagnosed the az CLI way (0: skip the comparison)")
    ap.add_argument("--baseline-spec", default=None,
                    help="a healthy-only scenario for the ARM calls per healthy cluster "
                         "(default: the same fleet with failing=0)")
    ap.add_argument("--throttling", type=_json_object, default=None,
                    help="other ARM bucket sizes as JSON, e.g. '{\"writes_burst\": 20}' "
                         "(to make a small fleet ARM-bound; default: Azure's)")
    ap.add_argument("--timeout", type=float, default=3 * 3600, help="seconds per sweep")
    ap.add_argument("--out", type=Path, default=None, help="write the JSON here")
    ap.add_argument("--table", action="store_true",
                    help="run the README matrix (--sizes x --subscription-counts), print markdown")
    ap.add_argument("--sizes", type=_ints, default=list(TABLE_SIZES),
                    help="--table: cluster counts (default 100,300,1000)")
    ap.add_argument("--subscription-counts", type=_ints, default=list(TABLE_SUBSCRIPTIONS),
                    help="--table: subscription counts (default 1,10)")
    args = ap.parse_args(argv)
    common = {"seed": args.seed, "pods": args.pods, "failing": args.failing,
              "latency_ms": args.latency_ms, "az_sample_size": args.az_sample,
              "baseline_spec": args.baseline_spec, "timeout": args.timeout,
              "throttling": args.throttling}
    try:
        # one Prefect server for every measurement (started here unless $PREFECT_API_URL)
        with tempfile.TemporaryDirectory(prefix="pullfix-bench-prefect-") as tmp, \
                prefect_server(workdir=Path(tmp)) as server:
            if args.table:
                rows = []
                for size in args.sizes:
                    for subs in args.subscription_counts:
                        rows.append(measure(clusters=size, subscriptions=subs, server=server,
                                            **common))
                        print(summary_line(rows[-1]), file=sys.stderr, flush=True)
                result: Any = rows
                print(table(rows))
            else:
                result = measure(clusters=args.clusters, subscriptions=args.subscriptions,
                                 server=server, **common)
                print(summary_line(result))
    except BenchError as exc:
        print(f"fleet_sweep: {exc}", file=sys.stderr)
        return 2
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n")
        print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    os.chdir(ROOT)
    sys.exit(main())
