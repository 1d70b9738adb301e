/* Auto Scaling collector: groups and launch configurations.
 *
 * Calls per region and cycle: DescribeAutoScalingGroups (100 a page, without
 * the instance lists), DescribeLaunchConfigurations (100 a page) and, when
 * there are launch configurations, one EC2 DescribeImages for up to 200 of
 * their images: a launch configuration's root_block_device is the mapping
 * of its image's root device, which only the image says.  Nothing is
 * called per item. */
#ifndef PLUMB_COLLECT_AUTOSCALING_H
#define PLUMB_COLLECT_AUTOSCALING_H

#include "collect.h"

extern const struct collector_def collect_autoscaling;

#endif
