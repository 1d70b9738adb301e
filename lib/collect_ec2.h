/* EC2 collector: instances, EBS volumes, security groups and their rules,
 * VPCs, subnets, network ACLs, flow logs, launch templates, and the
 * region-wide EBS encryption and instance metadata defaults.
 *
 * Calls per region and cycle (pages of the maximum size):
 *   DescribeInstances, DescribeVolumes, DescribeSecurityGroups,
 *   DescribeSecurityGroupRules, DescribeVpcs, DescribeSubnets,
 *   DescribeNetworkAcls, DescribeRouteTables (main tables only),
 *   DescribeFlowLogs, DescribeLaunchTemplates,
 *   DescribeLaunchTemplateVersions ($Latest and $Default of every template
 *   at once), GetEbsEncryptionByDefault, GetEbsDefaultKmsKeyId,
 *   GetInstanceMetadataDefaults, and DescribeInstanceCreditSpecifications
 *   for the burstable (T2 and later) instances only, up to 1000 per call.
 * Nothing is called per item.  Instances are joined with their volumes
 * (root_block_device, ebs_block_device) and VPCs with their default
 * security group, network ACL and main route table in memory.
 *
 * Not collected (left absent, so drift skips them): the instance
 * attributes only DescribeInstanceAttribute returns, one call per instance
 * and attribute (disable_api_stop, disable_api_termination,
 * instance_initiated_shutdown_behavior, user_data) and the VPC attributes
 * only DescribeVpcAttribute returns, one call per VPC and attribute
 * (enable_dns_hostnames, enable_dns_support,
 * enable_network_address_usage_metrics).  No baseline control reads any of
 * them. */
#ifndef PLUMB_COLLECT_EC2_H
#define PLUMB_COLLECT_EC2_H

#include "collect.h"

extern const struct collector_def collect_ec2;

#endif
