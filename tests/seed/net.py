#!/usr/bin/env python3
"""Seed (or change) the network estate the "net" collectors read.

Usage: net.py seed | change | delete | restricted-user

  seed             create the estate (EC2, Auto Scaling, ELB, API Gateway,
                   CloudFront) in eu-central-1 and print what was created as
                   JSON on stdout
  change           change exactly one attribute of one resource: the tag
                   "env" of the VPC "plumb-net" becomes "staging"
  delete           delete the unattached volume tagged Name=plumb-spare
  restricted-user  create the IAM user "plumb-net-ro" whose policy allows
                   the reads but denies ec2:DescribeVolumes,
                   autoscaling:DescribeLaunchConfigurations and
                   elasticloadbalancing:DescribeListeners, and print its
                   access key as JSON

The estate is also what tests/data/responses/record-net.py records for the
unit tests (it imports build()), so both see the same shapes.  boto3 takes
the endpoint from AWS_ENDPOINT_URL (tests/testutil.c sets it to moto).
"""
import json
import sys

import boto3

REGION = "eu-central-1"


def _tags(d):
    return [{"Key": k, "Value": v} for k, v in d.items()]


def build_ec2(ec2, s3, out):
    vpc = ec2.create_vpc(
        CidrBlock="10.20.0.0/16",
        AmazonProvidedIpv6CidrBlock=True,
        TagSpecifications=[{"ResourceType": "vpc",
                            "Tags": _tags({"Name": "plumb-net", "env": "prod"})}],
    )["Vpc"]
    vpc_id = vpc["VpcId"]
    out["vpc"] = vpc_id
    sub_a = ec2.create_subnet(
        VpcId=vpc_id, CidrBlock="10.20.1.0/24", AvailabilityZone=REGION + "a",
        TagSpecifications=[{"ResourceType": "subnet", "Tags": _tags({"Name": "plumb-a"})}],
    )["Subnet"]["SubnetId"]
    sub_b = ec2.create_subnet(
        VpcId=vpc_id, CidrBlock="10.20.2.0/24", AvailabilityZone=REGION + "b",
    )["Subnet"]["SubnetId"]
    ec2.modify_subnet_attribute(SubnetId=sub_a, MapPublicIpOnLaunch={"Value": True})
    out["subnets"] = [sub_a, sub_b]

    web = ec2.create_security_group(
        GroupName="plumb-web", Description="web tier", VpcId=vpc_id,
        TagSpecifications=[{"ResourceType": "security-group",
                            "Tags": _tags({"Name": "plumb-web"})}],
    )["GroupId"]
    db = ec2.create_security_group(
        GroupName="plumb-db", Description="database tier", VpcId=vpc_id)["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=web,
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
             "IpRanges": [{"CidrIp": "0.0.0.0/0", "Description": "https"}],
             "Ipv6Ranges": [{"CidrIpv6": "::/0", "Description": "https"}]},
            {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
             "IpRanges": [{"CidrIp": "10.0.0.0/8"}, {"CidrIp": "192.168.0.0/16",
                                                    "Description": "office"}]},
        ],
    )
    ec2.authorize_security_group_ingress(
        GroupId=db,
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432,
             "UserIdGroupPairs": [{"GroupId": web, "Description": "from web"}]},
            {"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": db}]},
        ],
    )
    out["security_groups"] = {"web": web, "db": db}

    acl = ec2.create_network_acl(
        VpcId=vpc_id,
        TagSpecifications=[{"ResourceType": "network-acl", "Tags": _tags({"Name": "plumb-acl"})}],
    )["NetworkAcl"]["NetworkAclId"]
    ec2.create_network_acl_entry(NetworkAclId=acl, RuleNumber=100, Protocol="6",
                                 RuleAction="allow", Egress=False, CidrBlock="0.0.0.0/0",
                                 PortRange={"From": 443, "To": 443})
    ec2.create_network_acl_entry(NetworkAclId=acl, RuleNumber=200, Protocol="1",
                                 RuleAction="deny", Egress=False, CidrBlock="10.9.0.0/16",
                                 IcmpTypeCode={"Code": -1, "Type": 8})
    ec2.create_network_acl_entry(NetworkAclId=acl, RuleNumber=100, Protocol="-1",
                                 RuleAction="allow", Egress=True, Ipv6CidrBlock="::/0")
    out["network_acl"] = acl

    ec2.create_flow_logs(
        ResourceIds=[vpc_id], ResourceType="VPC", TrafficType="ALL",
        LogDestinationType="cloud-watch-logs", LogGroupName="plumb-flow",
        DeliverLogsPermissionArn="arn:aws:iam::123456789012:role/plumb-flow",
        TagSpecifications=[{"ResourceType": "vpc-flow-log", "Tags": _tags({"team": "net"})}],
    )
    s3.create_bucket(Bucket="plumb-flow-logs",
                     CreateBucketConfiguration={"LocationConstraint": REGION})
    ec2.create_flow_logs(
        ResourceIds=[sub_b], ResourceType="Subnet", TrafficType="REJECT",
        LogDestinationType="s3", LogDestination="arn:aws:s3:::plumb-flow-logs",
        MaxAggregationInterval=60,
    )

    ec2.enable_ebs_encryption_by_default()

    ami = ec2.describe_images(Owners=["amazon"], MaxResults=5)["Images"][0]
    ami_id = ami["ImageId"]
    out["ami"] = ami_id
    out["ami_root_device"] = ami.get("RootDeviceName")
    inst = ec2.run_instances(
        ImageId=ami_id, MinCount=1, MaxCount=1, InstanceType="t3.micro", SubnetId=sub_a,
        ClientToken="plumb-web-1",
        SecurityGroupIds=[web],
        MetadataOptions={"HttpTokens": "required", "HttpEndpoint": "enabled",
                         "HttpPutResponseHopLimit": 2},
        BlockDeviceMappings=[{"DeviceName": "/dev/sdf",
                              "Ebs": {"VolumeSize": 20, "VolumeType": "gp3",
                                      "Encrypted": True, "DeleteOnTermination": False}}],
        TagSpecifications=[{"ResourceType": "instance",
                            "Tags": _tags({"Name": "plumb-web-1", "env": "prod"})}],
    )["Instances"][0]["InstanceId"]
    legacy = ec2.run_instances(
        ImageId=ami_id, MinCount=1, MaxCount=1, InstanceType="m5.large", SubnetId=sub_b,
        ClientToken="plumb-legacy",
        SecurityGroupIds=[db],
        MetadataOptions={"HttpTokens": "optional"},
        TagSpecifications=[{"ResourceType": "instance", "Tags": _tags({"Name": "plumb-legacy"})}],
    )["Instances"][0]["InstanceId"]
    out["instances"] = {"web": inst, "legacy": legacy}

    spare = ec2.create_volume(
        AvailabilityZone=REGION + "a", Size=8, VolumeType="gp2", Encrypted=False,
        TagSpecifications=[{"ResourceType": "volume", "Tags": _tags({"Name": "plumb-spare"})}],
    )["VolumeId"]
    out["spare_volume"] = spare

    lt = ec2.create_launch_template(
        LaunchTemplateName="plumb-lt", VersionDescription="first",
        LaunchTemplateData={
            "ImageId": ami_id, "InstanceType": "t3.small",
            "MetadataOptions": {"HttpTokens": "optional", "HttpEndpoint": "enabled"},
            "SecurityGroupIds": [web],
        },
        TagSpecifications=[{"ResourceType": "launch-template", "Tags": _tags({"team": "net"})}],
    )["LaunchTemplate"]["LaunchTemplateId"]
    ec2.create_launch_template_version(
        LaunchTemplateId=lt, VersionDescription="second", SourceVersion="1",
        LaunchTemplateData={
            "ImageId": ami_id, "InstanceType": "t3.medium", "EbsOptimized": True,
            "MetadataOptions": {"HttpTokens": "required", "HttpEndpoint": "enabled",
                                "HttpPutResponseHopLimit": 1},
            "BlockDeviceMappings": [{"DeviceName": "/dev/xvda",
                                     "Ebs": {"VolumeSize": 30, "Encrypted": True,
                                             "VolumeType": "gp3"}}],
            "Monitoring": {"Enabled": True},
        },
    )
    out["launch_template"] = lt
    return out


def build_autoscaling(asg, out):
    asg.create_launch_configuration(
        LaunchConfigurationName="plumb-lc", ImageId=out["ami"], InstanceType="t3.micro",
        SecurityGroups=[out["security_groups"]["web"]],
        MetadataOptions={"HttpTokens": "optional", "HttpEndpoint": "enabled",
                         "HttpPutResponseHopLimit": 1},
        BlockDeviceMappings=[
            {"DeviceName": out["ami_root_device"] or "/dev/xvda",
             "Ebs": {"VolumeSize": 16, "VolumeType": "gp3", "Encrypted": True}},
            {"DeviceName": "/dev/sdg", "Ebs": {"VolumeSize": 50, "VolumeType": "st1"}},
        ],
    )
    asg.create_auto_scaling_group(
        AutoScalingGroupName="plumb-asg", LaunchConfigurationName="plumb-lc",
        MinSize=0, MaxSize=2, DesiredCapacity=0,
        VPCZoneIdentifier=",".join(out["subnets"]),
        Tags=[{"Key": "team", "Value": "net", "PropagateAtLaunch": True,
               "ResourceId": "plumb-asg", "ResourceType": "auto-scaling-group"}],
    )
    asg.create_auto_scaling_group(
        AutoScalingGroupName="plumb-asg-lt",
        LaunchTemplate={"LaunchTemplateId": out["launch_template"], "Version": "$Latest"},
        MinSize=0, MaxSize=1, DesiredCapacity=0, VPCZoneIdentifier=out["subnets"][0],
    )
    out["asgs"] = ["plumb-asg", "plumb-asg-lt"]


def build_elb(elbv2, elb, acm, out):
    cert = acm.request_certificate(DomainName="www.example.org")["CertificateArn"]
    out["certificate"] = cert
    lb = elbv2.create_load_balancer(
        Name="plumb-alb", Subnets=out["subnets"], SecurityGroups=[out["security_groups"]["web"]],
        Scheme="internet-facing", Type="application",
        Tags=[{"Key": "team", "Value": "net"}],
    )["LoadBalancers"][0]["LoadBalancerArn"]
    elbv2.modify_load_balancer_attributes(
        LoadBalancerArn=lb,
        Attributes=[{"Key": "access_logs.s3.enabled", "Value": "true"},
                    {"Key": "access_logs.s3.bucket", "Value": "plumb-lb-logs"},
                    {"Key": "access_logs.s3.prefix", "Value": "alb"},
                    {"Key": "deletion_protection.enabled", "Value": "true"}],
    )
    tg = elbv2.create_target_group(Name="plumb-tg", Protocol="HTTP", Port=80,
                                   VpcId=out["vpc"])["TargetGroups"][0]["TargetGroupArn"]
    http = elbv2.create_listener(
        LoadBalancerArn=lb, Protocol="HTTP", Port=80,
        DefaultActions=[{"Type": "redirect",
                         "RedirectConfig": {"Protocol": "HTTPS", "Port": "443",
                                            "StatusCode": "HTTP_301"}}],
    )["Listeners"][0]["ListenerArn"]
    https = elbv2.create_listener(
        LoadBalancerArn=lb, Protocol="HTTPS", Port=443,
        SslPolicy="ELBSecurityPolicy-TLS13-1-2-2021-06",
        Certificates=[{"CertificateArn": cert}],
        DefaultActions=[{"Type": "forward", "TargetGroupArn": tg}],
        Tags=[{"Key": "tier", "Value": "edge"}],
    )["Listeners"][0]["ListenerArn"]
    out["alb"] = lb
    out["listeners"] = [http, https]

    elb.create_load_balancer(
        LoadBalancerName="plumb-classic",
        Listeners=[{"Protocol": "HTTP", "LoadBalancerPort": 80, "InstanceProtocol": "HTTP",
                    "InstancePort": 8080},
                   {"Protocol": "HTTPS", "LoadBalancerPort": 443, "InstanceProtocol": "HTTP",
                    "InstancePort": 8080,
                    "SSLCertificateId": cert}],
        Subnets=[out["subnets"][0]], SecurityGroups=[out["security_groups"]["web"]],
        Tags=[{"Key": "team", "Value": "net"}],
    )
    elb.create_load_balancer_policy(
        LoadBalancerName="plumb-classic", PolicyName="plumb-tls",
        PolicyTypeName="SSLNegotiationPolicyType",
        PolicyAttributes=[{"AttributeName": "Reference-Security-Policy",
                           "AttributeValue": "ELBSecurityPolicy-TLS-1-2-2017-01"}],
    )
    elb.set_load_balancer_policies_of_listener(
        LoadBalancerName="plumb-classic", LoadBalancerPort=443, PolicyNames=["plumb-tls"])
    elb.modify_load_balancer_attributes(
        LoadBalancerName="plumb-classic",
        LoadBalancerAttributes={
            "AccessLog": {"Enabled": True, "S3BucketName": "plumb-lb-logs",
                          "EmitInterval": 5, "S3BucketPrefix": "classic"},
            "ConnectionDraining": {"Enabled": True, "Timeout": 120},
        },
    )
    out["classic"] = "plumb-classic"


def build_apigateway(apigw, apigw2, out):
    api = apigw.create_rest_api(
        name="plumb-rest", description="REST API",
        endpointConfiguration={"types": ["REGIONAL"]},
        tags={"team": "net"},
    )
    api_id = api["id"]
    root = api["rootResourceId"]
    apigw.put_method(restApiId=api_id, resourceId=root, httpMethod="GET",
                     authorizationType="NONE")
    apigw.put_integration(restApiId=api_id, resourceId=root, httpMethod="GET", type="MOCK")
    dep = apigw.create_deployment(restApiId=api_id)["id"]
    apigw.create_stage(restApiId=api_id, stageName="prod", deploymentId=dep,
                       description="production", cacheClusterEnabled=True,
                       cacheClusterSize="0.5", variables={"color": "blue"},
                       tags={"stage": "prod"})
    apigw.update_stage(restApiId=api_id, stageName="prod", patchOperations=[
        {"op": "replace", "path": "/*/*/logging/loglevel", "value": "INFO"},
        {"op": "replace", "path": "/*/*/caching/dataEncrypted", "value": "true"},
        {"op": "replace", "path": "/accessLogSettings/destinationArn",
         "value": "arn:aws:logs:eu-central-1:123456789012:log-group:plumb-api"},
        {"op": "replace", "path": "/accessLogSettings/format", "value": "$context.requestId"},
    ])
    apigw.create_stage(restApiId=api_id, stageName="dev", deploymentId=dep)
    out["rest_api"] = api_id

    http = apigw2.create_api(Name="plumb-http", ProtocolType="HTTP",
                             CorsConfiguration={"AllowOrigins": ["https://example.org"],
                                                "MaxAge": 300},
                             Tags={"team": "net"})["ApiId"]
    apigw2.create_stage(ApiId=http, StageName="live", AutoDeploy=True,
                        AccessLogSettings={
                            "DestinationArn":
                            "arn:aws:logs:eu-central-1:123456789012:log-group:plumb-http",
                            "Format": "$context.requestId"},
                        Tags={"stage": "live"})
    ws = apigw2.create_api(Name="plumb-ws", ProtocolType="WEBSOCKET",
                           RouteSelectionExpression="$request.body.action")["ApiId"]
    apigw2.create_stage(ApiId=ws, StageName="v1")
    out["http_api"] = http
    out["ws_api"] = ws


def build_cloudfront(cf, out):
    dist = cf.create_distribution(DistributionConfig={
        "CallerReference": "plumb-net-1",
        "Comment": "plumb site",
        "Enabled": True,
        "DefaultRootObject": "index.html",
        "Aliases": {"Quantity": 1, "Items": ["www.example.org"]},
        "Origins": {"Quantity": 2, "Items": [
            {"Id": "site", "DomainName": "plumb-site.s3.amazonaws.com",
             "S3OriginConfig": {"OriginAccessIdentity": ""}},
            {"Id": "app", "DomainName": "app.example.org",
             "CustomOriginConfig": {"HTTPPort": 80, "HTTPSPort": 443,
                                    "OriginProtocolPolicy": "https-only",
                                    "OriginSslProtocols": {"Quantity": 2,
                                                           "Items": ["TLSv1.1", "TLSv1.2"]}}},
        ]},
        "DefaultCacheBehavior": {
            "TargetOriginId": "site", "ViewerProtocolPolicy": "redirect-to-https",
            "CachePolicyId": "658327ea-f89d-4fab-a63d-7e88639e58f6",
        },
        "CacheBehaviors": {"Quantity": 1, "Items": [
            {"PathPattern": "/api/*", "TargetOriginId": "app",
             "ViewerProtocolPolicy": "https-only",
             "CachePolicyId": "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"},
        ]},
        "Logging": {"Enabled": True, "IncludeCookies": False,
                    "Bucket": "plumb-cf-logs.s3.amazonaws.com", "Prefix": "cf/"},
        "ViewerCertificate": {"CloudFrontDefaultCertificate": True},
        "PriceClass": "PriceClass_100",
    })["Distribution"]
    cf.tag_resource(Resource=dist["ARN"], Tags={"Items": [{"Key": "team", "Value": "net"}]})
    out["distribution"] = dist["Id"]


def build(session, out=None):
    out = {} if out is None else out
    build_ec2(session.client("ec2", region_name=REGION),
              session.client("s3", region_name=REGION), out)
    build_autoscaling(session.client("autoscaling", region_name=REGION), out)
    build_elb(session.client("elbv2", region_name=REGION),
              session.client("elb", region_name=REGION),
              session.client("acm", region_name=REGION), out)
    build_apigateway(session.client("apigateway", region_name=REGION),
                     session.client("apigatewayv2", region_name=REGION), out)
    build_cloudfront(session.client("cloudfront", region_name="us-east-1"), out)
    return out


def change(session):
    ec2 = session.client("ec2", region_name=REGION)
    vpcs = ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": ["plumb-net"]}])["Vpcs"]
    ec2.create_tags(Resources=[vpcs[0]["VpcId"]], Tags=[{"Key": "env", "Value": "staging"}])
    return {"vpc": vpcs[0]["VpcId"]}


def delete(session):
    ec2 = session.client("ec2", region_name=REGION)
    vols = ec2.describe_volumes(
        Filters=[{"Name": "tag:Name", "Values": ["plumb-spare"]}])["Volumes"]
    ec2.delete_volume(VolumeId=vols[0]["VolumeId"])
    return {"volume": vols[0]["VolumeId"]}


# Reads allowed, except one listing per collector: exactly the types that
# listing delivers must become unknown.
RESTRICTED_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow",
         "Action": ["ec2:Describe*", "ec2:Get*", "autoscaling:Describe*",
                    "elasticloadbalancing:Describe*", "apigateway:GET", "cloudfront:Get*",
                    "cloudfront:List*", "sts:GetCallerIdentity"],
         "Resource": "*"},
        {"Effect": "Deny",
         "Action": ["ec2:DescribeVolumes", "autoscaling:DescribeLaunchConfigurations",
                    "elasticloadbalancing:DescribeListeners"],
         "Resource": "*"},
    ],
}


def restricted_user(session):
    iam = session.client("iam", region_name=REGION)
    iam.create_user(UserName="plumb-net-ro")
    iam.put_user_policy(UserName="plumb-net-ro", PolicyName="ro",
                        PolicyDocument=json.dumps(RESTRICTED_POLICY))
    key = iam.create_access_key(UserName="plumb-net-ro")["AccessKey"]
    return {"access_key_id": key["AccessKeyId"], "secret_access_key": key["SecretAccessKey"]}


def main(argv):
    what = argv[1] if len(argv) > 1 else "seed"
    session = boto3.session.Session()
    if what == "seed":
        result = build(session)
    elif what == "change":
        result = change(session)
    elif what == "delete":
        result = delete(session)
    elif what == "restricted-user":
        result = restricted_user(session)
    else:
        sys.stderr.write("usage: net.py seed|change|delete|restricted-user\n")
        return 2
    json.dump(result, sys.stdout, sort_keys=True)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
