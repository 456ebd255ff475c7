"""Writes the Substrait plans DuckDB's substrait extension produces for SQL queries, and
DuckDB's own answers to the same SQL, for `lode conformance producers`.

usage: duckdb_plans.py --data DIR --sql FILE.sql... --out DIR

Tables are every DIR/<name>.parquet (or DIR/<name>/ of Parquet files), loaded into DuckDB
tables of the same name so the plans read them by name. For each query q it writes
OUT/q.json (the plan, or OUT/q.error with the producer's message when it cannot write one)
and OUT/q.expected.csv (DuckDB's answer to the SQL, with a header).
"""
import argparse
import glob
import os
import sys

import duckdb
import duckdb_extension_substrait


def connect(data):
    ext = glob.glob(os.path.join(os.path.dirname(duckdb_extension_substrait.__file__),
                                 "extensions", "*", "substrait.duckdb_extension"))
    if not ext:
        sys.exit("duckdb-extension-substrait is installed without its extension file")
    con = duckdb.connect(config={"allow_unsigned_extensions": "true"})
    con.load_extension(ext[0])
    for entry in sorted(os.listdir(data)):
        path = os.path.join(data, entry)
        if entry.endswith(".parquet"):
            name, files = entry[: -len(".parquet")], path
        elif os.path.isdir(path) and glob.glob(os.path.join(path, "*.parquet")):
            name, files = entry, os.path.join(path, "*.parquet")
        else:
            continue
        con.execute(f"CREATE TABLE \"{name}\" AS SELECT * FROM read_parquet('{files}')")
    return con


def main():
    args = argparse.ArgumentParser()
    args.add_argument("--data", required=True)
    args.add_argument("--out", required=True)
    args.add_argument("--sql", nargs="+", required=True)
    a = args.parse_args()
    os.makedirs(a.out, exist_ok=True)
    con = connect(a.data)
    for sql_file in a.sql:
        query = os.path.splitext(os.path.basename(sql_file))[0]
        sql = open(sql_file).read().strip().rstrip(";")
        base = os.path.join(a.out, query)
        try:
            plan = con.get_substrait_json(sql).fetchone()[0]
            with open(base + ".json", "w") as f:
                f.write(plan)
        except Exception as e:  # the producer's gap, recorded, not ours
            with open(base + ".error", "w") as f:
                f.write(f"{type(e).__name__}: {e}\n")
        con.execute(f"COPY ({sql}) TO '{base}.expected.csv' (FORMAT CSV, HEADER)")
        print(query, file=sys.stderr)


if __name__ == "__main__":
    main()
