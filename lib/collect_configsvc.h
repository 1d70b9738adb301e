/* Collector "configservice": the AWS Config service configuration of a
 * region -- configuration recorders (aws_config_configuration_recorder),
 * their status (aws_config_configuration_recorder_status) and delivery
 * channels (aws_config_delivery_channel).  This is Config's own setup, not
 * the inventory read through Config (lib/collect_config.c).
 *
 * Calls: DescribeConfigurationRecorders, DescribeConfigurationRecorderStatus
 * and DescribeDeliveryChannels, once each per region (each returns every
 * item of the region at once). */
#ifndef PLUMB_COLLECT_CONFIGSVC_H
#define PLUMB_COLLECT_CONFIGSVC_H

#include "collect.h"

extern const struct collector_def collect_configsvc_def;

#endif
