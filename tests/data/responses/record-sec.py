#!/usr/bin/env python3
"""Record the parsed outputs the "sec" collectors read, from moto.

Usage: AWS_ENDPOINT_URL=http://127.0.0.1:PORT python3 record-sec.py

Resets the moto_server at AWS_ENDPOINT_URL, seeds its id generator, builds
the estate of tests/seed/sec.py and writes one JSON file per call below
tests/data/responses/<service>/ (s3, s3control, iam, kms, cloudtrail,
config, guardduty, logs): the output as botocore parses it, without
ResponseMetadata, with timestamps as the ISO 8601 UTC strings plumb's
parsers produce ("2015-01-25T08:00:00Z", ".mmm" only when not zero) and
blobs as base64.  Calls that fail are listed with their error code in
<service>/errors.json.  The files are checked in; re-run this only when
the estate changes, and review the diff.
"""
import base64
import datetime
import json
import os
import sys
import urllib.request

import boto3

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "seed"))
import sec  # noqa: E402  (tests/seed/sec.py)


def ts(dt):
    dt = dt.astimezone(datetime.timezone.utc)
    base = dt.strftime("%Y-%m-%dT%H:%M:%S")
    ms = dt.microsecond // 1000
    return base + (".%03dZ" % ms if ms else "Z")


def plain(v):
    if isinstance(v, dict):
        return {k: plain(x) for k, x in v.items() if k != "ResponseMetadata"}
    if isinstance(v, list):
        return [plain(x) for x in v]
    if isinstance(v, datetime.datetime):
        return ts(v)
    if isinstance(v, (bytes, bytearray)):
        return base64.b64encode(bytes(v)).decode()
    if hasattr(v, "read"):
        return base64.b64encode(v.read()).decode()
    return v


class Recorder:
    def __init__(self):
        self.errors = {}

    def call(self, service, client, op, name, **params):
        try:
            out = getattr(client, op)(**params)
        except client.exceptions.ClientError as e:
            code = e.response["Error"]["Code"]
            self.errors.setdefault(service, {})[name] = code
            return None
        out = plain(out)
        d = os.path.join(HERE, service)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, name + ".json"), "w") as f:
            json.dump(out, f, indent=1, sort_keys=True)
            f.write("\n")
        return out

    def finish(self):
        for service, errs in self.errors.items():
            with open(os.path.join(HERE, service, "errors.json"), "w") as f:
                json.dump(errs, f, indent=1, sort_keys=True)
                f.write("\n")


def moto_post(path, body=b""):
    endpoint = os.environ["AWS_ENDPOINT_URL"]
    req = urllib.request.Request(endpoint + path, data=body, method="POST")
    urllib.request.urlopen(req).read()


def record_s3(rec, built):
    s3 = boto3.client("s3", region_name=sec.HOME)
    rec.call("s3", s3, "list_buckets", "list-buckets", MaxBuckets=10000)
    for bucket, region in sorted(built["buckets"].items()):
        c = boto3.client("s3", region_name=region)
        rec.call("s3", s3, "get_bucket_location", "get-bucket-location-" + bucket, Bucket=bucket)
        for op in ("get_bucket_encryption", "get_public_access_block", "get_bucket_policy",
                   "get_bucket_versioning", "get_bucket_logging",
                   "get_bucket_lifecycle_configuration", "get_bucket_tagging",
                   "get_bucket_acl"):
            rec.call("s3", c, op, op.replace("_", "-") + "-" + bucket, Bucket=bucket)
    rec.call("s3control", sec._s3control(), "get_public_access_block",
             "get-public-access-block", AccountId=sec.ACCOUNT)


def record_iam(rec, built):
    iam = boto3.client("iam", region_name=sec.HOME)
    rec.call("iam", iam, "get_account_authorization_details",
             "get-account-authorization-details", MaxItems=1000,
             Filter=["User", "Role", "LocalManagedPolicy"])
    rec.call("iam", iam, "list_users", "list-users", MaxItems=1000)
    rec.call("iam", iam, "list_roles", "list-roles", MaxItems=1000)
    for user, keys in sorted(built["iam"]["keys"].items()):
        rec.call("iam", iam, "list_access_keys", "list-access-keys-" + user, UserName=user)
        for i, key in enumerate(keys):
            rec.call("iam", iam, "get_access_key_last_used",
                     "get-access-key-last-used-%s-%d" % (user, i), AccessKeyId=key)
    rec.call("iam", iam, "list_policy_tags", "list-policy-tags", PolicyArn=built["iam"]["policy"])
    rec.call("iam", iam, "list_virtual_mfa_devices", "list-virtual-mfa-devices", MaxItems=1000)
    rec.call("iam", iam, "generate_credential_report", "generate-credential-report-started")
    rec.call("iam", iam, "generate_credential_report", "generate-credential-report-complete")
    rec.call("iam", iam, "get_credential_report", "get-credential-report")
    rec.call("iam", iam, "get_account_password_policy", "get-account-password-policy")
    rec.call("iam", iam, "get_account_summary", "get-account-summary")


def record_kms(rec, built):
    kms = boto3.client("kms", region_name=sec.EU)
    rec.call("kms", kms, "list_keys", "list-keys", Limit=1000)
    rec.call("kms", kms, "list_aliases", "list-aliases", Limit=100)
    for name in ("logs", "sign", "old"):
        key = built["kms"][name]
        rec.call("kms", kms, "describe_key", "describe-key-" + name, KeyId=key)
        rec.call("kms", kms, "get_key_rotation_status", "get-key-rotation-status-" + name,
                 KeyId=key)
        rec.call("kms", kms, "list_resource_tags", "list-resource-tags-" + name, KeyId=key)
        rec.call("kms", kms, "get_key_policy", "get-key-policy-" + name, KeyId=key,
                 PolicyName="default")


def record_cloudtrail(rec, built):
    for region in (sec.EU, sec.HOME):
        ct = boto3.client("cloudtrail", region_name=region)
        trails = rec.call("cloudtrail", ct, "describe_trails", "describe-trails-" + region,
                          includeShadowTrails=True)
        for t in trails["trailList"]:
            if t["HomeRegion"] != region:
                continue
            arn = t["TrailARN"]
            rec.call("cloudtrail", ct, "get_trail_status", "get-trail-status-" + t["Name"],
                     Name=arn)
            rec.call("cloudtrail", ct, "get_event_selectors",
                     "get-event-selectors-" + t["Name"], TrailName=arn)
            rec.call("cloudtrail", ct, "get_insight_selectors",
                     "get-insight-selectors-" + t["Name"], TrailName=arn)
            rec.call("cloudtrail", ct, "list_tags", "list-tags-" + t["Name"],
                     ResourceIdList=[arn])


def record_config(rec, built):
    cfg = boto3.client("config", region_name=sec.EU)
    rec.call("config", cfg, "describe_configuration_recorders",
             "describe-configuration-recorders")
    rec.call("config", cfg, "describe_configuration_recorder_status",
             "describe-configuration-recorder-status")
    rec.call("config", cfg, "describe_delivery_channels", "describe-delivery-channels")


def record_guardduty(rec, built):
    gd = boto3.client("guardduty", region_name=sec.EU)
    rec.call("guardduty", gd, "list_detectors", "list-detectors", MaxResults=50)
    rec.call("guardduty", gd, "get_detector", "get-detector",
             DetectorId=built["guardduty"][sec.EU])


def record_logs(rec, built):
    for region in (sec.EU, sec.HOME):
        logs = boto3.client("logs", region_name=region)
        out = rec.call("logs", logs, "describe_log_groups", "describe-log-groups-" + region,
                       limit=50)
        for g in out["logGroups"]:
            rec.call("logs", logs, "list_tags_for_resource",
                     "list-tags-for-resource" + g["logGroupName"].replace("/", "-"),
                     resourceArn=g["logGroupArn"])


def main():
    if not os.environ.get("AWS_ENDPOINT_URL"):
        sys.stderr.write(__doc__)
        return 2
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "AKIAPLUMBTEST0000000")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "plumbtestsecret")
    moto_post("/moto-api/reset")
    moto_post("/moto-api/seed?a=42")
    built = sec.build()
    rec = Recorder()
    for f in (record_s3, record_iam, record_kms, record_cloudtrail, record_config,
              record_guardduty, record_logs):
        f(rec, built)
    rec.finish()
    with open(os.path.join(HERE, "sec-estate.json"), "w") as f:
        json.dump(built, f, indent=1, sort_keys=True)
        f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
