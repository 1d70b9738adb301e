/* Collector "acm": ACM certificates (aws_acm_certificate), regional.
 *
 * Calls per region: ListCertificates (per page of 1000, with every key
 * type in Includes.keyTypes: without it AWS lists RSA_2048 certificates
 * only) and DescribeCertificate per certificate (CT logging preference,
 * validation, renewal).  The list items already carry key algorithm,
 * expiry, type, status and in-use, so those stay known when a describe
 * fails.  key_algorithm is in the SDK enum form (RSA_2048), as Terraform
 * stores it; DescribeCertificate answers RSA-2048.  Tags
 * (ListTagsForCertificate, one call per certificate) are not read: "tags"
 * is marked not_collected. */
#ifndef PLUMB_COLLECT_ACM_H
#define PLUMB_COLLECT_ACM_H

#include "collect.h"

extern const struct collector_def collect_acm;

#endif
