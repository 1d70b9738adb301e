/* Exporting baseline findings: OCSF, ASFF and CSV.
 *
 *  - OCSF 1.3.0 Compliance Finding (class_uid 2003), one JSON object per
 *    line, with the cloud profile;
 *  - AWS Security Finding Format (SchemaVersion 2018-10-08) objects and
 *    BatchImportFindings request bodies (at most 100 findings each) for a
 *    Security Hub custom integration
 *    (arn:<partition>:securityhub:<region>:<account>:product/<account>/default);
 *  - CSV (RFC 4180: CRLF lines, fields quoted when needed, quotes doubled)
 *    that is safe to open in a spreadsheet: a cell starting with = + - @,
 *    TAB or CR is prefixed with a single quote.
 *
 * Appending functions write to a caller-owned struct buf (which caps the
 * size) and leave it unchanged on failure. */
#ifndef PLUMB_REPORT_H
#define PLUMB_REPORT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "evaluate.h"

#define REPORT_OCSF_VERSION   "1.3.0"
#define REPORT_ASFF_SCHEMA    "2018-10-08"
#define REPORT_ASFF_BATCH_MAX 100

struct report_meta {
    const char *product_name;    /* "plumb" */
    const char *product_version; /* PLUMB_VERSION */
    const char *vendor_name;     /* "plumb" */
    /* Region for findings about global resources in ASFF (ProductArn and
     * Resources[].Region need a real region), e.g. "us-east-1". */
    const char *home_region;
};

/* The stable id of a finding (control + resource key), also used as the
 * OCSF finding_info.uid and the ASFF Id.  At most 512 bytes: longer keys
 * are shortened with a SHA-256.  malloc'd, NULL on OOM. */
char *report_finding_uid(const struct finding *f);

/* The ASFF resource type for a Terraform type ("aws_s3_bucket" ->
 * "AwsS3Bucket"; "account" and "region" -> "AwsAccount"; otherwise
 * "Other").  Static string. */
const char *report_asff_resource_type(const char *terraform_type);

/* A new JSON object, or NULL on OOM. */
json_t *report_ocsf(const struct finding *f, const struct report_meta *m);
json_t *report_asff(const struct finding *f, const struct report_meta *m);

/* Append the OCSF object as one compact line ending in "\n". */
int report_ocsf_line(const struct finding *f, const struct report_meta *m, struct buf *out);
/* Append {"Findings": [...]} for n (1..REPORT_ASFF_BATCH_MAX) findings. */
int report_asff_batch(const struct finding *const *f, size_t n, const struct report_meta *m,
                      struct buf *out);

/* CSV: the header line, then one line per finding.  Columns: time,
 * control_id, title, severity, status, warning, account, region,
 * resource_type, resource_id, arn, detail, nis2, dora, remediation. */
int report_csv_header(struct buf *out);
int report_csv_row(const struct finding *f, struct buf *out);
/* Append one field (quoted and neutralised as needed), no separator. */
int report_csv_field(struct buf *out, const char *s);

#endif
