/* Fuzz target: AWS XML responses (query, ec2 and rest-xml protocols) and
 * XML error bodies, parsed through the shipped models.  The first input
 * byte picks the operation and whether the body is an error (status 400). */
#include <stdint.h>
#include <stdlib.h>

#include "awserr.h"
#include "awsmodel.h"
#include "awsproto.h"
#include "awsxml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct {
    const char *service;
    const char *op;
} ops[] = {
    { "ec2", "DescribeInstances" },   { "ec2", "DescribeSecurityGroups" },
    { "iam", "ListUsers" },           { "iam", "GetAccountSummary" },
    { "s3", "ListBuckets" },          { "s3", "GetBucketPolicy" },
    { "s3", "GetBucketEncryption" },  { "rds", "DescribeDBInstances" },
    { "elbv2", "DescribeListeners" }, { "cloudfront", "ListDistributions" },
    { "sts", "AssumeRole" },
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct awsmodels *models;
    const struct awsmodel *m;
    const struct awsop *op;
    struct awsresponse resp = { 0 };
    json_t *out = NULL;
    struct awserr *e = NULL;
    size_t pick;

    if (!models) {
        awsxml_init();
        if (awsmodels_load_embedded(&models, NULL) < 0)
            abort();
    }
    if (size < 1)
        return 0;
    pick = data[0] % (sizeof(ops) / sizeof(ops[0]));
    m = awsmodels_get(models, ops[pick].service);
    op = m ? awsmodel_op(m, ops[pick].op) : NULL;
    if (!op)
        abort();
    resp.status = data[0] & 0x80 ? 400 : 200;
    resp.body = (const char *)data + 1;
    resp.body_len = size - 1;
    if (awsproto_parse_response(m, op, &resp, &out, &e, NULL) >= 0) {
        json_decref(out);
        awserr_free(e);
    }
    return 0;
}
