#!/usr/bin/env python3
"""TPC-H at scale under memory bounds: every query with each --memory-limit, one process per
query, its time, peak RSS and bytes spilled, its result checked against the first bound's.

    tools/scale/scale.py --lode target/release/lode --data data/tpch-sf10 --sf 10 \\
        --limits default,4G,2G --out out/scale --report docs/benchmarks.md

`default` runs without --memory-limit (Lode's default bound). The report replaces the section
between `<!-- scale:begin -->` and `<!-- scale:end -->` in the report file (appended if absent).
Exits 1 if any query fails or differs from the reference bound's result.
"""

import argparse
import csv
import datetime
import math
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

BEGIN, END = "<!-- scale:begin -->", "<!-- scale:end -->"
PROGRESS = re.compile(r"query progress .*?rows_scanned=(\d+) bytes_scanned=(\d+) spilled_bytes=(\d+)")


def run_query(lode, plan, data, limit, out_csv):
    """Runs one plan; returns (seconds, peak RSS bytes, spilled bytes, error or None)."""
    cmd = ["/usr/bin/time", "-f", "%e %M", lode, "run", str(plan), "--data", str(data),
           "--format", "csv", "-o", str(out_csv), "-v"]
    if limit != "default":
        cmd += ["--memory-limit", limit]
    started = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.monotonic() - started
    lines = proc.stderr.strip().splitlines()
    peak = 0
    if lines and re.fullmatch(r"[\d.]+ \d+", lines[-1]):
        seconds, kb = lines[-1].split()
        wall, peak = float(seconds), int(kb) * 1024
    spilled = 0
    for line in lines:
        m = PROGRESS.search(line)
        if m:
            spilled = int(m.group(3))
    if proc.returncode != 0:
        errors = [l for l in lines if "error" in l.lower()]
        return wall, peak, spilled, (errors[-1] if errors else f"exit {proc.returncode}")[:300]
    return wall, peak, spilled, None


def read_rows(path):
    with open(path, newline="") as f:
        return list(csv.reader(f))


def same_cell(a, b):
    if a == b:
        return True
    try:
        x, y = float(a), float(b)
    except ValueError:
        return False
    return math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-9)


def same_rows(a, b):
    if len(a) != len(b):
        return False
    def equal(r, s):
        return len(r) == len(s) and all(same_cell(x, y) for x, y in zip(r, s))
    if all(equal(r, s) for r, s in zip(a, b)):
        return True
    # Rows equal under ORDER BY keys may come in another order.
    return all(equal(r, s) for r, s in zip(sorted(a), sorted(b)))


def human(n):
    for unit in ["B", "KiB", "MiB", "GiB", "TiB"]:
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024


def machine():
    cpu = "unknown CPU"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = 0
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal:"):
                mem = int(line.split()[1]) * 1024
    except OSError:
        pass
    return f"{os.cpu_count()} cores ({cpu}), {human(mem)} RAM, {platform.system()} {platform.release()}"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lode", required=True)
    ap.add_argument("--data", required=True, type=Path)
    ap.add_argument("--sf", required=True)
    ap.add_argument("--plans", default="plans/tpch", type=Path)
    ap.add_argument("--limits", default="default,4G,2G")
    ap.add_argument("--out", default="out/scale", type=Path)
    ap.add_argument("--report", type=Path)
    args = ap.parse_args()

    limits = args.limits.split(",")
    plans = sorted(args.plans.glob("q[0-9][0-9].json"))
    results = {}
    failures = 0
    for limit in limits:
        out = args.out / f"sf{args.sf}" / limit
        out.mkdir(parents=True, exist_ok=True)
        for plan in plans:
            q = plan.stem
            wall, peak, spilled, error = run_query(args.lode, plan, args.data, limit, out / f"{q}.csv")
            verdict = "error" if error else "ran"
            if not error and limit != limits[0]:
                reference = args.out / f"sf{args.sf}" / limits[0] / f"{q}.csv"
                if reference.exists() and results.get((limits[0], q), {}).get("verdict") == "correct":
                    verdict = "correct" if same_rows(read_rows(reference), read_rows(out / f"{q}.csv")) else "differs"
                else:
                    verdict = "no reference"
            elif not error:
                verdict = "correct"
            if verdict not in ("correct",):
                failures += 1
            results[(limit, q)] = dict(wall=wall, peak=peak, spilled=spilled, verdict=verdict, error=error)
            print(f"SF {args.sf} {limit:>8} {q}: {wall:8.2f} s  peak {human(peak):>10}  spilled {human(spilled):>10}  {verdict}"
                  + (f"  {error}" if error else ""), flush=True)

    geomeans = {}
    for limit in limits:
        times = [results[(limit, p.stem)]["wall"] for p in plans if results[(limit, p.stem)]["verdict"] == "correct"]
        geomeans[limit] = math.exp(sum(math.log(max(t, 1e-3)) for t in times) / len(times)) if times else float("nan")

    lines = [BEGIN, f"## TPC-H SF {args.sf} under memory bounds (`make scale`)", "",
             f"Command: `tools/scale/scale.py --lode {args.lode} --data {args.data} --sf {args.sf} --limits {args.limits}`; "
             f"{datetime.date.today().isoformat()}; {machine()}. One `lode run` process per query (release build), "
             "time and peak RSS from `/usr/bin/time`, spilled bytes from `lode run -v`; each bound's result checked "
             f"against the `{limits[0]}` run (numbers to a relative 1e-9). `default` is Lode's default bound "
             "(60% of the machine's memory).", "",
             "| query | " + " | ".join(f"{l}: s | {l}: peak RSS | {l}: spilled" for l in limits) + " | results |",
             "|---|" + "---:|---:|---:|" * len(limits) + "---|"]
    for plan in plans:
        q = plan.stem
        cells = []
        verdicts = set()
        for limit in limits:
            r = results[(limit, q)]
            if r["error"]:
                cells += ["failed", "", ""]
            else:
                cells += [f"{r['wall']:.2f}", human(r["peak"]), human(r["spilled"]) if r["spilled"] else "0"]
            verdicts.add(r["verdict"])
        verdict = "equal" if verdicts == {"correct"} else ", ".join(sorted(verdicts - {"correct"}))
        lines.append(f"| {q} | " + " | ".join(cells) + f" | {verdict} |")
    geo_cells = []
    for limit in limits:
        geo_cells += [f"{geomeans[limit]:.2f}", "", ""]
    lines.append("| geomean | " + " | ".join(geo_cells) + " |  |")
    lines += ["", END]
    publish(lines, args.report, BEGIN, END, failures)


def publish(lines, report, begin, end, failures):
    """Prints the report section `lines` (from `begin` to `end`), writes it into `report` if
    given, and exits 1 if there were failures."""
    section = "\n".join(lines) + "\n"
    print(section)
    if report:
        write_section(report, begin, end, section)
    sys.exit(1 if failures else 0)


def write_section(report, begin, end, section):
    """Replaces the text between the `begin` and `end` markers of `report` with `section`
    (which starts and ends with them), or appends it."""
    text = report.read_text() if report.exists() else ""
    if begin in text and end in text:
        before, rest = text.split(begin, 1)
        text = before + section.rstrip("\n") + rest.split(end, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + section
    report.write_text(text)


if __name__ == "__main__":
    main()
