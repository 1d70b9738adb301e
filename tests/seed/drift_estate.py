#!/usr/bin/env python3
"""Seed moto with a small estate, write the Terraform state that declares
it, and later drift it in known ways (for the drift integration test).

    drift_estate.py seed STATE_DIR      create the estate; write
                                        STATE_DIR/main.tfstate (format 4,
                                        AWS provider v5 attribute names,
                                        provider default_tags in tags_all)
    drift_estate.py drift STATE_DIR     change the live estate; print the
                                        drift plumb must find, as JSON

Uses boto3 against AWS_ENDPOINT_URL (tests/testutil.h: tu_moto_seed()).
Everything the state says is read back from moto after creation, the way
`terraform apply` + refresh would record it, so the state matches the
estate exactly before `drift` runs.

The expected drift (stdout of `drift`) is a list of objects
{category, type, id, paths} where paths lists the attribute paths of a
"changed" item (in plumb's notation) and is empty otherwise.  Live
resources the state does not declare at all are listed as "unmanaged".
"""

import json
import os
import sys
import uuid

import boto3

REGION = os.environ.get("AWS_REGION", "eu-central-1")
DEFAULT_TAGS = {"ManagedBy": "terraform"}
PROVIDER = 'provider["registry.terraform.io/hashicorp/aws"]'
NAMES = {
    "bucket": "plumb-drift-logs",
    "bucket_split": "plumb-drift-data",
    "role": "plumb-drift-app",
    "group": "plumb-drift-web",
    "log_group": "/plumb/drift/app",
    "log_group_gone": "/plumb/drift/old",
}
# A customer-managed policy (moto loads AWS-managed ones only on request).
MANAGED_POLICY = "plumb-drift-read"
INLINE_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject"],
                   "Resource": "arn:aws:s3:::plumb-drift-logs/*"}],
}
ASSUME = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
                   "Action": "sts:AssumeRole"}],
}


def clients():
    kw = {"region_name": REGION}
    return {n: boto3.client(n, **kw) for n in ("s3", "kms", "ec2", "iam", "logs", "sts")}


def tag_list(tags):
    return [{"Key": k, "Value": v} for k, v in sorted(tags.items())]


def all_tags(tags):
    t = dict(DEFAULT_TAGS)
    t.update(tags)
    return t


def instance(rtype, name, attrs, deps=()):
    return {"mode": "managed", "type": rtype, "name": name, "provider": PROVIDER,
            "instances": [{"schema_version": 0, "attributes": attrs,
                           "sensitive_attributes": [], "dependencies": list(deps)}]}


def state(resources, lineage):
    return {"version": 4, "terraform_version": "1.5.7", "serial": 1, "lineage": lineage,
            "outputs": {}, "resources": resources, "check_results": None}


# ---- seeding -------------------------------------------------------------------------


def seed(state_dir):
    c = clients()
    account = c["sts"].get_caller_identity()["Account"]
    out = {"account": account, "region": REGION}
    loc = {"LocationConstraint": REGION}

    # A v3-style bucket (inline blocks) and a v4-style one (split resources).
    b = NAMES["bucket"]
    c["s3"].create_bucket(Bucket=b, CreateBucketConfiguration=loc)
    c["s3"].put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Enabled"})
    c["s3"].put_bucket_tagging(Bucket=b, Tagging={"TagSet": tag_list(all_tags({"Team": "ops"}))})
    s = NAMES["bucket_split"]
    c["s3"].create_bucket(Bucket=s, CreateBucketConfiguration=loc)
    c["s3"].put_bucket_versioning(Bucket=s, VersioningConfiguration={"Status": "Enabled"})
    c["s3"].put_bucket_encryption(Bucket=s, ServerSideEncryptionConfiguration={"Rules": [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"},
         "BucketKeyEnabled": False}]})
    c["s3"].put_public_access_block(Bucket=s, PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True})
    c["s3"].put_bucket_tagging(Bucket=s, Tagging={"TagSet": tag_list(all_tags({}))})

    # A customer-managed KMS key with rotation.
    key = c["kms"].create_key(Description="plumb drift test key",
                              Tags=[{"TagKey": k, "TagValue": v}
                                    for k, v in all_tags({}).items()])["KeyMetadata"]
    c["kms"].enable_key_rotation(KeyId=key["KeyId"])
    out["key_id"] = key["KeyId"]

    # A security group with one inline rule and one declared separately.
    vpc = c["ec2"].create_vpc(CidrBlock="10.42.0.0/16")["Vpc"]["VpcId"]
    c["ec2"].create_tags(Resources=[vpc], Tags=tag_list(all_tags({})))
    sg = c["ec2"].create_security_group(GroupName=NAMES["group"], Description="web",
                                        VpcId=vpc)["GroupId"]
    c["ec2"].authorize_security_group_ingress(GroupId=sg, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
         "IpRanges": [{"CidrIp": "0.0.0.0/0", "Description": "https"}]}])
    c["ec2"].create_tags(Resources=[sg], Tags=tag_list(all_tags({})))
    out["vpc_id"], out["group_id"] = vpc, sg

    # A role with an inline policy (aws_iam_role_policy) and an attachment.
    role = c["iam"].create_role(RoleName=NAMES["role"], AssumeRolePolicyDocument=json.dumps(ASSUME),
                                Tags=tag_list(all_tags({})))["Role"]
    c["iam"].put_role_policy(RoleName=NAMES["role"], PolicyName="read-logs",
                             PolicyDocument=json.dumps(INLINE_POLICY))
    pol = c["iam"].create_policy(PolicyName=MANAGED_POLICY,
                                 PolicyDocument=json.dumps(INLINE_POLICY))["Policy"]
    c["iam"].attach_role_policy(RoleName=NAMES["role"], PolicyArn=pol["Arn"])
    out["role_arn"], out["policy_arn"] = role["Arn"], pol["Arn"]

    # Two log groups; one will be deleted.
    for lg in (NAMES["log_group"], NAMES["log_group_gone"]):
        c["logs"].create_log_group(logGroupName=lg, tags=all_tags({}))
        c["logs"].put_retention_policy(logGroupName=lg, retentionInDays=30)

    write_states(c, state_dir, account, out)
    print(json.dumps(out))


def bucket_attrs(c, name, account, inline):
    tags = {t["Key"]: t["Value"] for t in c["s3"].get_bucket_tagging(Bucket=name)["TagSet"]}
    a = {"id": name, "bucket": name, "arn": "arn:aws:s3:::" + name, "region": REGION,
         "bucket_domain_name": name + ".s3.amazonaws.com", "force_destroy": False,
         "tags": {k: v for k, v in tags.items() if k not in DEFAULT_TAGS}, "tags_all": tags,
         "object_lock_enabled": False, "policy": "", "lifecycle_rule": [], "logging": []}
    # Provider v4+ records the bucket ACL's grants on refresh, one entry per
    # grantee with its permissions.
    grants = {}
    for g in c["s3"].get_bucket_acl(Bucket=name)["Grants"]:
        who = g["Grantee"]
        key = (who.get("ID", ""), who["Type"], who.get("URI", ""))
        grants.setdefault(key, []).append(g["Permission"])
    a["grant"] = [{"id": k[0], "type": k[1], "uri": k[2], "permissions": sorted(v)}
                  for k, v in sorted(grants.items())]
    v = c["s3"].get_bucket_versioning(Bucket=name)
    a["versioning"] = [{"enabled": v.get("Status") == "Enabled",
                        "mfa_delete": v.get("MFADelete") == "Enabled"}]
    try:
        enc = c["s3"].get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]
        a["server_side_encryption_configuration"] = [{"rule": [{
            "apply_server_side_encryption_by_default": [{
                "sse_algorithm": r["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"],
                "kms_master_key_id": r["ApplyServerSideEncryptionByDefault"].get(
                    "KMSMasterKeyID", "")}],
            "bucket_key_enabled": r.get("BucketKeyEnabled", False)} for r in enc["Rules"]]}]
    except c["s3"].exceptions.ClientError:
        a["server_side_encryption_configuration"] = []
    # Provider v4+ keeps the inline blocks as computed mirrors of the split
    # resources, as a refresh records them; v3 declares them.  Both look
    # the same in state.
    return a


def write_states(c, state_dir, account, ids):
    res = []
    # Buckets.
    res.append(instance("aws_s3_bucket", "logs", bucket_attrs(c, NAMES["bucket"], account, True)))
    s = NAMES["bucket_split"]
    res.append(instance("aws_s3_bucket", "data", bucket_attrs(c, s, account, False)))
    res.append(instance("aws_s3_bucket_versioning", "data", {
        "id": s, "bucket": s, "expected_bucket_owner": "", "mfa": None,
        "versioning_configuration": [{"status": "Enabled", "mfa_delete": ""}]},
        ["aws_s3_bucket.data"]))
    res.append(instance("aws_s3_bucket_server_side_encryption_configuration", "data", {
        "id": s, "bucket": s, "expected_bucket_owner": "",
        "rule": [{"apply_server_side_encryption_by_default": [
            {"sse_algorithm": "AES256", "kms_master_key_id": ""}], "bucket_key_enabled": False}]},
        ["aws_s3_bucket.data"]))
    pab = c["s3"].get_public_access_block(Bucket=s)["PublicAccessBlockConfiguration"]
    res.append(instance("aws_s3_bucket_public_access_block", "data", {
        "id": s, "bucket": s, "block_public_acls": pab["BlockPublicAcls"],
        "block_public_policy": pab["BlockPublicPolicy"],
        "ignore_public_acls": pab["IgnorePublicAcls"],
        "restrict_public_buckets": pab["RestrictPublicBuckets"]}, ["aws_s3_bucket.data"]))

    # KMS.
    k = c["kms"].describe_key(KeyId=ids["key_id"])["KeyMetadata"]
    policy = c["kms"].get_key_policy(KeyId=k["KeyId"], PolicyName="default")["Policy"]
    rot = c["kms"].get_key_rotation_status(KeyId=k["KeyId"])["KeyRotationEnabled"]
    res.append(instance("aws_kms_key", "main", {
        "id": k["KeyId"], "key_id": k["KeyId"], "arn": k["Arn"], "description": k["Description"],
        "enable_key_rotation": rot, "is_enabled": k["Enabled"], "key_usage": k.get("KeyUsage", "ENCRYPT_DECRYPT"),
        "customer_master_key_spec": k.get("KeySpec", "SYMMETRIC_DEFAULT"),
        "multi_region": k.get("MultiRegion", False), "policy": policy,
        "deletion_window_in_days": 30, "bypass_policy_lockout_safety_check": False,
        "tags": {}, "tags_all": dict(DEFAULT_TAGS)}))

    # The VPC the group lives in.
    v = c["ec2"].describe_vpcs(VpcIds=[ids["vpc_id"]])["Vpcs"][0]
    res.append(instance("aws_vpc", "main", {
        "id": v["VpcId"], "arn": "arn:aws:ec2:%s:%s:vpc/%s" % (REGION, account, v["VpcId"]),
        "cidr_block": v["CidrBlock"], "instance_tenancy": v.get("InstanceTenancy", "default"),
        "enable_dns_support": True, "enable_dns_hostnames": False,
        "assign_generated_ipv6_cidr_block": False, "owner_id": v["OwnerId"],
        "dhcp_options_id": v.get("DhcpOptionsId", ""), "tags": {},
        "tags_all": dict(DEFAULT_TAGS)}))

    # The security group: its inline rule as Terraform flattens it.
    g = c["ec2"].describe_security_groups(GroupIds=[ids["group_id"]])["SecurityGroups"][0]
    inline = []
    for p in g["IpPermissions"]:
        for r in p.get("IpRanges", []):
            inline.append({"protocol": p["IpProtocol"], "from_port": p.get("FromPort", 0),
                           "to_port": p.get("ToPort", 0), "cidr_blocks": [r["CidrIp"]],
                           "ipv6_cidr_blocks": [], "prefix_list_ids": [], "security_groups": [],
                           "self": False, "description": r.get("Description", "")})
    egress = []
    for p in g["IpPermissionsEgress"]:
        for r in p.get("IpRanges", []):
            egress.append({"protocol": p["IpProtocol"], "from_port": p.get("FromPort", 0),
                           "to_port": p.get("ToPort", 0), "cidr_blocks": [r["CidrIp"]],
                           "ipv6_cidr_blocks": [], "prefix_list_ids": [], "security_groups": [],
                           "self": False, "description": r.get("Description", "")})
    res.append(instance("aws_security_group", "web", {
        "id": g["GroupId"], "arn": "arn:aws:ec2:%s:%s:security-group/%s" % (
            REGION, account, g["GroupId"]),
        "name": g["GroupName"], "description": g["Description"], "vpc_id": g["VpcId"],
        "owner_id": g["OwnerId"], "ingress": inline, "egress": egress,
        "revoke_rules_on_delete": False, "tags": {}, "tags_all": dict(DEFAULT_TAGS)}))

    # The customer-managed policy the role attaches.
    pol = c["iam"].get_policy(PolicyArn=ids["policy_arn"])["Policy"]
    doc = c["iam"].get_policy_version(PolicyArn=ids["policy_arn"],
                                      VersionId=pol["DefaultVersionId"])["PolicyVersion"]
    document = doc["Document"] if isinstance(doc["Document"], str) else json.dumps(doc["Document"])
    res.append(instance("aws_iam_policy", "read", {
        "id": pol["Arn"], "arn": pol["Arn"], "name": pol["PolicyName"], "path": pol["Path"],
        "policy_id": pol["PolicyId"], "description": pol.get("Description", ""),
        "policy": document, "tags": {}, "tags_all": {}}))

    # The role and its separately declared policy and attachment.
    role = c["iam"].get_role(RoleName=NAMES["role"])["Role"]
    res.append(instance("aws_iam_role", "app", {
        "id": role["RoleName"], "name": role["RoleName"], "arn": role["Arn"],
        "path": role["Path"], "unique_id": role["RoleId"], "description": "",
        "assume_role_policy": json.dumps(ASSUME), "max_session_duration": 3600,
        "force_detach_policies": False,
        "inline_policy": [{"name": "read-logs", "policy": json.dumps(INLINE_POLICY)}],
        "managed_policy_arns": [ids["policy_arn"]], "tags": {},
        "tags_all": dict(DEFAULT_TAGS)}))
    res.append(instance("aws_iam_role_policy", "read_logs", {
        "id": NAMES["role"] + ":read-logs", "role": NAMES["role"], "name": "read-logs",
        "policy": json.dumps(INLINE_POLICY)}, ["aws_iam_role.app"]))
    res.append(instance("aws_iam_role_policy_attachment", "ro", {
        "id": NAMES["role"] + "-20261122000000000000000001", "role": NAMES["role"],
        "policy_arn": ids["policy_arn"]}, ["aws_iam_role.app"]))

    # Log groups.
    for name, lg in (("app", NAMES["log_group"]), ("old", NAMES["log_group_gone"])):
        d = c["logs"].describe_log_groups(logGroupNamePrefix=lg)["logGroups"][0]
        res.append(instance("aws_cloudwatch_log_group", name, {
            "id": lg, "name": lg, "arn": d["arn"].removesuffix(":*"),
            "retention_in_days": d.get("retentionInDays", 0), "kms_key_id": "",
            "log_group_class": d.get("logGroupClass", "STANDARD"), "skip_destroy": False,
            "tags": {}, "tags_all": dict(DEFAULT_TAGS)}))

    os.makedirs(state_dir, exist_ok=True)
    with open(os.path.join(state_dir, "main.tfstate"), "w") as f:
        json.dump(state(res, str(uuid.uuid4())), f, indent=2)


# ---- drifting -------------------------------------------------------------------------


def drift(state_dir):
    c = clients()
    with open(os.path.join(state_dir, "main.tfstate")) as f:
        st = json.load(f)
    attrs = {r["type"] + "." + r["name"]: r["instances"][0]["attributes"] for r in st["resources"]}
    key_id = attrs["aws_kms_key.main"]["key_id"]
    sg = attrs["aws_security_group.web"]["id"]
    expected = []

    # changed: rotation off, a tag edited on the v3 bucket.
    c["kms"].disable_key_rotation(KeyId=key_id)
    expected.append({"category": "changed", "type": "aws_kms_key", "id": key_id,
                     "paths": ["enable_key_rotation"]})
    tags = all_tags({"Team": "platform"})
    c["s3"].put_bucket_tagging(Bucket=NAMES["bucket"], Tagging={"TagSet": tag_list(tags)})
    expected.append({"category": "changed", "type": "aws_s3_bucket", "id": NAMES["bucket"],
                     "paths": ["tags.Team"]})
    # changed: versioning suspended on the split bucket (its versioning resource).
    c["s3"].put_bucket_versioning(Bucket=NAMES["bucket_split"],
                                  VersioningConfiguration={"Status": "Suspended"})
    expected.append({"category": "changed", "type": "aws_s3_bucket_versioning",
                     "id": NAMES["bucket_split"], "paths": ["versioning_configuration[0].status"]})
    # changed: SSH opened to the world on the group (inline rules).
    c["ec2"].authorize_security_group_ingress(GroupId=sg, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    expected.append({"category": "changed", "type": "aws_security_group", "id": sg,
                     "paths": ["ingress"]})
    # changed: the declared inline policy now allows everything.
    wide = {"Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
    c["iam"].put_role_policy(RoleName=NAMES["role"], PolicyName="read-logs",
                             PolicyDocument=json.dumps(wide))
    expected.append({"category": "changed", "type": "aws_iam_role_policy",
                     "id": NAMES["role"] + ":read-logs", "paths": ["policy"]})
    # missing: a declared log group deleted.
    c["logs"].delete_log_group(logGroupName=NAMES["log_group_gone"])
    expected.append({"category": "missing", "type": "aws_cloudwatch_log_group",
                     "id": NAMES["log_group_gone"], "paths": []})
    # unmanaged: a bucket and an inline role policy made by hand.
    c["s3"].create_bucket(Bucket="plumb-drift-by-hand",
                          CreateBucketConfiguration={"LocationConstraint": REGION})
    expected.append({"category": "unmanaged", "type": "aws_s3_bucket",
                     "id": "plumb-drift-by-hand", "paths": []})
    c["iam"].put_role_policy(RoleName=NAMES["role"], PolicyName="by-hand",
                             PolicyDocument=json.dumps(INLINE_POLICY))
    expected.append({"category": "unmanaged", "type": "aws_iam_role_policy",
                     "id": NAMES["role"] + ":by-hand", "paths": []})
    print(json.dumps(expected, indent=2))


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("seed", "drift"):
        sys.stderr.write(__doc__)
        return 2
    (seed if sys.argv[1] == "seed" else drift)(sys.argv[2])
    return 0


if __name__ == "__main__":
    sys.exit(main())
