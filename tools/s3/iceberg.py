"""Writes an Apache Iceberg table with PyIceberg, for Lode's tests, or reads one back.

    iceberg.py SOURCE.parquet TABLE_LOCATION [ENDPOINT KEY SECRET]
    iceberg.py --read TABLE_LOCATION [ENDPOINT KEY SECRET]

SOURCE is TPC-H's nation. The first snapshot holds its first 10 rows, the second appends the
rest; both are partitioned by n_regionkey (identity), so reads can skip files. The table is
written at TABLE_LOCATION (a file:// or s3:// URI; with s3://, ENDPOINT, KEY and SECRET name
the S3-compatible server). The catalog is an in-memory SQLite one that ends with this script:
Lode reads the table by its location, from the metadata files. Prints the two snapshot ids.

With --read, PyIceberg reads the table at TABLE_LOCATION as its newest metadata file has
it, as any engine reading the table by location would after Lode appended to it, and prints
its row count and the sum of n_nationkey.
"""

import sys

import pyarrow as pa
import pyarrow.parquet as pq
from pyiceberg.catalog.sql import SqlCatalog
from pyiceberg.partitioning import PartitionField, PartitionSpec
from pyiceberg.transforms import IdentityTransform


def s3_properties(endpoint, key, secret):
    if not endpoint:
        return {}
    return {
        "s3.endpoint": endpoint,
        "s3.access-key-id": key,
        "s3.secret-access-key": secret,
        "s3.region": "us-east-1",
    }


def newest_metadata(location, endpoint, key, secret):
    """The URI of the table's metadata file with the highest version number."""
    from pyarrow import fs
    if location.startswith("s3://"):
        files = fs.S3FileSystem(endpoint_override=endpoint, access_key=key, secret_key=secret,
                                region="us-east-1", scheme="http")
        prefix = location[len("s3://"):].rstrip("/") + "/metadata"
    else:
        files = fs.LocalFileSystem()
        prefix = location[len("file://"):].rstrip("/") + "/metadata"
    names = [info.base_name for info in files.get_file_info(fs.FileSelector(prefix))
             if info.base_name.endswith(".metadata.json")]

    def version(name):
        stem = name[:-len(".metadata.json")]
        return int(stem[1:]) if stem.startswith("v") else int(stem.split("-")[0])

    return location.rstrip("/") + "/metadata/" + max(names, key=version)


def read(location, endpoint=None, key=None, secret=None):
    from pyiceberg.table import StaticTable
    metadata = newest_metadata(location, endpoint, key, secret)
    table = StaticTable.from_metadata(metadata, properties=s3_properties(endpoint, key, secret))
    rows = table.scan().to_arrow()
    print(rows.num_rows, sum(rows.column("n_nationkey").to_pylist()))


def main(source, location, endpoint=None, key=None, secret=None):
    properties = {"uri": "sqlite:///:memory:", "warehouse": location}
    properties.update(s3_properties(endpoint, key, secret))
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
    if sys.argv[1] == "--read":
        read(*sys.argv[2:])
    else:
        main(*sys.argv[1:])
