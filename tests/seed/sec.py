#!/usr/bin/env python3
"""Seed (or change) the security estate the "sec" collectors read.

Usage: sec.py seed | change | delete | restricted-user

  seed             create the estate (S3, IAM, KMS, CloudTrail, Config,
                   GuardDuty, CloudWatch Logs) in us-east-1 and eu-central-1
                   and print what was created as JSON on stdout
  change           change exactly one attribute of one resource per
                   collector (see CHANGES) and print them as JSON
  delete           delete the log group /plumb/us (us-east-1)
  restricted-user  create the IAM user "plumb-sec-ro" whose policy allows
                   what the collectors call except the actions in DENIED,
                   and print its access key as JSON

The estate is also what tests/data/responses/record-sec.py records for the
unit tests (it imports build()), so both see the same shapes.  boto3 takes
the endpoint from AWS_ENDPOINT_URL (tests/testutil.c sets it to moto).
moto's account is 123456789012.
"""
import json
import os
import sys

import boto3

ACCOUNT = "123456789012"
HOME = "us-east-1"
EU = "eu-central-1"

# What `change` does: (collector, what changes).
CHANGES = {
    "logs": "retention of /plumb/app (eu-central-1) becomes 90 days",
    "s3": "tag env of bucket plumb-sec-data becomes staging",
    "iam": "description of role plumb-app changes",
    "kms": "rotation of the key plumb-old (eu-central-1) is turned on",
    "cloudtrail": "trail plumb-main stops logging",
    "configservice": "the recorder default (eu-central-1) stops recording",
    "guardduty": "the eu-central-1 detector publishes findings every hour",
}

# Actions the restricted user may not call, and the types that therefore
# cannot be read (see tests/it-collect-sec.c).
DENIED = [
    "s3:GetBucketPolicy",
    "iam:GetAccountPasswordPolicy",
    "kms:ListAliases",
    "cloudtrail:DescribeTrails",
    "config:DescribeDeliveryChannels",
]

ALLOWED = [
    "s3:ListAllMyBuckets", "s3:GetBucketLocation", "s3:GetEncryptionConfiguration",
    "s3:GetBucketPublicAccessBlock", "s3:GetBucketPolicy", "s3:GetBucketVersioning",
    "s3:GetBucketLogging", "s3:GetLifecycleConfiguration", "s3:GetBucketTagging",
    "s3:GetBucketAcl", "s3:GetAccountPublicAccessBlock",
    "iam:GetAccountAuthorizationDetails", "iam:ListUsers", "iam:ListRoles",
    "iam:ListAccessKeys", "iam:GetAccessKeyLastUsed", "iam:ListPolicyTags",
    "iam:ListVirtualMFADevices", "iam:GenerateCredentialReport",
    "iam:GetCredentialReport", "iam:GetAccountPasswordPolicy", "iam:GetAccountSummary",
    "kms:ListKeys", "kms:DescribeKey", "kms:GetKeyRotationStatus", "kms:GetKeyPolicy",
    "kms:ListResourceTags", "kms:ListAliases",
    "cloudtrail:DescribeTrails", "cloudtrail:GetTrailStatus",
    "cloudtrail:GetEventSelectors", "cloudtrail:GetInsightSelectors", "cloudtrail:ListTags",
    "config:DescribeConfigurationRecorders", "config:DescribeConfigurationRecorderStatus",
    "config:DescribeDeliveryChannels",
    "guardduty:ListDetectors", "guardduty:GetDetector",
    "logs:DescribeLogGroups", "logs:ListTagsForResource",
    "sts:GetCallerIdentity",
    # moto's names for what AWS checks as s3:GetAccountPublicAccessBlock,
    # s3:GetBucketPublicAccessBlock and s3:GetEncryptionConfiguration
    # (above): it maps both GetPublicAccessBlock calls to one action and
    # GetBucketEncryption to s3:ListBucket.
    "s3:GetPublicAccessBlock", "s3:ListBucket",
]


def _tags(d):
    return [{"Key": k, "Value": v} for k, v in d.items()]


def _client(name, region):
    return boto3.client(name, region_name=region)


def _s3control():
    """s3control puts the account id in front of the host name, which does
    not resolve for 127.0.0.1; moto takes the x-amz-account-id header."""
    c = _client("s3control", HOME)
    endpoint = os.environ.get("AWS_ENDPOINT_URL", "")
    if endpoint:
        def strip(request, **_):
            request.url = request.url.replace("://%s." % ACCOUNT, "://")
        c.meta.events.register("before-sign.s3-control.*", strip)
    return c


def _doc(statements):
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def build_kms(out):
    kms = _client("kms", EU)
    logs_key = kms.create_key(Description="plumb logs", Tags=[
        {"TagKey": "team", "TagValue": "security"}])["KeyMetadata"]
    kms.enable_key_rotation(KeyId=logs_key["KeyId"])
    kms.create_alias(AliasName="alias/plumb-logs", TargetKeyId=logs_key["KeyId"])
    sign_key = kms.create_key(Description="plumb signing", KeyUsage="SIGN_VERIFY",
                              KeySpec="RSA_2048")["KeyMetadata"]
    old_key = kms.create_key(Description="plumb old")["KeyMetadata"]
    out["kms"] = {"logs": logs_key["KeyId"], "logs_arn": logs_key["Arn"],
                  "sign": sign_key["KeyId"], "old": old_key["KeyId"]}
    return logs_key["Arn"]


def build_s3(out, kms_arn):
    s3_eu = _client("s3", EU)
    s3_us = _client("s3", HOME)
    s3_eu.create_bucket(Bucket="plumb-sec-logs",
                        CreateBucketConfiguration={"LocationConstraint": EU})
    s3_eu.put_bucket_encryption(Bucket="plumb-sec-logs", ServerSideEncryptionConfiguration={
        "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms",
                                                          "KMSMasterKeyID": kms_arn},
                   "BucketKeyEnabled": True}]})
    s3_eu.put_public_access_block(Bucket="plumb-sec-logs", PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True})
    s3_eu.put_bucket_policy(Bucket="plumb-sec-logs", Policy=_doc([
        {"Sid": "TLSOnly", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
         "Resource": ["arn:aws:s3:::plumb-sec-logs", "arn:aws:s3:::plumb-sec-logs/*"],
         "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]))
    s3_eu.put_bucket_versioning(Bucket="plumb-sec-logs",
                                VersioningConfiguration={"Status": "Enabled"})
    s3_eu.put_bucket_lifecycle_configuration(Bucket="plumb-sec-logs", LifecycleConfiguration={
        "Rules": [
            {"ID": "expire-logs", "Status": "Enabled", "Filter": {"Prefix": "AWSLogs/"},
             "Expiration": {"Days": 400},
             "Transitions": [{"Days": 30, "StorageClass": "STANDARD_IA"}],
             "NoncurrentVersionExpiration": {"NoncurrentDays": 90},
             "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7}},
            {"ID": "tmp", "Status": "Disabled",
             "Filter": {"And": {"Prefix": "tmp/", "Tags": _tags({"scratch": "yes"})}},
             "Expiration": {"Days": 1}},
        ]})
    s3_eu.put_bucket_tagging(Bucket="plumb-sec-logs",
                             Tagging={"TagSet": _tags({"team": "security", "purpose": "logs"})})

    s3_us.create_bucket(Bucket="plumb-sec-access-logs", ACL="log-delivery-write")
    s3_us.create_bucket(Bucket="plumb-sec-data")
    s3_us.put_bucket_encryption(Bucket="plumb-sec-data", ServerSideEncryptionConfiguration={
        "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})
    s3_us.put_bucket_logging(Bucket="plumb-sec-data", BucketLoggingStatus={
        "LoggingEnabled": {"TargetBucket": "plumb-sec-access-logs", "TargetPrefix": "data/"}})
    s3_us.put_bucket_versioning(Bucket="plumb-sec-data",
                                VersioningConfiguration={"Status": "Enabled"})
    s3_us.put_bucket_versioning(Bucket="plumb-sec-data",
                                VersioningConfiguration={"Status": "Suspended"})
    s3_us.put_bucket_tagging(Bucket="plumb-sec-data",
                             Tagging={"TagSet": _tags({"team": "data", "env": "prod"})})

    _s3control().put_public_access_block(AccountId=ACCOUNT, PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
        "RestrictPublicBuckets": False})
    out["buckets"] = {"plumb-sec-logs": EU, "plumb-sec-data": HOME,
                      "plumb-sec-access-logs": HOME}


def build_iam(out):
    iam = _client("iam", HOME)
    boundary = iam.create_policy(
        PolicyName="plumb-boundary", Path="/plumb/", Description="boundary for staff",
        PolicyDocument=_doc([{"Effect": "Allow", "Action": ["s3:Get*", "logs:*"],
                              "Resource": "*"}]),
        Tags=_tags({"owner": "platform"}))["Policy"]["Arn"]
    iam.create_user(UserName="alice", Path="/staff/", PermissionsBoundary=boundary,
                    Tags=_tags({"team": "security"}))
    iam.create_login_profile(UserName="alice", Password="Correct-Horse-9")
    alice_key = iam.create_access_key(UserName="alice")["AccessKey"]["AccessKeyId"]
    mfa = iam.create_virtual_mfa_device(VirtualMFADeviceName="alice-mfa")
    mfa_serial = mfa["VirtualMFADevice"]["SerialNumber"]
    iam.enable_mfa_device(UserName="alice", SerialNumber=mfa_serial,
                          AuthenticationCode1="123456", AuthenticationCode2="654321")
    spare = iam.create_virtual_mfa_device(VirtualMFADeviceName="spare-mfa", Path="/ops/")
    iam.create_user(UserName="bob")
    bob_keys = [iam.create_access_key(UserName="bob")["AccessKey"]["AccessKeyId"]
                for _ in range(2)]
    iam.update_access_key(UserName="bob", AccessKeyId=bob_keys[1], Status="Inactive")
    iam.create_role(
        RoleName="plumb-app", Path="/app/", Description="the application",
        MaxSessionDuration=7200, Tags=_tags({"app": "plumb"}),
        AssumeRolePolicyDocument=_doc([{"Effect": "Allow", "Action": "sts:AssumeRole",
                                        "Principal": {"Service": "ec2.amazonaws.com"}}]))
    iam.put_role_policy(RoleName="plumb-app", PolicyName="read-logs", PolicyDocument=_doc([
        {"Effect": "Allow", "Action": "logs:Get*", "Resource": "*"}]))
    iam.attach_role_policy(RoleName="plumb-app", PolicyArn=boundary)
    iam.update_account_password_policy(
        MinimumPasswordLength=14, RequireSymbols=True, RequireNumbers=True,
        RequireUppercaseCharacters=True, RequireLowercaseCharacters=True,
        AllowUsersToChangePassword=True, MaxPasswordAge=90, PasswordReusePrevention=24)
    out["iam"] = {"policy": boundary, "keys": {"alice": [alice_key], "bob": bob_keys},
                  "mfa": [mfa_serial, spare["VirtualMFADevice"]["SerialNumber"]]}


def build_trails(out, kms_arn):
    eu = _client("cloudtrail", EU)
    eu.create_trail(Name="plumb-main", S3BucketName="plumb-sec-logs", S3KeyPrefix="trail",
                    IsMultiRegionTrail=True, EnableLogFileValidation=True, KmsKeyId=kms_arn,
                    CloudWatchLogsLogGroupArn="arn:aws:logs:%s:%s:log-group:/plumb/trail:*"
                    % (EU, ACCOUNT),
                    CloudWatchLogsRoleArn="arn:aws:iam::%s:role/plumb-trail" % ACCOUNT,
                    TagsList=_tags({"team": "security"}))
    eu.start_logging(Name="plumb-main")
    eu.put_event_selectors(TrailName="plumb-main", EventSelectors=[
        {"ReadWriteType": "All", "IncludeManagementEvents": True,
         "DataResources": [{"Type": "AWS::S3::Object",
                            "Values": ["arn:aws:s3:::plumb-sec-data/"]}]}])
    eu.put_insight_selectors(TrailName="plumb-main",
                             InsightSelectors=[{"InsightType": "ApiCallRateInsight"}])
    us = _client("cloudtrail", HOME)
    us.create_trail(Name="plumb-local", S3BucketName="plumb-sec-access-logs")
    us.put_event_selectors(TrailName="plumb-local", AdvancedEventSelectors=[
        {"Name": "management",
         "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}]}])
    out["trails"] = {"plumb-main": EU, "plumb-local": HOME}


def build_config(out):
    cfg = _client("config", EU)
    cfg.put_configuration_recorder(ConfigurationRecorder={
        "name": "default", "roleARN": "arn:aws:iam::%s:role/plumb-config" % ACCOUNT,
        "recordingGroup": {"allSupported": True, "includeGlobalResourceTypes": True}})
    cfg.put_delivery_channel(DeliveryChannel={
        "name": "default", "s3BucketName": "plumb-sec-logs", "s3KeyPrefix": "config",
        "configSnapshotDeliveryProperties": {"deliveryFrequency": "Six_Hours"}})
    cfg.start_configuration_recorder(ConfigurationRecorderName="default")
    out["config"] = {"recorder": "default", "region": EU}


def build_guardduty(out):
    gd = _client("guardduty", EU)
    det = gd.create_detector(Enable=True, FindingPublishingFrequency="FIFTEEN_MINUTES",
                             Tags={"team": "security"})["DetectorId"]
    out["guardduty"] = {EU: det}


def build_logs(out, kms_arn):
    eu = _client("logs", EU)
    eu.create_log_group(logGroupName="/plumb/trail", kmsKeyId=kms_arn,
                        tags={"team": "security"})
    eu.put_retention_policy(logGroupName="/plumb/trail", retentionInDays=400)
    eu.create_log_group(logGroupName="/plumb/app")
    us = _client("logs", HOME)
    us.create_log_group(logGroupName="/plumb/us")
    us.put_retention_policy(logGroupName="/plumb/us", retentionInDays=30)
    out["log_groups"] = {"/plumb/trail": EU, "/plumb/app": EU, "/plumb/us": HOME}


def build():
    out = {}
    kms_arn = build_kms(out)
    build_s3(out, kms_arn)
    build_iam(out)
    build_trails(out, kms_arn)
    build_config(out)
    build_guardduty(out)
    build_logs(out, kms_arn)
    return out


def change():
    _client("logs", EU).put_retention_policy(logGroupName="/plumb/app", retentionInDays=90)
    _client("s3", HOME).put_bucket_tagging(
        Bucket="plumb-sec-data", Tagging={"TagSet": _tags({"team": "data", "env": "staging"})})
    _client("iam", HOME).update_role(RoleName="plumb-app", Description="the application, v2")
    kms = _client("kms", EU)
    for k in kms.list_keys()["Keys"]:
        if kms.describe_key(KeyId=k["KeyId"])["KeyMetadata"].get("Description") == "plumb old":
            kms.enable_key_rotation(KeyId=k["KeyId"])
    _client("cloudtrail", EU).stop_logging(Name="plumb-main")
    _client("config", EU).stop_configuration_recorder(ConfigurationRecorderName="default")
    gd = _client("guardduty", EU)
    for det in gd.list_detectors()["DetectorIds"]:
        gd.update_detector(DetectorId=det, FindingPublishingFrequency="ONE_HOUR")
    return CHANGES


def delete():
    _client("logs", HOME).delete_log_group(logGroupName="/plumb/us")
    return {"deleted": {"aws_cloudwatch_log_group": "/plumb/us", "region": HOME}}


def restricted_user():
    iam = _client("iam", HOME)
    iam.create_user(UserName="plumb-sec-ro")
    iam.put_user_policy(UserName="plumb-sec-ro", PolicyName="plumb-sec-ro", PolicyDocument=_doc([
        {"Effect": "Allow", "Action": ALLOWED, "Resource": "*"},
        {"Effect": "Deny", "Action": DENIED, "Resource": "*"}]))
    key = iam.create_access_key(UserName="plumb-sec-ro")["AccessKey"]
    return {"AccessKeyId": key["AccessKeyId"], "SecretAccessKey": key["SecretAccessKey"],
            "denied": DENIED}


def main(argv):
    actions = {"seed": build, "change": change, "delete": delete,
               "restricted-user": restricted_user}
    if len(argv) != 2 or argv[1] not in actions:
        sys.stderr.write(__doc__)
        return 2
    json.dump(actions[argv[1]](), sys.stdout, sort_keys=True)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
