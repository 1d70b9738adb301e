#!/usr/bin/env python3
"""Record the responses the unit tests of the "net" collectors serve.

Seeds moto (in-process, moto.mock_aws) with tests/seed/net.py, then makes
exactly the calls the collectors make, with the same parameters, and writes
botocore's parsed output of each as JSON under
tests/data/responses/<service>/ with an index.json per service:

    [{"op": "DescribeInstances", "params": {"MaxResults": 1000},
      "pages": ["DescribeInstances.json"]}, ...]

The fake transport of the tests serves a request when its operation and
parameters equal an index entry, page by page ("service" in an entry: a
call to another service, e.g. EC2 DescribeImages by the Auto Scaling
collector).  Timestamps are written as
the AWS client represents them: ISO 8601 UTC, ".mmm" only when not zero
(moto's wall-clock values are replaced by deterministic ones; ids come from
moto's seeded generator, so re-recording gives the same files).
ResponseMetadata is dropped.

Where moto has no implementation (EC2 GetEbsDefaultKmsKeyId and
GetInstanceMetadataDefaults, AppStream) the responses are written from the
botocore output shapes and the AWS API reference examples; they are listed
in SOURCES.md and kept in net-hand-written/ (this script copies them into the
index).  Run from anywhere with the pyenv python3:

    python3 tests/data/responses/record-net.py
"""
import datetime
import json
import os
import re
import shutil
import sys

import boto3
from moto import mock_aws
from moto.moto_api._internal import mock_random

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "seed"))
import net  # noqa: E402

REGION = net.REGION


# moto stamps resources with the wall clock: every timestamp is replaced
# by a deterministic one (the k-th written becomes BASE + k seconds and a
# few milliseconds), so that recording twice gives the same files.
BASE = datetime.datetime(2024, 3, 4, 9, 0, 0, tzinfo=datetime.timezone.utc)
_stamps = [0]


def ts(value):
    k = _stamps[0]
    _stamps[0] += 1
    value = BASE + datetime.timedelta(seconds=k, milliseconds=(k * 137) % 1000)
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    ms = value.microsecond // 1000
    return text + (".%03dZ" % ms if ms else "Z")


ISO_TEXT = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z$")


def clean_text(value):
    """A timestamp the model types as a string (DescribeImages
    CreationDate) keeps its text form, with a deterministic value."""
    if not ISO_TEXT.match(value):
        return value
    parsed = datetime.datetime.strptime(value[:19], "%Y-%m-%dT%H:%M:%S").replace(
        tzinfo=datetime.timezone.utc)
    text = ts(parsed)
    if value.endswith(".000Z") and text.endswith("Z") and "." not in text:
        text = text[:-1] + ".000Z"
    return text


def clean(value):
    if isinstance(value, dict):
        return {k: clean(v) for k, v in value.items() if k != "ResponseMetadata"}
    if isinstance(value, list):
        return [clean(v) for v in value]
    if isinstance(value, datetime.datetime):
        return ts(value)
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, str):
        return clean_text(value)
    return value


class Recorder:
    def __init__(self, service):
        self.service = service
        self.dir = os.path.join(HERE, service)
        self.index = []
        self.names = {}
        if os.path.isdir(self.dir):
            shutil.rmtree(self.dir)
        os.makedirs(self.dir)

    def _name(self, op):
        n = self.names.get(op, 0) + 1
        self.names[op] = n
        return op if n == 1 else "%s-%d" % (op, n)

    def write_page(self, name, output, raw=False):
        with open(os.path.join(self.dir, name + ".json"), "w") as f:
            json.dump(output if raw else clean(output), f, indent=1, sort_keys=True)
            f.write("\n")
        return name + ".json"

    def add(self, op, params, outputs, service=None, raw=False):
        """Record one request and its pages (a list of parsed outputs);
        service names another service than the directory's; raw pages are
        written as they are (hand-written ones)."""
        base = self._name(op)
        pages = []
        for i, output in enumerate(outputs):
            pages.append(self.write_page(base if i == 0 else "%s.page%d" % (base, i + 1),
                                         output, raw))
        entry = {"op": op, "params": params, "pages": pages}
        if service:
            entry["service"] = service
        self.index.append(entry)

    def call(self, client, op, params, snake, service=None):
        out = getattr(client, snake)(**params)
        self.add(op, params, [out], service)
        return clean(out)

    def copy(self, op, params, hand_written):
        """A response written by hand (moto lacks the operation)."""
        with open(os.path.join(HERE, "net-hand-written", hand_written)) as f:
            output = json.load(f)
        self.add(op, params, [output], raw=True)
        return output

    def close(self):
        with open(os.path.join(self.dir, "index.json"), "w") as f:
            json.dump(self.index, f, indent=1, sort_keys=True)
            f.write("\n")


def record_ec2(session):
    ec2 = session.client("ec2", region_name=REGION)
    rec = Recorder("ec2")
    # One reservation per page: recorded with a small page size so that the
    # tests see a paginated listing.
    pager = ec2.get_paginator("describe_instances")
    pages = [clean(p) for p in pager.paginate(PaginationConfig={"PageSize": 1})]
    assert len(pages) > 1
    rec.add("DescribeInstances", {"MaxResults": 1000}, pages)
    inst = {"Reservations": [r for p in pages for r in p["Reservations"]]}
    rec.call(ec2, "DescribeVolumes", {"MaxResults": 500}, "describe_volumes")
    burstable = sorted(i["InstanceId"] for r in inst["Reservations"] for i in r["Instances"]
                       if i["InstanceType"].startswith("t"))
    rec.call(ec2, "DescribeInstanceCreditSpecifications", {"InstanceIds": burstable},
             "describe_instance_credit_specifications")
    rec.call(ec2, "DescribeSecurityGroups", {"MaxResults": 1000}, "describe_security_groups")
    rec.call(ec2, "DescribeSecurityGroupRules", {"MaxResults": 1000},
             "describe_security_group_rules")
    rec.call(ec2, "DescribeVpcs", {"MaxResults": 1000}, "describe_vpcs")
    rec.call(ec2, "DescribeSubnets", {"MaxResults": 1000}, "describe_subnets")
    rec.call(ec2, "DescribeNetworkAcls", {"MaxResults": 1000}, "describe_network_acls")
    rec.call(ec2, "DescribeRouteTables",
             {"Filters": [{"Name": "association.main", "Values": ["true"]}], "MaxResults": 100},
             "describe_route_tables")
    rec.call(ec2, "DescribeFlowLogs", {"MaxResults": 1000}, "describe_flow_logs")
    rec.call(ec2, "GetEbsEncryptionByDefault", {}, "get_ebs_encryption_by_default")
    rec.copy("GetEbsDefaultKmsKeyId", {}, "ec2-GetEbsDefaultKmsKeyId.json")
    rec.copy("GetInstanceMetadataDefaults", {}, "ec2-GetInstanceMetadataDefaults.json")
    rec.call(ec2, "DescribeLaunchTemplates", {"MaxResults": 200}, "describe_launch_templates")
    rec.call(ec2, "DescribeLaunchTemplateVersions",
             {"Versions": ["$Latest", "$Default"], "MaxResults": 200},
             "describe_launch_template_versions")
    rec.close()


def record_autoscaling(session):
    asg = session.client("autoscaling", region_name=REGION)
    ec2 = session.client("ec2", region_name=REGION)
    rec = Recorder("autoscaling")
    rec.call(asg, "DescribeAutoScalingGroups", {"MaxRecords": 100, "IncludeInstances": False},
             "describe_auto_scaling_groups")
    lcs = rec.call(asg, "DescribeLaunchConfigurations", {"MaxRecords": 100},
                   "describe_launch_configurations")
    images = sorted({lc["ImageId"] for lc in lcs["LaunchConfigurations"]})
    rec.call(ec2, "DescribeImages",
             {"Filters": [{"Name": "image-id", "Values": images}], "IncludeDeprecated": True},
             "describe_images", service="ec2")
    rec.close()


def record_elb(session):
    elbv2 = session.client("elbv2", region_name=REGION)
    rec = Recorder("elbv2")
    lbs = rec.call(elbv2, "DescribeLoadBalancers", {"PageSize": 400}, "describe_load_balancers")
    arns = []
    for lb in lbs["LoadBalancers"]:
        arn = lb["LoadBalancerArn"]
        arns.append(arn)
        rec.call(elbv2, "DescribeLoadBalancerAttributes", {"LoadBalancerArn": arn},
                 "describe_load_balancer_attributes")
        lis = rec.call(elbv2, "DescribeListeners", {"LoadBalancerArn": arn, "PageSize": 400},
                       "describe_listeners")
        arns += [x["ListenerArn"] for x in lis["Listeners"]]
    arns.sort()
    for i in range(0, len(arns), 20):
        rec.call(elbv2, "DescribeTags", {"ResourceArns": arns[i:i + 20]}, "describe_tags")
    rec.close()

    elb = session.client("elb", region_name=REGION)
    rec = Recorder("elb")
    lbs = rec.call(elb, "DescribeLoadBalancers", {"PageSize": 400}, "describe_load_balancers")
    names = []
    for lb in lbs["LoadBalancerDescriptions"]:
        name = lb["LoadBalancerName"]
        names.append(name)
        rec.call(elb, "DescribeLoadBalancerAttributes", {"LoadBalancerName": name},
                 "describe_load_balancer_attributes")
        policies = sorted({p for ld in lb["ListenerDescriptions"] for p in ld["PolicyNames"]})
        if policies:
            rec.call(elb, "DescribeLoadBalancerPolicies",
                     {"LoadBalancerName": name, "PolicyNames": policies},
                     "describe_load_balancer_policies")
    names.sort()
    for i in range(0, len(names), 20):
        rec.call(elb, "DescribeTags", {"LoadBalancerNames": names[i:i + 20]}, "describe_tags")
    rec.close()


def record_apigateway(session):
    apigw = session.client("apigateway", region_name=REGION)
    rec = Recorder("apigateway")
    apis = rec.call(apigw, "GetRestApis", {"limit": 500}, "get_rest_apis")
    for api in apis["items"]:
        rec.call(apigw, "GetStages", {"restApiId": api["id"]}, "get_stages")
    rec.close()

    apigw2 = session.client("apigatewayv2", region_name=REGION)
    rec = Recorder("apigatewayv2")
    apis = rec.call(apigw2, "GetApis", {}, "get_apis")
    for api in apis["Items"]:
        rec.call(apigw2, "GetStages", {"ApiId": api["ApiId"]}, "get_stages")
    rec.close()


def record_cloudfront(session):
    cf = session.client("cloudfront", region_name="us-east-1")
    rec = Recorder("cloudfront")
    dists = rec.call(cf, "ListDistributions", {}, "list_distributions")
    for d in dists["DistributionList"].get("Items", []):
        rec.call(cf, "GetDistribution", {"Id": d["Id"]}, "get_distribution")
        rec.call(cf, "ListTagsForResource", {"Resource": d["ARN"]}, "list_tags_for_resource")
    rec.close()


def record_appstream():
    rec = Recorder("appstream")
    fleets = rec.copy("DescribeFleets", {}, "appstream-DescribeFleets.json")
    for i, fleet in enumerate(fleets["Fleets"]):
        rec.copy("ListTagsForResource", {"ResourceArn": fleet["Arn"]},
                 "appstream-ListTagsForResource-%d.json" % (i + 1))
    rec.close()


def main():
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    os.environ.pop("AWS_ENDPOINT_URL", None)
    with mock_aws():
        mock_random.seed(20240304)
        session = boto3.session.Session()
        net.build(session)
        record_ec2(session)
        record_autoscaling(session)
        record_elb(session)
        record_apigateway(session)
        record_cloudfront(session)
    record_appstream()
    return 0


if __name__ == "__main__":
    sys.exit(main())
