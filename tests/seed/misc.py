#!/usr/bin/env python3
"""Seed moto for tests/it-collect-misc.c: a small estate in the services of
the "misc" collector group (rds, backup, acm, account, athena, bedrock,
securityhub, events, appsync), plus a restricted IAM user.

Usage (boto3 is pointed at moto by tests/testutil.c's tu_moto_env):
    misc.py seed     create the estate, print a JSON object:
                     {"restricted": {"key", "secret"}, "denied": [actions],
                      "plan_id": ..., "certificates": [arns], "api_id": ...}
    misc.py change   change one attribute (the "nightly" rule is disabled)
    misc.py delete   delete one resource (the "analytics" work group)

Runs with moto's authentication off; the test turns it on afterwards.
"""
import datetime
import json
import os
import sys

import boto3

REGION = os.environ.get("AWS_REGION", "eu-central-1")
ACCOUNT = "123456789012"

# What the restricted user may not do: exactly one type of each of the
# two collectors the test runs with it becomes UNKNOWN.
DENIED = ["rds:DescribeDBClusters", "events:ListTargetsByRule"]


def client(name, region=REGION):
    return boto3.client(name, region_name=region)


def restricted_user():
    iam = client("iam")
    iam.create_user(UserName="plumb-restricted")
    doc = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": ["rds:Describe*", "events:List*", "sts:GetCallerIdentity"],
             "Resource": "*"},
            {"Effect": "Deny", "Action": DENIED, "Resource": "*"},
        ],
    }
    iam.put_user_policy(UserName="plumb-restricted", PolicyName="read",
                        PolicyDocument=json.dumps(doc))
    key = iam.create_access_key(UserName="plumb-restricted")["AccessKey"]
    return {"key": key["AccessKeyId"], "secret": key["SecretAccessKey"]}


def self_signed(name):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(7)
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=365))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .sign(key, hashes.SHA256()))
    return (cert.public_bytes(serialization.Encoding.PEM),
            key.private_bytes(serialization.Encoding.PEM,
                              serialization.PrivateFormat.TraditionalOpenSSL,
                              serialization.NoEncryption()))


def seed():
    out = {"restricted": restricted_user(), "denied": DENIED}

    rds = client("rds")
    rds.create_db_instance(
        DBInstanceIdentifier="app-db", Engine="postgres", DBInstanceClass="db.t3.micro",
        AllocatedStorage=20, MasterUsername="admin", MasterUserPassword="secret123",
        StorageEncrypted=True, BackupRetentionPeriod=7, Tags=[{"Key": "team", "Value": "data"}])
    rds.create_db_instance(
        DBInstanceIdentifier="legacy", Engine="mysql", DBInstanceClass="db.t3.micro",
        AllocatedStorage=10, MasterUsername="root", MasterUserPassword="secret123",
        BackupRetentionPeriod=0)
    rds.create_db_cluster(
        DBClusterIdentifier="orders", Engine="aurora-postgresql", MasterUsername="admin",
        MasterUserPassword="secret123", StorageEncrypted=True)

    backup = client("backup")
    backup.create_backup_vault(BackupVaultName="main",
                               EncryptionKeyArn=f"arn:aws:kms:{REGION}:{ACCOUNT}:key/4444")
    out["plan_id"] = backup.create_backup_plan(BackupPlan={
        "BackupPlanName": "daily",
        "Rules": [{"RuleName": "daily-35d", "TargetBackupVaultName": "main",
                   "ScheduleExpression": "cron(0 5 ? * * *)",
                   "Lifecycle": {"DeleteAfterDays": 35}}],
    })["BackupPlanId"]
    backup.create_report_plan(
        ReportPlanName="jobs",
        ReportDeliveryChannel={"S3BucketName": "reports", "Formats": ["CSV"]},
        ReportSetting={"ReportTemplate": "BACKUP_JOB_REPORT"})

    acm = client("acm")
    issued = acm.request_certificate(
        DomainName="example.com", ValidationMethod="DNS",
        Options={"CertificateTransparencyLoggingPreference": "DISABLED", "Export": "DISABLED"},
    )["CertificateArn"]
    pem, key = self_signed("legacy.example.com")
    imported = acm.import_certificate(Certificate=pem, PrivateKey=key)["CertificateArn"]
    out["certificates"] = [issued, imported]

    client("account", "us-east-1").put_alternate_contact(
        AlternateContactType="SECURITY", Name="Security Team", Title="CISO",
        EmailAddress="security@example.com", PhoneNumber="+49 30 1234567")

    client("athena").create_work_group(
        Name="analytics",
        Configuration={"ResultConfiguration": {
            "OutputLocation": "s3://athena-results/",
            "EncryptionConfiguration": {"EncryptionOption": "SSE_S3"}},
            "EnforceWorkGroupConfiguration": True,
            "PublishCloudWatchMetricsEnabled": True})

    client("bedrock").put_model_invocation_logging_configuration(loggingConfig={
        "s3Config": {"bucketName": "bedrock-logs", "keyPrefix": "invocations/"},
        "textDataDeliveryEnabled": True})

    client("securityhub").enable_security_hub(EnableDefaultStandards=False)

    events = client("events")
    events.put_rule(Name="guardduty-findings",
                    EventPattern=json.dumps({"source": ["aws.guardduty"]}), State="ENABLED")
    events.put_targets(Rule="guardduty-findings", Targets=[
        {"Id": "oncall", "Arn": f"arn:aws:sns:{REGION}:{ACCOUNT}:oncall"}])
    events.put_rule(Name="nightly", ScheduleExpression="rate(1 day)", State="ENABLED")
    events.create_event_bus(Name="orders")
    events.put_rule(Name="created", EventBusName="orders",
                    EventPattern=json.dumps({"source": ["shop.orders"]}))
    events.put_targets(Rule="created", EventBusName="orders", Targets=[
        {"Id": "queue", "Arn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:orders"}])

    out["api_id"] = client("appsync").create_graphql_api(
        name="orders-api", authenticationType="API_KEY",
        logConfig={"fieldLogLevel": "ERROR",
                   "cloudWatchLogsRoleArn": f"arn:aws:iam::{ACCOUNT}:role/appsync-logs"},
    )["graphqlApi"]["apiId"]
    print(json.dumps(out))


def change():
    client("events").disable_rule(Name="nightly")


def delete():
    client("athena").delete_work_group(WorkGroup="analytics")


if __name__ == "__main__":
    {"seed": seed, "change": change, "delete": delete}[sys.argv[1] if len(sys.argv) > 1 else "seed"]()
