"""Chaos at full size: a generated fleet swept in plan and in apply mode while ~10 % of ARM,
Graph, Kubernetes and registry calls fail (before the handler; writes also after it: the write
made, the answer a 500 or a hang-up), the apply killed mid-way once, the simulator restarted
mid-run once, then re-run. Writes a JSON and a markdown report.

    .venv/bin/python bench/chaos.py [--spec 8x25:11] [--rate 0.1] [--seed 3] [--out DIR]

The invariants are the chaos suite's (tests/test_chaos_sweep.py, which runs them at a size
that fits a test run): no lost finding, no fix applied twice, no duplicate role assignment,
every write audited and verified or rolled back, the audit log intact, the re-run converging,
no issued secret in any store. The exit code is 1 when one of them fails.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests import chaos_campaign  # noqa: E402


def _markdown(report: dict[str, object]) -> str:
    lines = [f"# Chaos report ({report['spec']}, {report['rate']:.0%} of calls failing, "  # type: ignore[str-format]
             f"seed {report['seed']})", ""]
    for phase in ("plan", "apply"):
        r = report[phase]
        assert isinstance(r, dict)
        lines += [f"## {phase}", "", "| measure | value |", "|---|---|"]
        lines += [f"| {k} | {json.dumps(v) if not isinstance(v, str) else v} |"
                  for k, v in r.items() if k != "violations"]
        lines += ["", "violations: " + (", ".join(r["violations"]) or "none"), ""]
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--spec", default="8x25:11", help="generated fleet SxC[:SEED] (default 200)")
    ap.add_argument("--apply-spec", default=None,
                    help="fleet for the apply campaign (default: --spec)")
    ap.add_argument("--rate", type=float, default=0.10, help="fraction of calls failing")
    ap.add_argument("--seed", type=int, default=3, help="which calls fail")
    ap.add_argument("--out", type=Path, default=Path("bench/out"), help="report folder")
    ap.add_argument("--skip-apply", action="store_true", help="the plan sweep only")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    report: dict[str, object] = {"spec": args.spec, "rate": args.rate, "seed": args.seed,
                                 "started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())}
    with tempfile.TemporaryDirectory(prefix="pullfix-chaos-") as tmp:
        t = time.monotonic()
        report["plan"] = chaos_campaign.plan_campaign(args.spec, Path(tmp) / "plan", rate=args.rate,
                                                seed=args.seed)
        report["plan"]["seconds"] = round(time.monotonic() - t)  # type: ignore[index]
        print(json.dumps(report["plan"], indent=2), flush=True)
        if not args.skip_apply:
            t = time.monotonic()
            report["apply_spec"] = args.apply_spec or args.spec
            report["apply"] = chaos_campaign.apply_campaign(args.apply_spec or args.spec, Path(tmp) / "apply",
                                                      rate=args.rate, seed=args.seed)
            report["apply"]["seconds"] = round(time.monotonic() - t)  # type: ignore[index]
            print(json.dumps(report["apply"], indent=2), flush=True)
        else:
            report["apply"] = {"violations": ["skipped"]}
    (args.out / "chaos.json").write_text(json.dumps(report, indent=2))
    (args.out / "chaos.md").write_text(_markdown(report))
    print(f"report: {args.out / 'chaos.md'}")
    bad = [v for p in ("plan", "apply") for v in report[p]["violations"]  # type: ignore[index]
           if v != "skipped"]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
