#!/usr/bin/env python3
"""How Lode's cost grows with the data: the 22 TPC-H queries at several scale factors, one
`lode run` process per query (time and peak RSS), beside DuckDB and DataFusion SQL on the
same Parquet files in the same run (tools/scale/peer_tpch.py).

    tools/scale/growth.py --lode target/release/lode --sfs 1,3,10 --peer-python out/scale-env/bin/python \\
        --report docs/benchmarks.md

Tables are read from data/tpch-sf<SF>. The report replaces the section between
`<!-- growth:begin -->` and `<!-- growth:end -->` (appended if absent).
"""

import argparse
import datetime
import json
import math
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scale import human, machine, publish, run_query  # noqa: E402

BEGIN, END = "<!-- growth:begin -->", "<!-- growth:end -->"


def geomean(values):
    values = [v for v in values if v is not None]
    return math.exp(sum(math.log(max(v, 1e-3)) for v in values) / len(values)) if values else float("nan")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lode", required=True)
    ap.add_argument("--sfs", default="1,3,10")
    ap.add_argument("--plans", default="plans/tpch", type=Path)
    ap.add_argument("--peer-python", required=True,
                    help="a Python with PyPI duckdb and datafusion installed")
    ap.add_argument("--out", default="out/scale/growth", type=Path)
    ap.add_argument("--report", type=Path)
    args = ap.parse_args()
    sfs = args.sfs.split(",")
    plans = sorted(args.plans.glob("q[0-9][0-9].json"))
    lode, failures = {}, 0
    peers = {"DuckDB": "duckdb", "DataFusion": "datafusion"}
    peer_times = {name: {} for name in peers}
    peer_peak = {name: {} for name in peers}
    versions = {}
    for sf in sfs:
        data = Path(f"data/tpch-sf{sf}")
        out = args.out / f"sf{sf}"
        out.mkdir(parents=True, exist_ok=True)
        for plan in plans:
            wall, peak, _, error = run_query(args.lode, plan, data, "default", out / f"{plan.stem}.csv")
            failures += error is not None
            lode[(sf, plan.stem)] = None if error else (wall, peak)
            print(f"lode SF {sf} {plan.stem}: {wall:7.2f} s  peak {human(peak):>10}" + (f"  {error}" if error else ""), flush=True)
        for name, engine in peers.items():
            proc = subprocess.run([args.peer_python, str(Path(__file__).resolve().parent / "peer_tpch.py"),
                                   "--engine", engine, "--data", str(data), "--sql", str(args.plans), "--threads", "2"],
                                  capture_output=True, text=True)
            if proc.returncode != 0:
                sys.exit(f"{name} at SF {sf} failed: {proc.stderr.strip()[-500:]}")
            report = json.loads(proc.stdout)
            versions[name] = report["version"]
            peer_peak[name][sf] = report["peak_rss"]
            for q, seconds in report["queries"].items():
                peer_times[name][(sf, q)] = seconds
            print(f"{name} SF {sf}: geomean {geomean(report['queries'].values()):.3f} s, peak {human(report['peak_rss'])}", flush=True)

    first, last = sfs[0], sfs[-1]
    header = ["query"] + [f"Lode SF {sf} s" for sf in sfs] + [f"SF {last}/SF {first}", f"Lode SF {last} peak RSS"] \
        + [f"{name} SF {sf} s" for name in peers for sf in sfs] + [f"Lode/{name} SF {last}" for name in peers]
    lines = [BEGIN, f"## Cost growth: TPC-H SF {', '.join(sfs)}, Lode beside DuckDB and DataFusion SQL (`make scale`)", "",
             f"Command: `tools/scale/growth.py --lode {args.lode} --sfs {args.sfs} --peer-python {args.peer_python}`; "
             f"{datetime.date.today().isoformat()}; {machine()}. Lode: one `lode run` process per query (release build, "
             "default memory bound, start-up included), time and peak RSS from `/usr/bin/time`. "
             + ", ".join(f"{name} {versions[name]}" for name in peers)
             + ": the same Parquet files and SQL, 2 threads (DataFusion: 2 target partitions), in one process, each query "
             "run once to warm up and once timed (no process start). Goal: SF 10 / SF 1 at most 10x on the geomean "
             "(linear or better).", "",
             "| " + " | ".join(header) + " |", "|---|" + "---:|" * (len(header) - 1)]

    def cell(sf, q):
        r = lode.get((sf, q))
        return f"{r[0]:.2f}" if r else "failed"

    for plan in plans:
        q = plan.stem
        lo, hi = lode.get((first, q)), lode.get((last, q))
        ratio = f"{hi[0] / lo[0]:.1f}x" if lo and hi else ""
        versus = [f"{hi[0] / peer_times[name][(last, q)]:.2f}x" if hi and peer_times[name].get((last, q)) else ""
                  for name in peers]
        lines.append("| " + " | ".join([q] + [cell(sf, q) for sf in sfs] + [ratio, human(hi[1]) if hi else ""]
                                       + [f"{peer_times[name].get((sf, q), float('nan')):.3f}" for name in peers for sf in sfs]
                                       + versus) + " |")
    geo = {sf: geomean([lode[(sf, p.stem)][0] if lode.get((sf, p.stem)) else None for p in plans]) for sf in sfs}
    pgeo = {(name, sf): geomean([peer_times[name].get((sf, p.stem)) for p in plans]) for name in peers for sf in sfs}
    lines.append("| geomean | " + " | ".join(f"{geo[sf]:.2f}" for sf in sfs) + f" | {geo[last] / geo[first]:.1f}x | "
                 + " | " + " | ".join(f"{pgeo[(name, sf)]:.3f}" for name in peers for sf in sfs)
                 + " | " + " | ".join(f"{geo[last] / pgeo[(name, last)]:.2f}x" for name in peers) + " |")
    lines += [""] + [f"{name}'s peak RSS over all 22 queries: " + ", ".join(f"SF {sf} {human(peer_peak[name][sf])}" for sf in sfs) + "."
                     for name in peers] + ["", END]
    publish(lines, args.report, BEGIN, END, failures)


if __name__ == "__main__":
    main()
