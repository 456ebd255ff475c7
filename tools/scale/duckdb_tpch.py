#!/usr/bin/env python3
"""DuckDB's side of tools/scale/growth.py: the TPC-H queries in one DuckDB process over the
same Parquet files Lode reads (a view per table), each run once to warm up and once timed.
Prints one JSON object: {"queries": {"q01": seconds, ...}, "peak_rss": bytes, "version": ...}.

    duckdb_tpch.py --data data/tpch-sf10 --sql plans/tpch --threads 2
"""

import argparse
import json
import time
from pathlib import Path

import duckdb


def peak_rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True, type=Path)
    ap.add_argument("--sql", required=True, type=Path)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    con = duckdb.connect()
    con.execute(f"SET threads = {args.threads}")
    for table in sorted(args.data.glob("*.parquet")):
        con.execute(f"CREATE VIEW {table.stem} AS SELECT * FROM read_parquet('{table.resolve()}')")
    times = {}
    for sql_file in sorted(args.sql.glob("q[0-9][0-9].sql")):
        sql = sql_file.read_text()
        con.execute(sql).fetchall()
        started = time.perf_counter()
        con.execute(sql).fetchall()
        times[sql_file.stem] = time.perf_counter() - started
    print(json.dumps({"queries": times, "peak_rss": peak_rss(), "version": duckdb.__version__}))


if __name__ == "__main__":
    main()
