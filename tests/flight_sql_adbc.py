#!/usr/bin/env python3
"""A Flight SQL client from another ecosystem: Python's ADBC driver sends a Substrait plan to a
Lode coordinator (CommandStatementSubstraitPlan) and reads the result, which must equal
`lode run` of the same plan. Starts its own coordinator and executor on loopback.

Usage: flight_sql_adbc.py LODE_BINARY REPO_ROOT
"""

import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import adbc_driver_flightsql.dbapi as flight_sql
from adbc_driver_flightsql import DatabaseOptions

TOKEN = "adbc-test-token"


def start(command, marker):
    """Starts `command`; returns the process and the line of its stderr that contains `marker`."""
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    for line in process.stderr:
        if marker in line:
            # Keep draining so the process never blocks on a full pipe.
            threading.Thread(target=lambda: process.stderr.read(), daemon=True).start()
            return process, line.strip()
    raise SystemExit(f"{command[:3]} ended before printing {marker!r}")


def main():
    lode, repo = sys.argv[1], Path(sys.argv[2])
    processes = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        data = tmp / "tpch"
        subprocess.run([lode, "gen", "tpch", "--sf", "0.01", "--out", data], check=True,
                       capture_output=True)
        plan = tmp / "q03.pb"
        sql = (repo / "plans/tpch/q03.sql").read_text()
        subprocess.run([lode, "sql", sql, "--data", data, "-o", plan], check=True)
        (tmp / "token").write_text(TOKEN)
        try:
            coordinator, line = start(
                [lode, "serve", "coordinator", "--listen", "127.0.0.1:0",
                 "--token-file", tmp / "token"],
                "coordinator listening on")
            processes.append(coordinator)
            address = line.rsplit(" ", 1)[-1]
            executor, _ = start(
                [lode, "serve", "executor", "--coordinator", address, "--data", data,
                 "--slots", "2", "--token-file", tmp / "token"],
                "registered with the coordinator")
            processes.append(executor)

            uri = address.replace("http://", "grpc://")
            options = {DatabaseOptions.AUTHORIZATION_HEADER.value: f"Bearer {TOKEN}"}
            with flight_sql.connect(uri, db_kwargs=options, autocommit=True) as connection:
                with connection.cursor() as cursor:
                    cursor.execute(plan.read_bytes())  # bytes: a Substrait plan
                    table = cursor.fetch_arrow_table()
            got = [",".join("" if v is None else str(v) for v in row.values())
                   for row in table.to_pylist()]

            local = subprocess.run([lode, "run", plan, "--data", data, "--format", "csv"],
                                   check=True, capture_output=True, text=True).stdout
            expected = local.strip().splitlines()[1:]
            if len(got) != 10 or len(got) != len(expected):
                raise SystemExit(f"ADBC read {len(got)} rows, lode run {len(expected)}:\n{got}")
            for ours, theirs in zip(got, expected):
                # Same columns and order; numbers compared as numbers (CSV vs Python rendering).
                for a, b in zip(ours.split(","), theirs.split(",")):
                    try:
                        same = abs(float(a) - float(b)) <= 1e-9 * max(1.0, abs(float(b)))
                    except ValueError:
                        same = a == b
                    if not same:
                        raise SystemExit(f"ADBC row {ours!r} differs from lode run {theirs!r}")
            print(f"ADBC Flight SQL: TPC-H Q3 as a Substrait plan, {len(got)} rows, "
                  "equal to lode run")
        finally:
            for process in processes:
                process.kill()
                process.wait()


if __name__ == "__main__":
    main()
