"""Writes the Substrait plans a producer writes for SQL queries, and DuckDB's own answers to
the same SQL, for `lode conformance producers`.

usage: produce.py PRODUCER --data DIR --out DIR --sql FILE.sql... [--lode PATH] [--answers DIR]

PRODUCER is `duckdb` (DuckDB's substrait extension, from SQL), `ibis` (ibis-substrait,
from ibis's SQL front end `ibis.parse_sql`), `datafusion` (DataFusion's SQL planner, optimizer and
Substrait producer, as `lode sql` runs them; `--lode` names the binary) or `datafusion-unoptimized`
(the same without the optimizer, `lode sql --unoptimized`). Tables are every DIR/<name>.parquet, loaded
into DuckDB tables of the same name, so the plans read them by name. For each query q it
writes OUT/q.json or OUT/q.pb (the plan), or OUT/q.error with the producer's message when it cannot
write one (its gap, not the consumer's), and OUT/q.expected.csv: DuckDB's answer to the SQL,
with a header; with --answers, DIR/q.csv instead, which every producer of a query set shares.
"""
import argparse
import glob
import os
import re
import subprocess
import sys
import tempfile

import duckdb


def connect(data, substrait_extension):
    config = {"allow_unsigned_extensions": "true"} if substrait_extension else {}
    con = duckdb.connect(config=config)
    if substrait_extension:
        import duckdb_extension_substrait

        ext = glob.glob(os.path.join(os.path.dirname(duckdb_extension_substrait.__file__),
                                     "extensions", "*", "substrait.duckdb_extension"))
        if not ext:
            sys.exit("duckdb-extension-substrait is installed without its extension file")
        con.load_extension(ext[0])
    for path in sorted(glob.glob(os.path.join(data, "*.parquet"))):
        name = os.path.basename(path)[: -len(".parquet")]
        con.execute(f"CREATE TABLE \"{name}\" AS SELECT * FROM read_parquet('{path}')")
    return con


def duckdb_producer(con):
    return lambda sql: (".json", con.get_substrait_json(sql).fetchone()[0].encode())


def ibis_producer(con):
    import ibis
    from google.protobuf import json_format
    from ibis_substrait.compiler.core import SubstraitCompiler

    catalog = {}
    for (table,) in con.execute("SELECT table_name FROM information_schema.tables").fetchall():
        rel = con.sql(f"SELECT * FROM \"{table}\"")
        catalog[table] = ibis.schema(
            {c: ibis_type(str(t)) for c, t in zip(rel.columns, rel.types)})

    def produce(sql):
        plan = SubstraitCompiler().compile(ibis.parse_sql(sql, catalog))
        return ".json", json_format.MessageToJson(plan).encode()

    return produce


def ibis_type(duckdb_type):
    names = {"BIGINT": "int64", "INTEGER": "int32", "SMALLINT": "int16", "TINYINT": "int8",
             "VARCHAR": "string", "DATE": "date", "DOUBLE": "float64", "FLOAT": "float32",
             "BOOLEAN": "boolean"}
    return names.get(duckdb_type, duckdb_type.lower())


def datafusion_producer(lode, data, optimized=True):
    # Binary plans: DataFusion's JSON for a TPC-DS query runs to megabytes.
    def produce(sql):
        with tempfile.TemporaryDirectory() as scratch:
            path = os.path.join(scratch, "plan.pb")
            flags = [] if optimized else ["--unoptimized"]
            done = subprocess.run([lode, "sql", sql, "--data", data, "-o", path] + flags,
                                  capture_output=True, text=True)
            if done.returncode != 0:
                lines = [line for line in done.stderr.splitlines() if line.strip()]
                raise RuntimeError(lines[-1] if lines else f"lode sql exited {done.returncode}")
            with open(path, "rb") as f:
                return ".pb", f.read()

    return produce


# Each starts a producer from the reference connection (whose catalog ibis reads) and the
# arguments; DuckDB's runs in a connection of its own, which it may invalidate.
PRODUCERS = {
    "duckdb": lambda reference, a: duckdb_producer(connect(a.data, substrait_extension=True)),
    "ibis": lambda reference, a: ibis_producer(reference),
    "datafusion": lambda reference, a: datafusion_producer(a.lode, a.data),
    "datafusion-unoptimized": lambda reference, a: datafusion_producer(a.lode, a.data, optimized=False),
}


def main():
    args = argparse.ArgumentParser()
    args.add_argument("producer", choices=sorted(PRODUCERS))
    args.add_argument("--data", required=True)
    args.add_argument("--out", required=True)
    args.add_argument("--sql", nargs="+", required=True)
    args.add_argument("--lode", default="target/debug/lode")
    args.add_argument("--answers")
    a = args.parse_args()
    os.makedirs(a.out, exist_ok=True)
    if a.answers:
        os.makedirs(a.answers, exist_ok=True)
    # The answers come from a connection of their own: a producer may invalidate its
    # connection (DuckDB's substrait extension fails fatally on some plans).
    reference = connect(a.data, substrait_extension=False)

    def start_producer():
        return PRODUCERS[a.producer](reference, a)

    produce = start_producer()
    for sql_file in a.sql:
        query = os.path.splitext(os.path.basename(sql_file))[0]
        sql = open(sql_file).read().strip().rstrip(";")
        base = os.path.join(a.out, query)
        try:
            suffix, plan = produce(sql)
            with open(base + suffix, "wb") as f:
                f.write(plan)
            written = "plan"
        except Exception as e:  # the producer's gap, recorded, not ours
            # Object addresses would make every run's file differ.
            message = re.sub(r" at 0x[0-9a-f]+", "", f"{type(e).__name__}: {e}")
            with open(base + ".error", "w") as f:
                f.write(message + "\n")
            written = "no plan"
            if isinstance(e, duckdb.FatalException) or "FATAL" in str(e):
                produce = start_producer()  # the connection is invalidated for good
        answer = os.path.join(a.answers, query + ".csv") if a.answers else base + ".expected.csv"
        reference.execute(f"COPY ({sql}) TO '{answer}' (FORMAT CSV, HEADER)")
        print(f"{a.producer} {query}: {written}", file=sys.stderr)


if __name__ == "__main__":
    main()
