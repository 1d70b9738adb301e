#!/usr/bin/env python3
"""Record the parsed outputs the collector unit tests of the "misc" group
(rds, backup, acm, account, athena, bedrock, securityhub, events, appsync)
serve through their fake transport.

Each output is what boto3 parses from moto (in-process, moto.mock_aws),
dumped as JSON with ResponseMetadata removed and every datetime as an ISO
8601 UTC string ("2015-01-25T08:00:00Z", ".mmm" only when the milliseconds
are not zero): the representation lib/awsmodel.h produces.

Files named *-full.json are a recorded output with the members moto does
not return filled in from the botocore output shape (the patches are
written out below, so the provenance stays visible); the collector tests
build documents from them for the type-table consistency check.  Services
moto lacks (accessanalyzer, ssm-incidents, securityhub GetEnabledStandards,
backup ListRecoveryPointsByBackupVault) have hand-written files, see
README.md.

Run from the source tree with the pyenv python:
    python3 tests/data/responses/record-misc.py
Ids and timestamps differ between runs; the tests read them from the files
and never repeat them.
"""

import copy
import datetime
import json
import os
import sys

import boto3
from moto import mock_aws

HERE = os.path.dirname(os.path.abspath(__file__))
REGION = "eu-central-1"
ACCOUNT = "123456789012"


def ts(value):
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=datetime.timezone.utc)
        value = value.astimezone(datetime.timezone.utc)
        ms = value.microsecond // 1000
        text = value.strftime("%Y-%m-%dT%H:%M:%S")
        return text + (".%03dZ" % ms if ms else "Z")
    raise TypeError(repr(value))


def clean(output):
    output = dict(output)
    output.pop("ResponseMetadata", None)
    return json.loads(json.dumps(output, default=ts))


def write(rel, output):
    path = os.path.join(HERE, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(output, f, indent=1, sort_keys=True)
        f.write("\n")
    print("wrote", rel, file=sys.stderr)


def self_signed(bits, name):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(1000)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=365))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    pem = cert.public_bytes(serialization.Encoding.PEM)
    pk = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    return pem, pk


def rds():
    with mock_aws():
        ec2 = boto3.client("ec2", region_name=REGION)
        c = boto3.client("rds", region_name=REGION)
        subnets = [s["SubnetId"] for s in ec2.describe_subnets()["Subnets"]]
        c.create_db_subnet_group(
            DBSubnetGroupName="dbsub", DBSubnetGroupDescription="db", SubnetIds=subnets[:2]
        )
        c.create_db_instance(
            DBInstanceIdentifier="app-db", DBName="app", Engine="postgres",
            DBInstanceClass="db.t3.micro", AllocatedStorage=20, MaxAllocatedStorage=100,
            MasterUsername="admin", MasterUserPassword="secret123", StorageEncrypted=True,
            KmsKeyId=f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1111", BackupRetentionPeriod=7,
            DBSubnetGroupName="dbsub", StorageType="io1", Iops=1000,
            EnableCloudwatchLogsExports=["postgresql"], DeletionProtection=True,
            Tags=[{"Key": "team", "Value": "data"}],
        )
        c.create_db_instance_read_replica(
            DBInstanceIdentifier="app-db-replica", SourceDBInstanceIdentifier="app-db",
            DBInstanceClass="db.t3.micro",
        )
        c.create_db_instance(
            DBInstanceIdentifier="legacy", Engine="mysql", DBInstanceClass="db.t3.micro",
            AllocatedStorage=10, MasterUsername="root", MasterUserPassword="secret123",
            BackupRetentionPeriod=0,
        )
        c.create_db_cluster(
            DBClusterIdentifier="orders", Engine="aurora-postgresql", DatabaseName="orders",
            MasterUsername="admin", MasterUserPassword="secret123", StorageEncrypted=True,
            KmsKeyId=f"arn:aws:kms:{REGION}:{ACCOUNT}:key/2222", DBSubnetGroupName="dbsub",
            EnableCloudwatchLogsExports=["postgresql"], Tags=[{"Key": "team", "Value": "orders"}],
        )
        c.create_db_instance(
            DBInstanceIdentifier="orders-1", DBClusterIdentifier="orders",
            Engine="aurora-postgresql", DBInstanceClass="db.r6g.large",
        )
        instances = clean(c.describe_db_instances(MaxRecords=100))
        clusters = clean(c.describe_db_clusters(MaxRecords=100))
    first = {"DBInstances": instances["DBInstances"][:2], "Marker": "page-2"}
    second = {"DBInstances": instances["DBInstances"][2:]}
    write("rds/describe-db-instances-1.json", first)
    write("rds/describe-db-instances-2.json", second)
    write("rds/describe-db-clusters.json", clusters)

    # Members moto does not return, from the DBInstance / DBCluster shapes.
    full = copy.deepcopy(instances["DBInstances"][1])  # the read replica
    full.update({
        "MonitoringInterval": 60,
        "MonitoringRoleArn": f"arn:aws:iam::{ACCOUNT}:role/rds-monitoring",
        "PerformanceInsightsEnabled": True,
        "PerformanceInsightsKMSKeyId": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/3333",
        "PerformanceInsightsRetentionPeriod": 7,
        "StorageThroughput": 125,
        "NetworkType": "IPV4",
        "MultiAZ": True,
        "PubliclyAccessible": False,
        "IAMDatabaseAuthenticationEnabled": True,
    })
    write("rds/describe-db-instances-full.json", {"DBInstances": [full]})
    full = copy.deepcopy(clusters["DBClusters"][0])
    full.update({
        "Iops": 3000,
        "VpcSecurityGroups": [{"VpcSecurityGroupId": "sg-0123456789abcdef0", "Status": "active"}],
        "StorageType": "aurora-iopt1",
    })
    write("rds/describe-db-clusters-full.json", {"DBClusters": [full]})


def backup():
    with mock_aws():
        c = boto3.client("backup", region_name=REGION)
        c.create_backup_vault(
            BackupVaultName="main", EncryptionKeyArn=f"arn:aws:kms:{REGION}:{ACCOUNT}:key/4444"
        )
        c.create_backup_vault(BackupVaultName="Default")
        plan = c.create_backup_plan(BackupPlan={
            "BackupPlanName": "daily",
            "Rules": [{
                "RuleName": "daily-35d", "TargetBackupVaultName": "main",
                "ScheduleExpression": "cron(0 5 ? * * *)", "StartWindowMinutes": 60,
                "CompletionWindowMinutes": 180, "Lifecycle": {"DeleteAfterDays": 35},
                "RecoveryPointTags": {"plan": "daily"},
                "CopyActions": [{
                    "DestinationBackupVaultArn":
                        f"arn:aws:backup:eu-west-1:{ACCOUNT}:backup-vault:dr",
                    "Lifecycle": {"DeleteAfterDays": 90},
                }],
            }],
            "AdvancedBackupSettings": [
                {"ResourceType": "EC2", "BackupOptions": {"WindowsVSS": "enabled"}}
            ],
        })
        c.create_backup_plan(BackupPlan={
            "BackupPlanName": "weekly",
            "Rules": [{"RuleName": "weekly", "TargetBackupVaultName": "main",
                       "ScheduleExpression": "cron(0 5 ? * 1 *)",
                       "Lifecycle": {"DeleteAfterDays": 7}}],
        })
        c.create_report_plan(
            ReportPlanName="jobs", ReportPlanDescription="backup jobs",
            ReportDeliveryChannel={"S3BucketName": "reports", "S3KeyPrefix": "backup",
                                   "Formats": ["CSV", "JSON"]},
            ReportSetting={"ReportTemplate": "BACKUP_JOB_REPORT"},
        )
        c.create_report_plan(
            ReportPlanName="compliance",
            ReportDeliveryChannel={"S3BucketName": "reports", "Formats": ["CSV"]},
            ReportSetting={"ReportTemplate": "RESOURCE_COMPLIANCE_REPORT",
                           "FrameworkArns": [f"arn:aws:backup:{REGION}:{ACCOUNT}:framework:f1"]},
        )
        plans = clean(c.list_backup_plans(MaxResults=1000))
        daily = clean(c.get_backup_plan(BackupPlanId=plan["BackupPlanId"]))
        weekly_id = [p["BackupPlanId"] for p in plans["BackupPlansList"]
                     if p["BackupPlanName"] == "weekly"][0]
        weekly = clean(c.get_backup_plan(BackupPlanId=weekly_id))
        vaults = clean(c.list_backup_vaults(MaxResults=1000))
        reports = clean(c.list_report_plans(MaxResults=1000))
    write("backup/list-backup-plans.json", plans)
    write("backup/get-backup-plan-daily.json", daily)
    write("backup/get-backup-plan-weekly.json", weekly)
    # moto counts no recovery points and lacks the vault type members; the
    # "main" vault is given two (listed in the hand-written
    # list-recovery-points-main.json) and the members AWS returns.
    for v in vaults["BackupVaultList"]:
        v["VaultType"] = "BACKUP_VAULT"
        if v["BackupVaultName"] == "main":
            v["NumberOfRecoveryPoints"] = 2
            v["EncryptionKeyType"] = "CUSTOMER_MANAGED_KMS_KEY"
    write("backup/list-backup-vaults.json", vaults)
    first = {"ReportPlans": reports["ReportPlans"][:1], "NextToken": "report-page-2"}
    second = {"ReportPlans": reports["ReportPlans"][1:]}
    write("backup/list-report-plans-1.json", first)
    write("backup/list-report-plans-2.json", second)

    full = copy.deepcopy(daily)
    rule = full["BackupPlan"]["Rules"][0]
    rule["Lifecycle"].update({"MoveToColdStorageAfterDays": 7,
                              "OptInToArchiveForSupportedResources": False})
    rule["CopyActions"][0]["Lifecycle"].update({"MoveToColdStorageAfterDays": 30,
                                                "OptInToArchiveForSupportedResources": False})
    rule["EnableContinuousBackup"] = False
    write("backup/get-backup-plan-full.json", full)
    full = copy.deepcopy(reports["ReportPlans"][1])
    full.update({"ReportPlanDescription": "compliance of every resource"})
    full["ReportDeliveryChannel"]["S3KeyPrefix"] = "compliance"
    full["ReportSetting"].update({
        "NumberOfFrameworks": 1, "Accounts": [ACCOUNT], "OrganizationUnits": ["ou-ab12-cd34ef56"],
        "Regions": [REGION],
    })
    write("backup/list-report-plans-full.json", {"ReportPlans": [full]})


ALL_KEY_TYPES = ["RSA_1024", "RSA_2048", "RSA_3072", "RSA_4096", "EC_prime256v1",
                 "EC_secp384r1", "EC_secp521r1"]


def acm():
    with mock_aws():
        c = boto3.client("acm", region_name=REGION)
        issued = c.request_certificate(
            DomainName="example.com", SubjectAlternativeNames=["www.example.com"],
            ValidationMethod="DNS",
            Options={"CertificateTransparencyLoggingPreference": "DISABLED", "Export": "DISABLED"},
        )["CertificateArn"]
        pem, key = self_signed(1024, "legacy.example.com")
        imported = c.import_certificate(Certificate=pem, PrivateKey=key)["CertificateArn"]
        listed = clean(c.list_certificates(MaxItems=1000, Includes={"keyTypes": ALL_KEY_TYPES}))
        d_issued = clean(c.describe_certificate(CertificateArn=issued))
        d_imported = clean(c.describe_certificate(CertificateArn=imported))
    write("acm/list-certificates.json", listed)
    write("acm/describe-certificate-issued.json", d_issued)
    write("acm/describe-certificate-imported.json", d_imported)

    # AWS spells the algorithm with a hyphen in DescribeCertificate; moto
    # does not.  The full document has every member of CertificateDetail
    # the type table reads.
    full = copy.deepcopy(d_issued)
    cert = full["Certificate"]
    cert.update({
        "KeyAlgorithm": "EC-prime256v1",
        "CertificateAuthorityArn":
            f"arn:aws:acm-pca:{REGION}:{ACCOUNT}:certificate-authority/5555",
        "ManagedBy": "CLOUDFRONT",
        "InUseBy": [f"arn:aws:cloudfront::{ACCOUNT}:distribution/E1"],
        "RenewalEligibility": "ELIGIBLE",
        "RenewalSummary": {"RenewalStatus": "PENDING_AUTO_RENEWAL",
                           "RenewalStatusReason": "DOMAIN_VALIDATION_DENIED",
                           "DomainValidationOptions": cert["DomainValidationOptions"],
                           "UpdatedAt": "2025-06-01T10:00:00Z"},
    })
    cert["DomainValidationOptions"][0]["ValidationEmails"] = ["admin@example.com"]
    write("acm/describe-certificate-full.json", full)
    summary = copy.deepcopy([s for s in listed["CertificateSummaryList"]
                             if s["CertificateArn"] == issued][0])
    summary.update({"InUse": True, "ManagedBy": "CLOUDFRONT", "KeyAlgorithm": "EC_prime256v1",
                    "RenewalEligibility": "ELIGIBLE"})
    write("acm/list-certificates-full.json", {"CertificateSummaryList": [summary]})


def account():
    with mock_aws():
        c = boto3.client("account", region_name="us-east-1")
        c.put_alternate_contact(AlternateContactType="SECURITY", Name="Security Team",
                                Title="CISO", EmailAddress="security@example.com",
                                PhoneNumber="+49 30 1234567")
        c.put_alternate_contact(AlternateContactType="BILLING", Name="Finance",
                                Title="CFO", EmailAddress="billing@example.com",
                                PhoneNumber="+49 30 7654321")
        sec = clean(c.get_alternate_contact(AlternateContactType="SECURITY"))
        bill = clean(c.get_alternate_contact(AlternateContactType="BILLING"))
    write("account/get-alternate-contact-security.json", sec)
    write("account/get-alternate-contact-billing.json", bill)


def athena():
    with mock_aws():
        c = boto3.client("athena", region_name=REGION)
        c.create_work_group(
            Name="analytics", Description="analysts",
            Configuration={
                "ResultConfiguration": {
                    "OutputLocation": "s3://athena-results/analytics/",
                    "EncryptionConfiguration": {
                        "EncryptionOption": "SSE_KMS",
                        "KmsKey": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/6666"}},
                "EnforceWorkGroupConfiguration": True,
                "PublishCloudWatchMetricsEnabled": True,
                "BytesScannedCutoffPerQuery": 10000000,
                "RequesterPaysEnabled": False,
                "EngineVersion": {"SelectedEngineVersion": "Athena engine version 3"},
            },
        )
        listed = clean(c.list_work_groups(MaxResults=50))
        primary = clean(c.get_work_group(WorkGroup="primary"))
        analytics = clean(c.get_work_group(WorkGroup="analytics"))
    first = {"WorkGroups": listed["WorkGroups"][:1], "NextToken": "wg-page-2"}
    second = {"WorkGroups": listed["WorkGroups"][1:]}
    write("athena/list-work-groups-1.json", first)
    write("athena/list-work-groups-2.json", second)
    write("athena/get-work-group-primary.json", primary)
    write("athena/get-work-group-analytics.json", analytics)
    full = copy.deepcopy(analytics)
    conf = full["WorkGroup"]["Configuration"]
    conf["ExecutionRole"] = f"arn:aws:iam::{ACCOUNT}:role/athena-spark"
    conf["EngineVersion"]["EffectiveEngineVersion"] = "Athena engine version 3"
    conf["ResultConfiguration"].update({
        "ExpectedBucketOwner": ACCOUNT,
        "AclConfiguration": {"S3AclOption": "BUCKET_OWNER_FULL_CONTROL"},
    })
    write("athena/get-work-group-full.json", full)


def bedrock():
    with mock_aws():
        c = boto3.client("bedrock", region_name=REGION)
        off = clean(c.get_model_invocation_logging_configuration())
        c.put_model_invocation_logging_configuration(loggingConfig={
            "cloudWatchConfig": {
                "logGroupName": "/bedrock/invocations",
                "roleArn": f"arn:aws:iam::{ACCOUNT}:role/bedrock-logging",
                "largeDataDeliveryS3Config": {"bucketName": "bedrock-large", "keyPrefix": "big/"}},
            "s3Config": {"bucketName": "bedrock-logs", "keyPrefix": "invocations/"},
            "textDataDeliveryEnabled": True, "imageDataDeliveryEnabled": False,
            "embeddingDataDeliveryEnabled": True, "videoDataDeliveryEnabled": False,
        })
        on = clean(c.get_model_invocation_logging_configuration())
    write("bedrock/get-logging-configuration-moto-off.json", off)
    write("bedrock/get-logging-configuration.json", on)


def securityhub():
    with mock_aws():
        c = boto3.client("securityhub", region_name=REGION)
        c.enable_security_hub(EnableDefaultStandards=False)
        hub = clean(c.describe_hub())
    write("securityhub/describe-hub.json", hub)


def events():
    with mock_aws():
        c = boto3.client("events", region_name=REGION)
        c.create_event_bus(Name="orders")
        c.put_rule(Name="guardduty-findings", Description="route GuardDuty findings",
                   EventPattern=json.dumps({"source": ["aws.guardduty"],
                                            "detail-type": ["GuardDuty Finding"]}),
                   State="ENABLED")
        c.put_targets(Rule="guardduty-findings", Targets=[{
            "Id": "oncall", "Arn": f"arn:aws:sns:{REGION}:{ACCOUNT}:oncall",
            "InputTransformer": {"InputPathsMap": {"severity": "$.detail.severity"},
                                 "InputTemplate": "\"severity <severity>\""},
            "RetryPolicy": {"MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": 3600},
            "DeadLetterConfig": {"Arn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:events-dlq"},
        }, {
            "Id": "archive", "Arn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:findings",
        }])
        c.put_rule(Name="nightly", ScheduleExpression="rate(1 day)", State="DISABLED",
                   RoleArn=f"arn:aws:iam::{ACCOUNT}:role/events-invoke")
        c.put_rule(Name="created", EventBusName="orders",
                   EventPattern=json.dumps({"source": ["shop.orders"]}))
        c.put_targets(Rule="created", EventBusName="orders", Targets=[{
            "Id": "queue", "Arn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:orders",
            "Input": "{\"kind\":\"order\"}",
        }])
        buses = clean(c.list_event_buses(Limit=100))
        default_rules = clean(c.list_rules(EventBusName="default", Limit=100))
        order_rules = clean(c.list_rules(EventBusName="orders", Limit=100))
        gd = clean(c.list_targets_by_rule(Rule="guardduty-findings", EventBusName="default",
                                          Limit=100))
        nightly = clean(c.list_targets_by_rule(Rule="nightly", EventBusName="default", Limit=100))
        created = clean(c.list_targets_by_rule(Rule="created", EventBusName="orders", Limit=100))
    write("events/list-event-buses.json", buses)
    write("events/list-rules-default.json", default_rules)
    write("events/list-rules-orders.json", order_rules)
    write("events/list-targets-guardduty-findings.json", gd)
    write("events/list-targets-nightly.json", nightly)
    write("events/list-targets-created.json", created)
    # Every member of Rule and Target the type table reads (Input, InputPath
    # and InputTransformer exclude each other in AWS; the shape allows all).
    rule = copy.deepcopy(default_rules["Rules"][0])
    rule.update({"ManagedBy": "guardduty.amazonaws.com",
                 "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/events-invoke",
                 "ScheduleExpression": "rate(1 hour)"})
    write("events/list-rules-full.json", {"Rules": [rule]})
    target = copy.deepcopy(gd["Targets"][0])
    target.update({"Input": "{\"a\":1}", "InputPath": "$.detail",
                   "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/events-target"})
    write("events/list-targets-full.json", {"Targets": [target]})


def appsync():
    with mock_aws():
        c = boto3.client("appsync", region_name=REGION)
        c.create_graphql_api(
            name="orders-api", authenticationType="API_KEY",
            logConfig={"fieldLogLevel": "ERROR", "excludeVerboseContent": True,
                       "cloudWatchLogsRoleArn": f"arn:aws:iam::{ACCOUNT}:role/appsync-logs"},
            xrayEnabled=True, tags={"team": "orders"},
        )
        c.create_graphql_api(name="internal-api", authenticationType="AWS_IAM")
        listed = clean(c.list_graphql_apis(maxResults=25))
    write("appsync/list-graphql-apis.json", listed)
    full = copy.deepcopy([a for a in listed["graphqlApis"] if a["name"] == "orders-api"][0])
    full.update({"apiType": "GRAPHQL", "introspectionConfig": "DISABLED",
                 "queryDepthLimit": 10, "resolverCountLimit": 100, "visibility": "PRIVATE"})
    write("appsync/list-graphql-apis-full.json", {"graphqlApis": [full]})


if __name__ == "__main__":
    for step in (rds, backup, acm, account, athena, bedrock, securityhub, events, appsync):
        step()
