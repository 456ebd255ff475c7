"""Seeds an S3-compatible server for Lode's tests and benchmarks.

    seed.py ENDPOINT BUCKET [PREFIX=DIR | KEY=FILE ...] [--copies PREFIX=FILE:N]

Started with INITIAL_NO_AUTH_ACTION_COUNT=3, moto checks credentials after its first three
requests: this script spends them creating an IAM user, its access key and a policy that
lets it use S3, then, as that user, creates BUCKET and uploads every file of each DIR under
PREFIX/ (sub-directories included), each FILE as KEY (and N copies of FILE as PREFIX/part-00000.parquet ...). It prints the user's access
key id and secret on one line, for the caller to put in AWS_ACCESS_KEY_ID and
AWS_SECRET_ACCESS_KEY.
"""

import json
import os
import sys
from concurrent.futures import ThreadPoolExecutor

import boto3


def main(argv):
    endpoint, bucket, *rest = argv
    anonymous = dict(endpoint_url=endpoint, region_name="us-east-1",
                     aws_access_key_id="seed", aws_secret_access_key="seed")
    iam = boto3.client("iam", **anonymous)
    iam.create_user(UserName="lode")
    key = iam.create_access_key(UserName="lode")["AccessKey"]
    iam.put_user_policy(UserName="lode", PolicyName="s3", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
    }))
    s3 = boto3.client("s3", **dict(anonymous, aws_access_key_id=key["AccessKeyId"],
                                   aws_secret_access_key=key["SecretAccessKey"]))
    s3.create_bucket(Bucket=bucket)
    uploads = []
    copies = False
    for arg in rest:
        if arg == "--copies":
            copies = True
            continue
        prefix, source = arg.split("=", 1)
        if os.path.isfile(source) and not copies:
            uploads.append((source, prefix))
            continue
        if copies:
            path, count = source.rsplit(":", 1)
            uploads += [(path, f"{prefix}/part-{i:05}.parquet") for i in range(int(count))]
            copies = False
        else:
            for root, _, files in sorted(os.walk(source)):
                for name in sorted(files):
                    path = os.path.join(root, name)
                    relative = os.path.relpath(path, source).replace(os.sep, "/")
                    uploads.append((path, f"{prefix}/{relative}"))
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda u: s3.upload_file(u[0], bucket, u[1]), uploads))
    print(key["AccessKeyId"], key["SecretAccessKey"])


if __name__ == "__main__":
    main(sys.argv[1:])
