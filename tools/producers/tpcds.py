"""Generates TPC-DS tables as Parquet and the 99 TPC-DS queries as SQL files, with DuckDB's
tpcds extension (PyPI duckdb-extension-tpcds; its dsdgen is deterministic, so a scale factor
gives the same rows on every machine).

usage: tpcds.py --sf SF [--data DIR] [--sql DIR]
"""
import argparse
import glob
import os

import duckdb
import duckdb_extension_tpcds


def main():
    args = argparse.ArgumentParser()
    args.add_argument("--sf", type=float, required=True)
    args.add_argument("--data")
    args.add_argument("--sql")
    a = args.parse_args()
    root = os.path.dirname(duckdb_extension_tpcds.__file__)
    ext = glob.glob(os.path.join(root, "extensions", "**", "tpcds.duckdb_extension"), recursive=True)
    if not ext:
        raise SystemExit("duckdb-extension-tpcds is installed without its extension file")
    con = duckdb.connect(config={"allow_unsigned_extensions": "true"})
    con.load_extension(ext[0])
    if a.data:
        con.execute(f"CALL dsdgen(sf={a.sf})")
        os.makedirs(a.data, exist_ok=True)
        tables = [t for (t,) in con.execute("SELECT table_name FROM information_schema.tables").fetchall()]
        for table in tables:
            # Written under a temporary name: an interrupted run leaves no table half written.
            final = os.path.join(a.data, f"{table}.parquet")
            con.execute(f"COPY \"{table}\" TO '{final}.part' (FORMAT PARQUET)")
            os.replace(final + ".part", final)
        print(f"TPC-DS SF {a.sf}: {len(tables)} tables in {a.data}")
    if a.sql:
        os.makedirs(a.sql, exist_ok=True)
        for number, query in con.execute("SELECT query_nr, query FROM tpcds_queries()").fetchall():
            with open(os.path.join(a.sql, f"q{number:02d}.sql"), "w") as f:
                f.write(query)


if __name__ == "__main__":
    main()
