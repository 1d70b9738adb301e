#!/usr/bin/env python3
"""Seed moto for tests/it-client.c: principals with known permissions and
a little data in each service the client test reads.

Runs with moto's authentication off (tests/testutil.c's tu_moto_env
points boto3 at the server) and prints one JSON object:
    {"account": "123456789012",
     "reader":  {"key": ..., "secret": ...},   read access to the services
     "limited": {"key": ..., "secret": ...},   ec2:DescribeVolumes only
     "admin":   {"key": ..., "secret": ...},   AdministratorAccess attached
                                               (null when moto has no AWS
                                               managed policies loaded)
     "role_arn": ...,                          trusts reader with ExternalId
     "external_id": "plumb-ext-1",
     "bucket": ..., "object_key": ..., "object_body": ...,
     "trail": ..., "kms_key": ...}
"""
import json
import os

import boto3

REGION = os.environ.get("AWS_REGION", "eu-central-1")
ACCOUNT = "123456789012"
EXTERNAL_ID = "plumb-ext-1"

READ_ACTIONS = [
    "ec2:Describe*",
    "s3:ListAllMyBuckets",
    "s3:GetBucketLocation",
    "s3:GetObject",
    "iam:List*",
    "iam:Get*",
    "config:Describe*",
    "kms:List*",
    "kms:Describe*",
    "cloudtrail:DescribeTrails",
    "cloudtrail:GetTrailStatus",
    "sts:AssumeRole",
]


def policy(actions):
    return json.dumps({"Version": "2012-10-17",
                       "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]})


def user(iam, name, actions=None, managed=None):
    iam.create_user(UserName=name)
    if actions:
        iam.put_user_policy(UserName=name, PolicyName="plumb-test", PolicyDocument=policy(actions))
    if managed:
        iam.attach_user_policy(UserName=name, PolicyArn=managed)
    k = iam.create_access_key(UserName=name)["AccessKey"]
    return {"key": k["AccessKeyId"], "secret": k["SecretAccessKey"]}


def main():
    iam = boto3.client("iam", region_name=REGION)
    out = {"account": ACCOUNT, "external_id": EXTERNAL_ID}
    out["reader"] = user(iam, "plumb-reader", READ_ACTIONS)
    out["limited"] = user(iam, "plumb-limited", ["ec2:DescribeVolumes"])
    try:
        out["admin"] = user(iam, "plumb-admin",
                            managed="arn:aws:iam::aws:policy/AdministratorAccess")
    except iam.exceptions.NoSuchEntityException:
        out["admin"] = None
    trust = {"Version": "2012-10-17",
             "Statement": [{"Effect": "Allow",
                            "Principal": {"AWS": "arn:aws:iam::%s:user/plumb-reader" % ACCOUNT},
                            "Action": "sts:AssumeRole",
                            "Condition": {"StringEquals": {"sts:ExternalId": EXTERNAL_ID}}}]}
    role = iam.create_role(RoleName="plumb-audit", AssumeRolePolicyDocument=json.dumps(trust))
    iam.put_role_policy(RoleName="plumb-audit", PolicyName="plumb-test",
                        PolicyDocument=policy(["ec2:DescribeVolumes"]))
    out["role_arn"] = role["Role"]["Arn"]

    s3 = boto3.client("s3", region_name=REGION)
    out["bucket"] = "plumb-it-state"
    out["object_key"] = "env/prod/terraform.tfstate"
    out["object_body"] = '{"version": 4, "serial": 7, "lineage": "it-client"}'
    s3.create_bucket(Bucket=out["bucket"],
                     CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_object(Bucket=out["bucket"], Key=out["object_key"], Body=out["object_body"].encode())

    ec2 = boto3.client("ec2", region_name=REGION)
    ec2.create_volume(AvailabilityZone=REGION + "a", Size=8, Encrypted=True)

    out["kms_key"] = boto3.client("kms", region_name=REGION).create_key()["KeyMetadata"]["KeyId"]
    ct = boto3.client("cloudtrail", region_name=REGION)
    out["trail"] = "plumb-it-trail"
    ct.create_trail(Name=out["trail"], S3BucketName=out["bucket"])
    cfg = boto3.client("config", region_name=REGION)
    cfg.put_configuration_recorder(ConfigurationRecorder={
        "name": "default", "roleARN": "arn:aws:iam::%s:role/config" % ACCOUNT,
        "recordingGroup": {"allSupported": True}})
    print(json.dumps(out))


if __name__ == "__main__":
    main()
