"""Writes a Delta table with the Python deltalake package, for Lode's tests.

    delta.py SOURCE.parquet DEST_DIR

SOURCE is TPC-H's nation. Version 0 holds its first 10 rows, version 1 appends the rest;
both are partitioned by n_regionkey, so reads can skip partitions.
"""

import sys

import pyarrow.parquet as pq
from deltalake import write_deltalake


def main(source, dest):
    table = pq.read_table(source)
    write_deltalake(dest, table.slice(0, 10), partition_by=["n_regionkey"])
    write_deltalake(dest, table.slice(10), partition_by=["n_regionkey"], mode="append")


if __name__ == "__main__":
    main(*sys.argv[1:])
