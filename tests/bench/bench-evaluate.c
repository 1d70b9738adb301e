/* Evaluate the shipped catalogue over a synthetic estate of N resources
 * (default 100000; first argument) in one account and 17 regions, and
 * print how long loading and evaluation took and how many findings of
 * each status came out.  Half of the resources pass, half fail. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controls.h"
#include "estate.h"
#include "evaluate.h"
#include "util.h"

static const char *const regions[] = {
    "us-east-1",    "us-east-2",      "us-west-1",      "us-west-2",      "eu-west-1",
    "eu-west-2",    "eu-west-3",      "eu-central-1",   "eu-north-1",     "eu-south-1",
    "ap-south-1",   "ap-northeast-1", "ap-northeast-2", "ap-southeast-1", "ap-southeast-2",
    "ca-central-1", "sa-east-1",
};

/* Resource shapes: type and attributes (JSON) for a passing and a failing
 * document. */
static const struct shape {
    const char *type;
    const char *good, *bad;
} shapes[] = {
    { "aws_db_instance", "{\"storage_encrypted\": true, \"backup_retention_period\": 7}",
      "{\"storage_encrypted\": false, \"backup_retention_period\": 1}" },
    { "aws_ebs_volume", "{\"encrypted\": true}", "{\"encrypted\": false}" },
    { "aws_instance",
      "{\"instance_state\": \"running\", \"metadata_options\": [{\"http_tokens\": \"required\", "
      "\"http_endpoint\": \"enabled\"}]}",
      "{\"instance_state\": \"running\", \"metadata_options\": [{\"http_tokens\": \"optional\", "
      "\"http_endpoint\": \"enabled\"}]}" },
    { "aws_security_group",
      "{\"name\": \"web\", \"ingress\": [{\"protocol\": \"tcp\", \"from_port\": 443, \"to_port\": "
      "443, \"cidr_blocks\": [\"0.0.0.0/0\"]}], \"egress\": []}",
      "{\"name\": \"web\", \"ingress\": [{\"protocol\": \"tcp\", \"from_port\": 22, \"to_port\": "
      "22, \"cidr_blocks\": [\"0.0.0.0/0\"]}, {\"protocol\": \"-1\", \"from_port\": 0, "
      "\"to_port\": 0, \"ipv6_cidr_blocks\": [\"::/0\"]}], \"egress\": []}" },
    { "aws_cloudwatch_log_group", "{\"retention_in_days\": 400}", "{\"retention_in_days\": 7}" },
    { "aws_kms_key",
      "{\"key_manager\": \"CUSTOMER\", \"key_state\": \"Enabled\", \"customer_master_key_spec\": "
      "\"SYMMETRIC_DEFAULT\", \"origin\": \"AWS_KMS\", \"enable_key_rotation\": true}",
      "{\"key_manager\": \"CUSTOMER\", \"key_state\": \"Enabled\", \"customer_master_key_spec\": "
      "\"SYMMETRIC_DEFAULT\", \"origin\": \"AWS_KMS\", \"enable_key_rotation\": false}" },
    { "aws_s3_bucket", "{}", "{}" },
    { "aws_vpc", "{\"default\": false}", "{\"default\": false}" },
    { "aws_lb_listener",
      "{\"protocol\": \"HTTPS\", \"ssl_policy\": \"ELBSecurityPolicy-TLS13-1-2-2021-06\"}",
      "{\"protocol\": \"HTTP\", \"default_action\": [{\"type\": \"forward\"}]}" },
    { "aws_acm_certificate",
      "{\"key_algorithm\": \"RSA-2048\", \"status\": \"ISSUED\", \"type\": \"AMAZON_ISSUED\", "
      "\"not_after\": \"2030-01-01T00:00:00Z\", \"options\": []}",
      "{\"key_algorithm\": \"RSA-1024\", \"status\": \"ISSUED\", \"type\": \"AMAZON_ISSUED\", "
      "\"not_after\": \"2020-01-01T00:00:00Z\", \"options\": []}" },
};

/* Every type named in a "related" of a control definition. */
static void related_types(const json_t *v, char ***types)
{
    const char *k;
    json_t *x;
    size_t i;
    if (json_is_object(v)) {
        const char *t = json_string_value(json_object_get(json_object_get(v, "related"), "type"));
        if (t && !strv_contains(*types, t))
            strv_push(types, t);
        json_object_foreach ((json_t *)v, k, x)
            related_types(x, types);
    } else if (json_is_array(v)) {
        json_array_foreach (v, i, x)
            related_types(x, types);
    }
}

static int count(const struct finding *f, void *userdata)
{
    size_t *counts = userdata;
    counts[f->status]++;
    return 0;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? strtol(argv[1], NULL, 10) : 100000;
    const char *datadir = getenv("PLUMB_DATADIR");
    char *dir = str_printf("%s/baseline", datadir ? datadir : "etc");
    char *paths[] = { dir, NULL };
    struct catalogue *cat = NULL;
    struct estate_mem *m = NULL;
    struct evaluate *ev = NULL;
    struct perr err = { 0 };
    size_t counts[4] = { 0 };
    json_t *docs[ARRAY_SIZE(shapes)][2];
    char **types = strv_new();
    int64_t t0, t1, t2, t3;

    t0 = time_mono_ms();
    if (controls_load(paths, NULL, &cat, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    t1 = time_mono_ms();
    if (estate_mem_new(&m) < 0)
        return 1;
    for (size_t s = 0; s < ARRAY_SIZE(shapes); s++)
        for (int g = 0; g < 2; g++) {
            json_error_t je;
            docs[s][g] = json_loads(g ? shapes[s].bad : shapes[s].good, 0, &je);
            if (!docs[s][g])
                return 1;
        }
    /* Every type any control reads is collected ok. */
    for (size_t i = 0; i < cat->n; i++) {
        const struct control *c = cat->controls[i];
        if (c->scope_kind == CONTROL_SCOPE_RESOURCE && !strv_contains(types, c->scope))
            strv_push(&types, c->scope);
        related_types(c->definition, &types);
    }
    for (size_t r = 0; r < ARRAY_SIZE(regions); r++) {
        estate_mem_add_scope(m, NULL, "111111111111", regions[r], true);
        estate_mem_cover_all(m, "111111111111", regions[r], (const char *const *)types);
    }
    estate_mem_cover_all(m, "111111111111", RESOURCE_REGION_GLOBAL, (const char *const *)types);
    for (long i = 0; i < n; i++) {
        const struct shape *sh = &shapes[i % (long)ARRAY_SIZE(shapes)];
        struct resource *r = NULL;
        char id[32];
        snprintf(id, sizeof(id), "r-%ld", i);
        if (resource_new_with("aws", "111111111111", regions[i % (long)ARRAY_SIZE(regions)],
                              sh->type, NULL, id, NULL, &r) < 0)
            return 1;
        json_decref(r->attrs);
        r->attrs = json_deep_copy(docs[i % (long)ARRAY_SIZE(shapes)][(i / 10) % 2]);
        if (estate_mem_add(m, r) < 0)
            return 1;
    }
    if (estate_mem_seal(m) < 0)
        return 1;
    if (evaluate_new(estate_mem_ops(), m, time_now_ms(), &ev, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    t2 = time_mono_ms();
    if (evaluate_catalogue(ev, cat, count, counts, &err) != 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    t3 = time_mono_ms();
    printf("catalogue: %zu controls loaded and compiled in %lld ms\n", cat->n,
           (long long)(t1 - t0));
    printf("estate: %ld resources, %zu regions\n", n, ARRAY_SIZE(regions));
    printf("evaluation: %lld ms; PASS %zu, FAIL %zu, NOT_APPLICABLE %zu, UNKNOWN %zu\n",
           (long long)(t3 - t2), counts[FINDING_PASS], counts[FINDING_FAIL],
           counts[FINDING_NOT_APPLICABLE], counts[FINDING_UNKNOWN]);
    for (size_t s = 0; s < ARRAY_SIZE(shapes); s++) {
        json_decref(docs[s][0]);
        json_decref(docs[s][1]);
    }
    strv_free(types);
    evaluate_free(ev);
    estate_mem_free(m);
    controls_free(cat);
    free(dir);
    return 0;
}
