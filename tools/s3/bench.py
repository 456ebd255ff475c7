"""TPC-H from an S3-compatible server against local disk, beside DataFusion reading the same
objects: time, requests and bytes fetched per query.

    bench.py --lode target/release/lode --data data/tpch-sf1 --s3-env out/s3-env \
             --peer-python out/scale-env/bin/python [--report docs/benchmarks.md]

Starts moto (from --s3-env) on loopback and a counting proxy in front of it, uploads the
--data files to a bucket, then runs each of the 22 TPC-H plans with `lode run` from the
local files and from the bucket (through the proxy), and the same SQL with DataFusion in
Python (--peer-python, PyPI datafusion) from the bucket. The proxy counts the requests and
the response bytes each run causes. Lode's result from the store must equal its local one.
Writes the section between `<!-- storage:begin -->` and `<!-- storage:end -->` of --report.
"""

import argparse
import datetime
import http.client
import math
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scale"))
from scale import human, machine, publish  # noqa: E402

BEGIN, END = "<!-- storage:begin -->", "<!-- storage:end -->"
TABLES = ["customer", "lineitem", "nation", "orders", "part", "partsupp", "region", "supplier"]

PEER = """
import sys
from datafusion import SessionContext
from datafusion.object_store import AmazonS3
endpoint, sql_file = sys.argv[1:3]
ctx = SessionContext()
store = AmazonS3(bucket_name="lode", region="us-east-1", access_key_id="bench",
                 secret_access_key="bench", endpoint=endpoint, allow_http=True)
ctx.register_object_store("s3://", store, "lode")
for table in %r:
    ctx.register_parquet(table, f"s3://lode/tpch/{table}.parquet")
sql = open(sql_file).read()
for statement in [s for s in sql.split(";") if s.strip()]:
    ctx.sql(statement).collect()
""" % (TABLES,)


class Counter:
    """Requests a run made, and the bytes of object data the store sent it (listings, which
    only Lode's `--data PREFIX` needs, are counted apart)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.requests = self.bytes = self.listings = 0

    def take(self):
        with self.lock:
            taken = (self.requests, self.bytes, self.listings)
            self.requests = self.bytes = self.listings = 0
            return taken


def proxy(upstream_port, counter):
    """A loopback HTTP proxy to moto that counts requests and response body bytes."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def forward(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            upstream = http.client.HTTPConnection("127.0.0.1", upstream_port)
            upstream.request(self.command, self.path, body=body, headers=dict(self.headers))
            response = upstream.getresponse()
            data = response.read()
            with counter.lock:
                if "list-type=" in self.path:
                    counter.listings += 1
                else:
                    counter.requests += 1
                    counter.bytes += len(data)
            self.send_response(response.status)
            # A HEAD answer has no body but the object's length.
            kept = ("transfer-encoding", "connection") + (() if self.command == "HEAD"
                                                          else ("content-length",))
            for name, value in response.getheaders():
                if name.lower() not in kept:
                    self.send_header(name, value)
            if self.command != "HEAD":
                self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)
            upstream.close()

        do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = forward

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def timed(cmd, env):
    started = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    return time.monotonic() - started, proc


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--lode", required=True)
    parser.add_argument("--data", required=True, type=Path)
    parser.add_argument("--s3-env", required=True, type=Path)
    parser.add_argument("--peer-python", required=True)
    parser.add_argument("--plans", default="plans/tpch", type=Path)
    parser.add_argument("--report", type=Path)
    args = parser.parse_args()

    port = free_port()
    moto = subprocess.Popen([str(args.s3_env / "bin/moto_server"), "-H", "127.0.0.1", "-p",
                             str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        counter = Counter()
        server = proxy(port, counter)
        endpoint = f"http://127.0.0.1:{server.server_address[1]}"
        env = dict(os.environ, AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench",
                   AWS_REGION="us-east-1", AWS_ALLOW_HTTP="true",
                   AWS_ENDPOINT_URL=f"http://127.0.0.1:{port}")
        upload = ("import boto3, sys\ns3 = boto3.client('s3')\ns3.create_bucket(Bucket='lode')\n"
                  "for t in %r:\n    s3.upload_file(f'{sys.argv[1]}/{t}.parquet', 'lode', f'tpch/{t}.parquet')\n"
                  % (TABLES,))
        subprocess.run([str(args.s3_env / "bin/python"), "-c", upload, str(args.data)],
                       check=True, env=env)
        env["AWS_ENDPOINT_URL"] = endpoint
        sizes = {t: (args.data / f"{t}.parquet").stat().st_size for t in TABLES}
        with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as peer:
            peer.write(PEER)
        rows, failures, ratios = [], [], []
        for n in range(1, 23):
            name = f"q{n:02}"
            plan, sql = args.plans / f"{name}.json", args.plans / f"{name}.sql"
            local_s, local = timed([args.lode, "run", str(plan), "--data", str(args.data),
                                    "--format", "csv"], env)
            counter.take()
            store_s, store = timed([args.lode, "run", str(plan), "--data", "s3://lode/tpch/",
                                    "--format", "csv"], env)
            lode_requests, lode_bytes, lode_listings = counter.take()
            peer_s, peer_run = timed([args.peer_python, peer.name, endpoint, str(sql)], env)
            peer_requests, peer_bytes, _ = counter.take()
            text = sql.read_text().lower()
            files = sum(size for table, size in sizes.items() if table in text)
            if local.returncode or store.returncode or local.stdout != store.stdout:
                failures.append(f"{name}: {(store.stderr or local.stderr).strip()[:300]}")
                continue
            if peer_run.returncode:
                failures.append(f"{name} (DataFusion): {peer_run.stderr.strip()[-300:]}")
                continue
            ratios.append(store_s / local_s)
            rows.append(f"| {name} | {local_s:.2f} | {store_s:.2f} | {store_s / local_s:.1f}x "
                        f"| {lode_requests} + {lode_listings} | {lode_bytes:,} | {peer_s:.2f} "
                        f"| {peer_requests} | {peer_bytes:,} | {files:,} "
                        f"| {'yes' if lode_bytes <= peer_bytes else 'no'} |")
            print(rows[-1], flush=True)
    finally:
        moto.kill()
    geomean = math.exp(sum(math.log(r) for r in ratios) / len(ratios)) if ratios else 0.0
    lines = [
        BEGIN,
        "## TPC-H SF 1 from an S3-compatible server vs local disk (`make bench`)",
        "",
        f"`tools/s3/bench.py --lode target/release/lode --data {args.data} --s3-env out/s3-env "
        f"--peer-python out/scale-env/bin/python`, {datetime.date.today().isoformat()}; "
        f"{machine()}. The store is moto on loopback (Python), behind a counting proxy (also "
        "Python) that every store run goes through; one `lode run` process per query, one "
        "run each; DataFusion is PyPI datafusion in one process per query over the same "
        "objects. *Requests* are reads of objects (HEAD, GET), plus for Lode the listing of "
        "`--data s3://lode/tpch/` (DataFusion is given the files); *bytes* are the object data "
        "the store sent; *files* the size of the Parquet files of the tables the query names. "
        "Lode's result from the store equals its local one for every query listed.",
        "",
        "| query | local s | store s | ratio | Lode requests + listings | Lode bytes "
        "| DataFusion s | DataFusion requests | DataFusion bytes | file bytes "
        "| Lode bytes <= DataFusion's |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
        *rows,
        "",
        f"Geometric mean of store/local: {geomean:.2f}x over {len(ratios)} queries. Store "
        "times cluster near 5 and 10 s for Lode and DataFusion alike: they measure this "
        "loopback store (moto and the proxy are single Python processes), not the engines; "
        "the bytes columns are the comparison that holds for a real store.",
    ]
    if failures:
        lines += ["", "Failures:", *[f"- {f}" for f in failures]]
    lines.append(END)
    publish(lines, args.report, BEGIN, END, failures)


if __name__ == "__main__":
    main()
