#!/usr/bin/env python3
"""TPC-H at scale on a cluster of separate processes under memory bounds: a coordinator and
N executors (`lode serve`), each executor `--memory-limit LIMIT`, each holding two of every
table's N files (so any one may be lost); every query through `lode submit`, its result
checked against a local run's; each process's peak RSS; then one executor killed with SIGKILL
in the middle of each chosen query (and started again after it), which must still finish with
the same result, and the surviving executors' work directories (stage outputs and spill) back
to their size before.

    tools/scale/cluster.py --lode target/release/lode --parts data/tpch-sf10-parts --sf 10 \\
        --reference out/scale/sf10/default --executors 3 --limit 2G --kill q09,q18 \\
        --out out/scale/cluster --report docs/benchmarks.md

`--parts` is a directory from `lode gen tpch --parts N`; `--reference` holds `qNN.csv` results
of the same queries (`tools/scale/scale.py` writes them). The report replaces the section
between `<!-- scale-cluster:begin -->` and `<!-- scale-cluster:end -->` (appended if absent).
Exits 1 if any query fails or differs from its reference.
"""

import argparse
import datetime
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scale import human, machine, publish, read_rows, same_rows  # noqa: E402

BEGIN, END = "<!-- scale-cluster:begin -->", "<!-- scale-cluster:end -->"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def peak_rss(pid):
    """The process's peak resident set (VmHWM), in bytes; 0 once it is gone."""
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def tree_size(path):
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            try:
                total += os.lstat(os.path.join(root, f)).st_size
            except OSError:
                pass
    return total


def executor_data(parts, out, n):
    """Data directories for `n` executors: executor i holds files i and i+1 (mod n) of every
    split table, and every unsplit table, as symbolic links."""
    dirs = []
    for i in range(n):
        d = out / f"data-{i}"
        if d.exists():
            shutil.rmtree(d)
        d.mkdir(parents=True)
        for entry in sorted(parts.iterdir()):
            if entry.is_dir():
                files = sorted(entry.glob("part-*.parquet"))
                if len(files) != n:
                    sys.exit(f"{entry}: {len(files)} files, but {n} executors; generate with --parts {n}")
                (d / entry.name).mkdir()
                for j in (i, (i + 1) % n):
                    (d / entry.name / files[j].name).symlink_to(files[j].resolve())
            else:
                (d / entry.name).symlink_to(entry.resolve())
        dirs.append(d)
    return dirs


class Cluster:
    def __init__(self, lode, out, data_dirs, limit):
        self.lode, self.out = lode, out
        self.token = out / "token"
        self.token.write_text("scale-cluster-token\n")
        self.url = f"http://127.0.0.1:{free_port()}"
        self.logs = []
        self.coordinator = self.spawn("coordinator", ["serve", "coordinator", "--listen", self.url[7:],
                                                      "--token-file", str(self.token)])
        self.limit, self.data_dirs = limit, data_dirs
        self.executors, self.work = [], []
        for i in range(len(data_dirs)):
            work = out / f"work-{i}"
            shutil.rmtree(work, ignore_errors=True)
            work.mkdir(parents=True)
            self.work.append(work)
            self.executors.append(self.start_executor(i))
        time.sleep(3)

    def start_executor(self, i):
        return self.spawn(f"executor-{i}", [
            "serve", "executor", "--coordinator", self.url, "--data", str(self.data_dirs[i]),
            "--work", str(self.work[i]), "--memory-limit", self.limit, "--token-file", str(self.token)])

    def restart(self, i):
        """Starts executor `i` again (after it was killed), as an operator would."""
        self.executors[i] = self.start_executor(i)
        time.sleep(3)

    def spawn(self, name, args):
        log = open(self.out / f"{name}.log", "a")
        self.logs.append(log)
        return subprocess.Popen([self.lode, *args], stdout=log, stderr=subprocess.STDOUT)

    def submit(self, plan, out_csv):
        return subprocess.Popen([self.lode, "submit", str(plan), "--coordinator", self.url,
                                 "--token-file", str(self.token), "--format", "csv", "-o", str(out_csv)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

    def alive(self):
        return [e for e in self.executors if e.poll() is None]

    def stop(self):
        for p in [*self.executors, self.coordinator]:
            if p.poll() is None:
                p.terminate()
        for p in [*self.executors, self.coordinator]:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
        for log in self.logs:
            log.close()


def finish(proc):
    _, err = proc.communicate()
    lines = [l for l in err.strip().splitlines() if l.strip()]
    return None if proc.returncode == 0 else (lines[-1] if lines else f"exit {proc.returncode}")[:300]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lode", required=True)
    ap.add_argument("--parts", required=True, type=Path)
    ap.add_argument("--sf", required=True)
    ap.add_argument("--reference", required=True, type=Path)
    ap.add_argument("--plans", default="plans/tpch", type=Path)
    ap.add_argument("--executors", default=3, type=int)
    ap.add_argument("--limit", default="2G")
    ap.add_argument("--kill", default="q09,q18")
    ap.add_argument("--out", default="out/scale/cluster", type=Path)
    ap.add_argument("--report", type=Path)
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    results_dir = args.out / "results"
    results_dir.mkdir(exist_ok=True)
    plans = sorted(args.plans.glob("q[0-9][0-9].json"))
    cluster = Cluster(args.lode, args.out, executor_data(args.parts, args.out, args.executors), args.limit)
    rows, failures = [], 0
    try:
        for plan in plans:
            q = plan.stem
            started = time.monotonic()
            error = finish(cluster.submit(plan, results_dir / f"{q}.csv"))
            wall = time.monotonic() - started
            verdict = "failed" if error else (
                "equal" if same_rows(read_rows(args.reference / f"{q}.csv"), read_rows(results_dir / f"{q}.csv"))
                else "differs")
            failures += verdict != "equal"
            rows.append((q, wall, verdict, error))
            print(f"cluster SF {args.sf} {q}: {wall:8.2f} s  {verdict}" + (f"  {error}" if error else ""), flush=True)
        peaks = [peak_rss(cluster.coordinator.pid)] + [peak_rss(e.pid) for e in cluster.executors]

        kills = []
        for q in [k for k in args.kill.split(",") if k]:
            plan = args.plans / f"{q}.json"
            survivors = [i for i, e in enumerate(cluster.executors) if e.poll() is None]
            if len(survivors) < 2:
                sys.exit("fewer than two executors alive: nothing to kill")
            victim, survivors = survivors[-1], survivors[:-1]
            before = {i: tree_size(cluster.work[i]) for i in survivors}
            expected = next(w for (n, w, _, _) in rows if n == q)
            started = time.monotonic()
            proc = cluster.submit(plan, results_dir / f"{q}-kill.csv")
            time.sleep(expected * 0.4)
            killed = proc.poll() is None
            if killed:
                cluster.executors[victim].send_signal(signal.SIGKILL)
                cluster.executors[victim].wait()
            error = finish(proc)
            wall = time.monotonic() - started
            time.sleep(2)
            after = {i: tree_size(cluster.work[i]) for i in survivors}
            verdict = "failed" if error else (
                "equal" if same_rows(read_rows(args.reference / f"{q}.csv"), read_rows(results_dir / f"{q}-kill.csv"))
                else "differs")
            clean = all(after[i] <= before[i] for i in survivors)
            if killed:
                cluster.restart(victim)
            failures += verdict != "equal" or not clean or not killed
            kills.append((q, victim, expected * 0.4, killed, wall, verdict, before, after, error))
            print(f"cluster SF {args.sf} {q}, executor-{victim} killed at {expected * 0.4:.1f} s: {wall:.2f} s  {verdict}"
                  f"  work dirs before {[human(before[i]) for i in survivors]} after {[human(after[i]) for i in survivors]}"
                  + (f"  {error}" if error else ""), flush=True)
    finally:
        cluster.stop()

    times = [w for (_, w, v, _) in rows if v == "equal"]
    geomean = math.exp(sum(math.log(max(t, 1e-3)) for t in times) / len(times)) if times else float("nan")
    lines = [BEGIN, f"## TPC-H SF {args.sf} on a cluster of {args.executors} executor processes under `--memory-limit {args.limit}` (`make scale`)", "",
             f"Command: `tools/scale/cluster.py --lode {args.lode} --parts {args.parts} --sf {args.sf} --reference {args.reference} "
             f"--executors {args.executors} --limit {args.limit} --kill {args.kill}`; {datetime.date.today().isoformat()}; {machine()}. "
             f"A `lode serve coordinator` and {args.executors} `lode serve executor` processes on loopback, all on this machine; "
             f"each executor holds two of the {args.executors} files of every split table (symbolic links). One `lode submit` per query; "
             "time from submit to the result written; each result checked against the local default-bound run.", "",
             "| query | s | result |", "|---|---:|---|"]
    lines += [f"| {q} | {w:.2f} | {v}{(': ' + e) if e else ''} |" for (q, w, v, e) in rows]
    lines += [f"| geomean | {geomean:.2f} | {sum(v == 'equal' for (_, _, v, _) in rows)}/{len(rows)} equal |", "",
              "Peak RSS (VmHWM) after the 22 queries: coordinator " + human(peaks[0]) + "; "
              + ", ".join(f"executor-{i} {human(p)}" for i, p in enumerate(peaks[1:])) + f" (bound {args.limit} each).", ""]
    for (q, victim, at, killed, wall, verdict, before, after, error) in kills:
        lines.append(f"- {q} with executor-{victim} killed (SIGKILL) {at:.1f} s in"
                     + ("" if killed else " (the job had already finished: not killed)")
                     + f": {wall:.2f} s, {verdict}" + (f" ({error})" if error else "")
                     + "; surviving executors' work directories " + ", ".join(
                         f"executor-{i} {human(before[i])} before, {human(after[i])} after" for i in before) + ".")
    lines += ["", END]
    publish(lines, args.report, BEGIN, END, failures)


if __name__ == "__main__":
    main()
