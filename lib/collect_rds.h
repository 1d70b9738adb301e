/* Collector "rds": RDS DB instances (aws_db_instance) and DB clusters
 * (aws_rds_cluster), regional.
 *
 * Calls per region: DescribeDBInstances and DescribeDBClusters, each one
 * call per page of 100; nothing per item (tags come with the items).
 * Live ids are the identifiers (AWS keeps them lower-case), never the
 * DbiResourceId.  DocumentDB and Neptune instances and clusters, which the
 * same APIs return, are kept (AWS Config records them as RDS types too). */
#ifndef PLUMB_COLLECT_RDS_H
#define PLUMB_COLLECT_RDS_H

#include "collect.h"

extern const struct collector_def collect_rds;

#endif
