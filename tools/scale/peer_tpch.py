#!/usr/bin/env python3
"""The peers' side of tools/scale/growth.py: the TPC-H queries in one DuckDB or DataFusion
(SQL) process over the same Parquet files Lode reads, each run once to warm up and then
--iterations times (the median is kept). Prints one JSON object: {"queries": {"q01": seconds,
...}, "rows": {"q01": rows, ...}, "peak_rss": bytes, "version": ...}.

    peer_tpch.py --engine duckdb --data data/tpch-sf10 --sql plans/tpch --threads 2
    peer_tpch.py --engine datafusion --data data/tpch-sf10 --sql plans/tpch --threads 2
"""

import argparse
import json
import statistics
import time
from pathlib import Path


def peak_rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


def duckdb_runner(tables, threads):
    import duckdb

    con = duckdb.connect()
    con.execute(f"SET threads = {threads}")
    for name, path in tables:
        con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{path}')")
    return (lambda sql: len(con.execute(sql).fetchall())), duckdb.__version__


def datafusion_runner(tables, threads):
    import datafusion

    ctx = datafusion.SessionContext(datafusion.SessionConfig().with_target_partitions(threads))
    for name, path in tables:
        ctx.register_parquet(name, str(path))
    return (lambda sql: sum(b.num_rows for b in ctx.sql(sql).collect())), datafusion.__version__


RUNNERS = {"duckdb": duckdb_runner, "datafusion": datafusion_runner}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--engine", required=True, choices=sorted(RUNNERS))
    ap.add_argument("--data", required=True, type=Path)
    ap.add_argument("--sql", required=True, type=Path)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--iterations", type=int, default=1)
    args = ap.parse_args()
    tables = [(table.stem, table.resolve()) for table in sorted(args.data.glob("*.parquet"))]
    run, version = RUNNERS[args.engine](tables, args.threads)
    times, rows = {}, {}
    for sql_file in sorted(args.sql.glob("q[0-9][0-9].sql")):
        sql = sql_file.read_text()
        rows[sql_file.stem] = run(sql)
        samples = []
        for _ in range(max(args.iterations, 1)):
            started = time.perf_counter()
            run(sql)
            samples.append(time.perf_counter() - started)
        times[sql_file.stem] = statistics.median(samples)
    print(json.dumps({"queries": times, "rows": rows, "peak_rss": peak_rss(), "version": version}))


if __name__ == "__main__":
    main()
