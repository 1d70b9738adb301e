#!/usr/bin/env python3
"""S3 objects for the S3 state backend test (tests/it-statesrc.c).

    statesrc_s3.py bucket BUCKET             create the bucket (in AWS_REGION)
    statesrc_s3.py put BUCKET KEY FILE       upload FILE as KEY
    statesrc_s3.py put-kms BUCKET KEY FILE   the same, encrypted with a new
                                             KMS key (SSE-KMS)
    statesrc_s3.py delete BUCKET KEY         delete KEY

Prints the object's ETag after put, nothing otherwise.
"""

import os
import sys

import boto3


def main(argv):
    region = os.environ.get("AWS_REGION", "eu-central-1")
    s3 = boto3.client("s3", region_name=region)
    cmd = argv[1] if len(argv) > 1 else ""
    if cmd == "bucket" and len(argv) == 3:
        s3.create_bucket(Bucket=argv[2],
                         CreateBucketConfiguration={"LocationConstraint": region})
    elif cmd in ("put", "put-kms") and len(argv) == 5:
        extra = {}
        if cmd == "put-kms":
            key = boto3.client("kms", region_name=region).create_key()["KeyMetadata"]["KeyId"]
            extra = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": key}
        with open(argv[4], "rb") as f:
            r = s3.put_object(Bucket=argv[2], Key=argv[3], Body=f.read(), **extra)
        print(r["ETag"])
    elif cmd == "delete" and len(argv) == 4:
        s3.delete_object(Bucket=argv[2], Key=argv[3])
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
