/* Elastic Load Balancing collector: application/network/gateway load
 * balancers (elbv2) with their listeners, and Classic Load Balancers (elb).
 *
 * Calls per region and cycle:
 *   elbv2 DescribeLoadBalancers (400 a page); per load balancer
 *   DescribeLoadBalancerAttributes and DescribeListeners (400 a page);
 *   DescribeTags for 20 load balancers and listeners at a time.
 *   elb DescribeLoadBalancers (400 a page); per load balancer
 *   DescribeLoadBalancerAttributes, and DescribeLoadBalancerPolicies only
 *   when one of its listeners has policies; DescribeTags for 20 load
 *   balancers at a time.
 * The attributes (access logs) and the listeners have no batch API.  A load
 * balancer deleted between the calls (LoadBalancerNotFound) is dropped.  A
 * failed DescribeListeners makes the listener type unknown for the region
 * (its listeners cannot be told apart from deleted ones). */
#ifndef PLUMB_COLLECT_ELB_H
#define PLUMB_COLLECT_ELB_H

#include "collect.h"

extern const struct collector_def collect_elb;

#endif
