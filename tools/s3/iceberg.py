"""Writes an Apache Iceberg table with PyIceberg, for Lode's tests.

    iceberg.py SOURCE.parquet TABLE_LOCATION [ENDPOINT KEY SECRET]

SOURCE is TPC-H's nation. The first snapshot holds its first 10 rows, the second appends the
rest; both are partitioned by n_regionkey (identity), so reads can skip files. The table is
written at TABLE_LOCATION (a file:// or s3:// URI; with s3://, ENDPOINT, KEY and SECRET name
the S3-compatible server). The catalog is an in-memory SQLite one that ends with this script:
Lode reads the table by its location, from the metadata files. Prints the two snapshot ids.
"""

import sys

import pyarrow as pa
import pyarrow.parquet as pq
from pyiceberg.catalog.sql import SqlCatalog
from pyiceberg.partitioning import PartitionField, PartitionSpec
from pyiceberg.transforms import IdentityTransform


def main(source, location, endpoint=None, key=None, secret=None):
    properties = {"uri": "sqlite:///:memory:", "warehouse": location}
    if endpoint:
        properties.update({
            "s3.endpoint": endpoint,
            "s3.access-key-id": key,
            "s3.secret-access-key": secret,
            "s3.region": "us-east-1",
        })
    catalog = SqlCatalog("lode", **properties)
    catalog.create_namespace("tests")
    rows = pq.read_table(source)
    # PyIceberg's writer does not take string views (Lode's generator writes them).
    rows = rows.cast(pa.schema([
        pa.field(f.name, pa.string() if pa.types.is_string_view(f.type) else f.type, f.nullable)
        for f in rows.schema
    ]))
    table = catalog.create_table("tests.nation", schema=rows.schema, location=location)
    with table.update_spec() as spec:
        spec.add_field("n_regionkey", IdentityTransform(), "n_regionkey")
    table.append(rows.slice(0, 10))
    table.append(rows.slice(10))
    table = catalog.load_table("tests.nation")
    print(" ".join(str(s.snapshot_id) for s in table.snapshots()))


if __name__ == "__main__":
    main(*sys.argv[1:])
