#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "testutil.h"
#include "typemap.h"
#include "util.h"

static struct typemap *load_embedded(void)
{
    struct typemap *tm = NULL;
    struct perr err = { 0 };
    int r = typemap_load_embedded(&tm, &err);
    ck_assert_msg(r == 0, "embedded table: %s", err.msg);
    return tm;
}

/* ---- the embedded table ------------------------------------------------- */

/* The types the collectors, the drift engine and the baseline were promised
 * (the brief's list); the table may hold more. */
static const char *const required_types[] = { "aws_instance",
                                              "aws_security_group",
                                              "aws_vpc_security_group_ingress_rule",
                                              "aws_vpc_security_group_egress_rule",
                                              "aws_vpc",
                                              "aws_subnet",
                                              "aws_flow_log",
                                              "aws_ebs_volume",
                                              "aws_ebs_encryption_by_default",
                                              "aws_launch_template",
                                              "aws_ec2_instance_metadata_defaults",
                                              "aws_autoscaling_group",
                                              "aws_launch_configuration",
                                              "aws_s3_bucket",
                                              "aws_s3_bucket_versioning",
                                              "aws_s3_bucket_server_side_encryption_configuration",
                                              "aws_s3_bucket_public_access_block",
                                              "aws_s3_bucket_policy",
                                              "aws_s3_bucket_logging",
                                              "aws_s3_bucket_lifecycle_configuration",
                                              "aws_s3_account_public_access_block",
                                              "aws_iam_user",
                                              "aws_iam_access_key",
                                              "aws_iam_role",
                                              "aws_iam_policy",
                                              "aws_iam_account_password_policy",
                                              "aws_iam_virtual_mfa_device",
                                              "plumb_iam_account_summary",
                                              "plumb_iam_credential_report",
                                              "aws_db_instance",
                                              "aws_rds_cluster",
                                              "aws_cloudtrail",
                                              "aws_kms_key",
                                              "aws_kms_alias",
                                              "aws_guardduty_detector",
                                              "aws_config_configuration_recorder",
                                              "aws_config_configuration_recorder_status",
                                              "aws_config_delivery_channel",
                                              "aws_cloudwatch_log_group",
                                              "aws_backup_plan",
                                              "aws_backup_vault",
                                              "aws_backup_report_plan",
                                              "plumb_backup_recovery_point",
                                              "aws_acm_certificate",
                                              "aws_api_gateway_rest_api",
                                              "aws_api_gateway_stage",
                                              "aws_apigatewayv2_api",
                                              "aws_apigatewayv2_stage",
                                              "aws_lb",
                                              "aws_lb_listener",
                                              "aws_elb",
                                              "aws_cloudfront_distribution",
                                              "aws_appstream_fleet",
                                              "aws_account_alternate_contact",
                                              "aws_athena_workgroup",
                                              "aws_bedrock_model_invocation_logging_configuration",
                                              "aws_securityhub_account",
                                              "aws_securityhub_standards_subscription",
                                              "aws_accessanalyzer_analyzer",
                                              "aws_cloudwatch_event_rule",
                                              "aws_cloudwatch_event_target",
                                              "aws_appsync_graphql_api",
                                              "aws_ssmincidents_replication_set",
                                              "aws_ssmincidents_response_plan",
                                              NULL };

START_TEST(embedded_loads_with_every_required_type)
{
    struct typemap *tm = load_embedded();
    for (size_t i = 0; required_types[i]; i++) {
        const struct typemap_type *t = typemap_find(tm, required_types[i]);
        ck_assert_msg(t, "%s missing from the table", required_types[i]);
        ck_assert_str_eq(t->type, required_types[i]);
    }
    ck_assert_uint_ge(typemap_count(tm), 60);
    typemap_free(tm);
}
END_TEST

static void check_attrs(const struct typemap_type *t, const struct typemap_attr *attrs, size_t n,
                        size_t *ret_count)
{
    for (size_t i = 0; i < n; i++) {
        const struct typemap_attr *a = &attrs[i];
        ck_assert_msg((size_t)a->compare <= TYPEMAP_COMPARE_DEFAULT, "%s.%s", t->type, a->name);
        ck_assert_msg((size_t)a->kind <= TYPEMAP_KIND_OBJECT, "%s.%s", t->type, a->name);
        ck_assert_msg(a->compare != TYPEMAP_COMPARE_DEFAULT || a->default_value,
                      "%s.%s: default without a value", t->type, a->name);
        ck_assert_msg(!a->plumb_only || a->compare == TYPEMAP_COMPARE_COMPUTED,
                      "%s.%s: plumb_only must be computed", t->type, a->name);
        /* A live attribute needs a source unless documented as derived. */
        ck_assert_msg(t->declared_only || a->n_sources > 0 || a->note ||
                          a->compare == TYPEMAP_COMPARE_COMPUTED ||
                          (a->parent && a->parent->n_sources > 0),
                      "%s.%s: no 'from' and no note saying how it is derived", t->type, a->name);
        ck_assert_ptr_nonnull(a->controls);
        (*ret_count)++;
        check_attrs(t, a->attrs, a->n_attrs, ret_count);
    }
}

START_TEST(every_type_is_complete)
{
    struct typemap *tm = load_embedded();
    size_t n_attrs = 0;
    for (size_t i = 0; i < typemap_count(tm); i++) {
        const struct typemap_type *t = typemap_type_at(tm, i);
        ck_assert_ptr_eq(typemap_find(tm, t->type), t);
        if (t->aws_type)
            ck_assert_ptr_eq(typemap_find_aws(tm, t->aws_type), t);
        for (char **a = t->aliases; *a; a++)
            ck_assert_ptr_eq(typemap_find(tm, *a), t);
        ck_assert_msg(t->id_live && *t->id_live, "%s: id.live", t->type);
        ck_assert_msg(t->id_import && *t->id_import, "%s: id.import", t->type);
        ck_assert_msg(t->n_attrs > 0, "%s: attributes", t->type);
        ck_assert_msg(t->declared_only || t->collector, "%s: collector", t->type);
        /* Every type has its id rule; a type with an ARN says how to get it. */
        ck_assert_msg(str_has_prefix(t->type, "plumb_") || t->declared_only || t->arn_template ||
                          t->arn_source || typemap_attr(t, "arn") == NULL ||
                          typemap_attr(t, "arn")->n_sources > 0,
                      "%s: has an arn attribute but no arn rule", t->type);
        /* Taggable types say where the tags come from. */
        const struct typemap_attr *tags = typemap_attr(t, "tags");
        if (tags) {
            ck_assert_int_eq(tags->compare, TYPEMAP_COMPARE_TAGS);
            ck_assert(tags->in_tags);
        }
        check_attrs(t, t->attrs, t->n_attrs, &n_attrs);
    }
    ck_assert_uint_ge(n_attrs, 800);
    typemap_free(tm);
}
END_TEST

START_TEST(lookups)
{
    struct typemap *tm = load_embedded();
    const struct typemap_type *t = typemap_find(tm, "aws_alb");
    ck_assert_ptr_nonnull(t);
    ck_assert_str_eq(t->type, "aws_lb");
    ck_assert_str_eq(typemap_find(tm, "aws_alb_listener")->type, "aws_lb_listener");
    ck_assert_str_eq(typemap_find(tm, "aws_default_vpc")->type, "aws_vpc");
    ck_assert_ptr_null(typemap_find(tm, "aws_nonexistent_thing"));
    ck_assert_ptr_null(typemap_find(tm, NULL));
    ck_assert_str_eq(typemap_find_aws(tm, "AWS::EC2::Instance")->type, "aws_instance");
    ck_assert_ptr_null(typemap_find_aws(tm, "AWS::No::Such"));

    /* One S3 Config item delivers the bucket and every split resource. */
    const struct typemap_type *out[16];
    size_t n = typemap_by_config_type(tm, "AWS::S3::Bucket", out, 16);
    ck_assert_uint_eq(n, 7);
    ck_assert_str_eq(out[0]->type, "aws_s3_bucket");
    for (size_t i = 0; i < n; i++)
        ck_assert(str_has_prefix(out[i]->type, "aws_s3_bucket"));
    ck_assert_uint_eq(typemap_by_config_type(tm, "AWS::S3::Bucket", NULL, 0), 7);
    ck_assert_uint_eq(typemap_by_config_type(tm, "AWS::No::Such", out, 16), 0);

    size_t total = 0;
    for (size_t i = 0; i < typemap_count(tm); i++) {
        const struct typemap_type *ti = typemap_type_at(tm, i);
        if (ti->collector) {
            const struct typemap_type *c[64];
            size_t k = typemap_by_collector(tm, ti->collector, c, 64);
            bool found = false;
            for (size_t j = 0; j < k && j < 64; j++)
                found = found || c[j] == ti;
            ck_assert_msg(found, "%s not listed under %s", ti->type, ti->collector);
        } else
            total++;
    }
    ck_assert_uint_eq(total, 3); /* the declared_only types */
    ck_assert_uint_eq(typemap_by_collector(tm, "collect_nothing", out, 16), 0);
    ck_assert_ptr_null(typemap_type_at(tm, typemap_count(tm)));

    /* Attribute paths with and without indices. */
    const struct typemap_type *inst = typemap_find(tm, "aws_instance");
    const struct typemap_attr *a = typemap_attr(inst, "metadata_options[0].http_tokens");
    ck_assert_ptr_nonnull(a);
    ck_assert_str_eq(a->name, "http_tokens");
    ck_assert_ptr_eq(typemap_attr(inst, "metadata_options.http_tokens"), a);
    ck_assert_ptr_eq(typemap_attr(inst, "metadata_options[*].http_tokens"), a);
    ck_assert_str_eq(a->parent->name, "metadata_options");
    ck_assert_int_eq(a->parent->max_items, 1);
    ck_assert_ptr_null(typemap_attr(inst, "metadata_options[0].nope"));
    ck_assert_ptr_null(typemap_attr(inst, "nope"));
    ck_assert_ptr_null(typemap_attr(inst, "metadata_options[0"));
    ck_assert_ptr_null(typemap_attr(inst, ""));

    /* Sources are absolute: item root, parent path and member joined. */
    ck_assert_uint_eq(a->n_sources, 1);
    ck_assert_str_eq(a->sources[0].op, "DescribeInstances");
    ck_assert_str_eq(a->sources[0].path, "Reservations[].Instances[].MetadataOptions.HttpTokens");
    /* Config paths are derived from the mirrored operation. */
    ck_assert_str_eq(a->config_path, "configuration.metadataOptions.httpTokens");
    const struct typemap_attr *enc =
        typemap_attr(typemap_find(tm, "aws_s3_bucket_server_side_encryption_configuration"),
                     "rule[0].apply_server_side_encryption_by_default[0].sse_algorithm");
    ck_assert_ptr_nonnull(enc);
    ck_assert_str_eq(enc->sources[0].path,
                     "ServerSideEncryptionConfiguration.Rules[].ApplyServerSideEncryptionByDefault."
                     "SSEAlgorithm");
    ck_assert_str_eq(enc->config_path,
                     "supplementaryConfiguration.ServerSideEncryptionConfiguration."
                     "rules[].applyServerSideEncryptionByDefault.sseAlgorithm");
    const struct typemap_attr *tags = typemap_attr(inst, "tags");
    ck_assert_str_eq(tags->config_path, "tags");
    ck_assert_ptr_null(typemap_attr(inst, "disable_api_termination")->config_path);

    /* Defaults and keys. */
    const struct typemap_attr *ebs = typemap_attr(inst, "ebs_optimized");
    ck_assert_int_eq(ebs->compare, TYPEMAP_COMPARE_DEFAULT);
    ck_assert(json_is_false(ebs->default_value));
    const struct typemap_attr *sgd =
        typemap_attr(typemap_find(tm, "aws_security_group"), "description");
    ck_assert_str_eq(json_string_value(sgd->default_value), "Managed by Terraform");
    const struct typemap_attr *lb_sel =
        typemap_attr(typemap_find(tm, "aws_lb"), "access_logs[0].enabled");
    ck_assert_str_eq(lb_sel->select_member, "Key");
    ck_assert_str_eq(lb_sel->select_value, "access_logs.s3.enabled");
    const struct typemap_type *ing = typemap_find(tm, "aws_vpc_security_group_ingress_rule");
    ck_assert_str_eq(ing->filter_source->path, "SecurityGroupRules[].IsEgress");
    ck_assert(json_is_false(ing->filter_value));
    ck_assert(json_is_true(typemap_find(tm, "aws_vpc_security_group_egress_rule")->filter_value));
    ck_assert_ptr_null(inst->filter_source);
    ck_assert_str_eq(typemap_compare_name(TYPEMAP_COMPARE_SET_OF_OBJECTS), "set_of_objects");
    ck_assert_str_eq(typemap_kind_name(TYPEMAP_KIND_MAP), "map");
    ck_assert_str_eq(typemap_scope_name(TYPEMAP_SCOPE_REGION_SINGLETON), "region_singleton");
    typemap_free(tm);
}
END_TEST

/* ---- botocore: every 'from' exists in the service model ----------------- */

/* Writes <dir>/<service>.json for each service argument whose botocore
 * model it finds; exits 3 when botocore's data is nowhere to be found.  One
 * child for all services: starting python is slow under pyenv. */
static const char botocore_py[] =
    "import gzip, os, sys\n"
    "dirs = []\n"
    "try:\n"
    "    import botocore\n"
    "    dirs.append(os.path.join(os.path.dirname(botocore.__file__), 'data'))\n"
    "except ImportError:\n"
    "    pass\n"
    "dirs += ['/usr/lib/python3/dist-packages/awscli/botocore/data',\n"
    "         '/usr/lib/python3/dist-packages/botocore/data']\n"
    "dirs = [d for d in dirs if os.path.isdir(d)]\n"
    "if not dirs:\n"
    "    sys.exit(3)\n"
    "for svc in sys.argv[2:]:\n"
    "    for d in dirs:\n"
    "        sd = os.path.join(d, svc)\n"
    "        vs = sorted(v for v in os.listdir(sd) if os.path.exists(os.path.join(sd, v, "
    "'service-2.json.gz'))) if os.path.isdir(sd) else []\n"
    "        if vs:\n"
    "            with open(os.path.join(sys.argv[1], svc + '.json'), 'wb') as f:\n"
    "                f.write(gzip.open(os.path.join(sd, vs[-1], 'service-2.json.gz')).read())\n"
    "            break\n";

struct models {
    char *dir;
    json_t *by_service; /* service -> model document */
};

/* Load the models of every service the table names.  Returns false when
 * botocore's data is not installed. */
static bool models_load(const struct typemap *tm, struct models *m)
{
    const char *argv[80] = { "python3", "-c", botocore_py, NULL };
    size_t n = 4;
    m->dir = tu_tmpdir();
    m->by_service = json_object();
    argv[3] = m->dir;
    for (size_t i = 0; i < typemap_count(tm); i++) {
        const char *svc = typemap_type_at(tm, i)->service;
        bool dup = false;
        for (size_t k = 4; k < n; k++)
            dup = dup || str_eq(argv[k], svc);
        if (!dup) {
            ck_assert_uint_lt(n, ARRAY_SIZE(argv) - 1);
            argv[n++] = svc;
        }
    }
    argv[n] = NULL;
    char *errs = NULL;
    int st = tu_run(argv, NULL, NULL, &errs);
    if (st == 3) {
        free(errs);
        return false;
    }
    ck_assert_msg(st == 0, "loading botocore models failed (%d): %s", st, errs);
    free(errs);
    for (size_t k = 4; k < n; k++) {
        char *name = str_printf("%s.json", argv[k]);
        char *path = tu_path_join(m->dir, name);
        json_error_t je;
        json_t *doc = json_load_file(path, 0, &je);
        ck_assert_msg(doc, "botocore has no model for service %s (%s)", argv[k], je.text);
        json_object_set_new(m->by_service, argv[k], doc);
        free(path);
        free(name);
    }
    return true;
}

static void models_free(struct models *m)
{
    json_decref(m->by_service);
    tu_rmrf(m->dir);
    free(m->dir);
}

/* Walk a member path through the shapes; NULL on success, else why. */
static const char *walk_shapes(const json_t *model, const char *shape, const char *path, char *why,
                               size_t size)
{
    const json_t *shapes = json_object_get(model, "shapes");
    const char *p = path;
    char name[128];
    while (*p) {
        size_t n = strcspn(p, ".[{");
        ck_assert_uint_lt(n, sizeof(name));
        memcpy(name, p, n);
        name[n] = '\0';
        p += n;
        const json_t *sh = json_object_get(shapes, shape);
        if (!str_eq(json_string_value(json_object_get(sh, "type")), "structure")) {
            snprintf(why, size, "%s is not a structure (at '%s')", shape, name);
            return why;
        }
        const json_t *mem = json_object_get(json_object_get(sh, "members"), name);
        if (!mem) {
            snprintf(why, size, "'%s' is not a member of %s", name, shape);
            return why;
        }
        shape = json_string_value(json_object_get(mem, "shape"));
        while (*p == '[' || *p == '{') {
            const json_t *s2 = json_object_get(shapes, shape);
            const char *ty = json_string_value(json_object_get(s2, "type"));
            if (p[0] == '[' && p[1] == ']') {
                if (!str_eq(ty, "list")) {
                    snprintf(why, size, "'%s[]': %s is a %s, not a list", name, shape, ty);
                    return why;
                }
                shape = json_string_value(json_object_get(json_object_get(s2, "member"), "shape"));
                p += 2;
            } else {
                if (!str_eq(ty, "map")) {
                    snprintf(why, size, "'%s' map access: %s is a %s, not a map", name, shape, ty);
                    return why;
                }
                shape = json_string_value(json_object_get(json_object_get(s2, "value"), "shape"));
                const char *close = p[0] == '{' ? p + 1 : strstr(p, "\"]") + 1;
                p = close + 1;
            }
        }
        if (*p == '.')
            p++;
    }
    return NULL;
}

static void check_source(const struct models *m, const struct typemap_type *t, const char *what,
                         const struct typemap_source *s, size_t *checked)
{
    const json_t *model = json_object_get(m->by_service, t->service);
    ck_assert_ptr_nonnull(model);
    const json_t *op = json_object_get(json_object_get(model, "operations"), s->op);
    ck_assert_msg(op, "%s.%s: botocore %s has no operation %s", t->type, what, t->service, s->op);
    const json_t *output = json_object_get(op, "output");
    ck_assert_msg(output, "%s.%s: %s:%s has no output", t->type, what, t->service, s->op);
    char why[256];
    const char *bad = walk_shapes(model, json_string_value(json_object_get(output, "shape")),
                                  s->path, why, sizeof(why));
    ck_assert_msg(!bad, "%s.%s: %s:%s %s: %s", t->type, what, t->service, s->op, s->path, bad);
    (*checked)++;
}

static void check_attr_sources(const struct models *m, const struct typemap_type *t,
                               const struct typemap_attr *attrs, size_t count, const char *prefix,
                               size_t *checked)
{
    for (size_t i = 0; i < count; i++) {
        char what[256];
        snprintf(what, sizeof(what), "%s%s", prefix, attrs[i].name);
        for (size_t k = 0; k < attrs[i].n_sources; k++)
            check_source(m, t, what, &attrs[i].sources[k], checked);
        char sub[260];
        snprintf(sub, sizeof(sub), "%s.", what);
        check_attr_sources(m, t, attrs[i].attrs, attrs[i].n_attrs, sub, checked);
    }
}

START_TEST(every_source_exists_in_botocore)
{
    struct typemap *tm = load_embedded();
    struct models m;
    if (!models_load(tm, &m)) {
        /* Reported by main() as a skip: the check could not run here. */
        FILE *f = fopen("typemap-botocore-missing", "w");
        if (f)
            fclose(f);
        models_free(&m);
        typemap_free(tm);
        return;
    }
    size_t checked = 0;
    for (size_t i = 0; i < typemap_count(tm); i++) {
        const struct typemap_type *t = typemap_type_at(tm, i);
        if (t->id_source)
            check_source(&m, t, "id", t->id_source, &checked);
        if (t->arn_source)
            check_source(&m, t, "arn", t->arn_source, &checked);
        if (t->filter_source)
            check_source(&m, t, "filter", t->filter_source, &checked);
        /* Every operation the type lists exists, and so does its item root. */
        for (size_t k = 0; k < t->n_ops; k++)
            check_source(&m, t, "operations", &t->ops[k], &checked);
        check_attr_sources(&m, t, t->attrs, t->n_attrs, "", &checked);
    }
    ck_assert_uint_ge(checked, 800);
    models_free(&m);
    typemap_free(tm);
}
END_TEST

/* The walker itself must reject what does not exist, or the check above
 * could not fail. */
START_TEST(botocore_walker_rejects_bad_paths)
{
    static const char model_text[] =
        "{\"shapes\": {"
        "\"Out\": {\"type\": \"structure\", \"members\": {\"Items\": {\"shape\": \"L\"}, "
        "\"M\": {\"shape\": \"Map\"}, \"Name\": {\"shape\": \"S\"}}},"
        "\"L\": {\"type\": \"list\", \"member\": {\"shape\": \"Item\"}},"
        "\"Map\": {\"type\": \"map\", \"key\": {\"shape\": \"S\"}, \"value\": {\"shape\": "
        "\"Item\"}},"
        "\"Item\": {\"type\": \"structure\", \"members\": {\"Id\": {\"shape\": \"S\"}}},"
        "\"S\": {\"type\": \"string\"}}}";
    json_t *model = json_loads(model_text, 0, NULL);
    char why[256];
    ck_assert_ptr_nonnull(model);
    ck_assert_ptr_null(walk_shapes(model, "Out", "Items[].Id", why, sizeof(why)));
    ck_assert_ptr_null(walk_shapes(model, "Out", "M{}.Id", why, sizeof(why)));
    ck_assert_ptr_null(walk_shapes(model, "Out", "M[\"k.x\"].Id", why, sizeof(why)));
    ck_assert_ptr_null(walk_shapes(model, "Out", "", why, sizeof(why)));
    ck_assert_str_eq(walk_shapes(model, "Out", "Items[].Nope", why, sizeof(why)),
                     "'Nope' is not a member of Item");
    ck_assert_str_eq(walk_shapes(model, "Out", "Name[]", why, sizeof(why)),
                     "'Name[]': S is a string, not a list");
    ck_assert_str_eq(walk_shapes(model, "Out", "Items{}", why, sizeof(why)),
                     "'Items' map access: L is a list, not a map");
    ck_assert_str_eq(walk_shapes(model, "Out", "Name.Id", why, sizeof(why)),
                     "S is not a structure (at 'Id')");
    json_decref(model);
}
END_TEST

/* ---- id mapping on real Terraform states -------------------------------- */

static json_t *load_state(const char *rel)
{
    char *path = tu_fixture(rel);
    json_error_t je;
    json_t *doc = json_load_file(path, 0, &je);
    ck_assert_msg(doc, "%s: %s", rel, je.text);
    free(path);
    return doc;
}

typedef void (*instance_fn)(struct typemap *tm, const char *type, const json_t *attrs, void *ud);

/* Call fn for every managed instance (with attributes) of a type in the
 * table; returns how many. */
static size_t for_each_instance(struct typemap *tm, const json_t *state, instance_fn fn, void *ud)
{
    size_t n = 0, i, k;
    const json_t *res, *inst;
    json_array_foreach (json_object_get(state, "resources"), i, res) {
        const char *type = json_string_value(json_object_get(res, "type"));
        if (!str_eq(json_string_value(json_object_get(res, "mode")), "managed") ||
            !typemap_find(tm, type))
            continue;
        json_array_foreach (json_object_get(res, "instances"), k, inst) {
            const json_t *attrs = json_object_get(inst, "attributes");
            if (!attrs)
                continue;
            fn(tm, type, attrs, ud);
            n++;
        }
    }
    return n;
}

static char *live_id(struct typemap *tm, const char *type, const json_t *attrs)
{
    char *id = NULL;
    struct perr err = { 0 };
    int r = typemap_live_id(tm, type, attrs, &id, &err);
    ck_assert_msg(r == 0, "%s: %s", type, err.msg);
    return id;
}

static const char *sattr(const json_t *attrs, const char *name)
{
    const char *s = json_string_value(json_object_get(attrs, name));
    ck_assert_msg(s, "fixture lacks %s", name);
    return s;
}

/* The live id must also be what the resource's own ARN names. */
static void check_arn_names(struct typemap *tm, const char *type, const json_t *attrs,
                            const char *id)
{
    const json_t *arn = json_object_get(attrs, "arn");
    if (!json_is_string(arn))
        return;
    struct typemap_arn a;
    struct perr err = { 0 };
    ck_assert_msg(typemap_arn_parse(json_string_value(arn), &a, &err) == 0, "%s", err.msg);
    const struct typemap_type *t = typemap_find(tm, type);
    if (t->arn_template) {
        /* Rebuild the ARN from the template and the parsed parts. */
        char *built = NULL;
        ck_assert_int_eq(typemap_arn_build(t, a.partition, *a.region ? a.region : "global",
                                           a.account, id, attrs, &built),
                         0);
        ck_assert_str_eq(built, json_string_value(arn));
        free(built);
    }
    /* Regional resources are placed by their ARN's region; S3 bucket ARNs
     * carry none (the collector asks GetBucketLocation). */
    char *region = NULL;
    bool regional =
        t->scope == TYPEMAP_SCOPE_REGIONAL || t->scope == TYPEMAP_SCOPE_REGION_SINGLETON;
    if (regional && !*a.region && !json_is_string(json_object_get(attrs, "region")))
        ck_assert_int_eq(typemap_declared_region(t, attrs, &region), -ENODATA);
    else if (regional && !*a.region) {
        ck_assert_int_eq(typemap_declared_region(t, attrs, &region), 0);
        ck_assert_str_eq(region, sattr(attrs, "region"));
        free(region);
    } else {
        ck_assert_int_eq(typemap_declared_region(t, attrs, &region), 0);
        ck_assert_str_eq(region, regional ? a.region : "global");
        free(region);
    }
    typemap_arn_clear(&a);
}

static void check_s3(struct typemap *tm, const char *type, const json_t *attrs, void *ud)
{
    char *id = live_id(tm, type, attrs);
    ck_assert_str_eq(id, sattr(attrs, "bucket"));
    if (str_eq(type, "aws_s3_bucket")) {
        check_arn_names(tm, type, attrs, id);
    } else if (str_eq(type, "aws_s3_bucket_policy")) {
        ck_assert_str_eq(typemap_find(tm, type)->parent_type, "aws_s3_bucket");
    }
    (*(size_t *)ud)++;
    free(id);
}

static void check_kms(struct typemap *tm, const char *type, const json_t *attrs, void *ud)
{
    char *id = live_id(tm, type, attrs);
    ck_assert_str_eq(id, sattr(attrs, "key_id"));
    struct typemap_arn a;
    ck_assert_int_eq(typemap_arn_parse(sattr(attrs, "arn"), &a, NULL), 0);
    ck_assert_str_eq(a.service, "kms");
    ck_assert_str_eq(a.resource_type, "key");
    ck_assert_str_eq(a.resource_id, id);
    typemap_arn_clear(&a);
    check_arn_names(tm, type, attrs, id);
    (*(size_t *)ud)++;
    free(id);
}

/* Load balancers and listeners are known by ARN, the rest of that state
 * (security group, subnet) by id. */
static void check_lb(struct typemap *tm, const char *type, const json_t *attrs, void *ud)
{
    char *id = live_id(tm, type, attrs);
    ck_assert_str_eq(id, sattr(attrs, str_has_prefix(type, "aws_lb") ? "arn" : "id"));
    if (str_has_prefix(type, "aws_lb"))
        ck_assert(str_has_prefix(id, "arn:aws:elasticloadbalancing:"));
    check_arn_names(tm, type, attrs, id);
    (*(size_t *)ud)++;
    free(id);
}

static void check_by_attr(struct typemap *tm, const char *type, const json_t *attrs, void *ud)
{
    const char *attr = ud;
    char *id = live_id(tm, type, attrs);
    ck_assert_str_eq(id, sattr(attrs, attr));
    check_arn_names(tm, type, attrs, id);
    free(id);
}

START_TEST(live_id_s3_full)
{
    struct typemap *tm = load_embedded();
    json_t *st = load_state("tfstate/driftctl/aws_s3_full.tfstate");
    size_t seen = 0;
    /* The state holds buckets, policies and types outside the table
     * (analytics, inventory, metrics, notifications): those are skipped. */
    size_t n = for_each_instance(tm, st, check_s3, &seen);
    ck_assert_uint_eq(n, seen);
    ck_assert_uint_ge(n, 6);
    json_decref(st);
    typemap_free(tm);
}
END_TEST

START_TEST(live_id_kms_db_trail_lb)
{
    struct typemap *tm = load_embedded();
    size_t seen = 0;
    json_t *st = load_state("tfstate/driftctl/aws_kms_key.tfstate");
    ck_assert_uint_eq(for_each_instance(tm, st, check_kms, &seen), 3);
    ck_assert_uint_eq(seen, 3);
    json_decref(st);

    /* aws_db_instance: the identifier (Terraform v5 keeps the DbiResourceId
     * in id; this older state has id == identifier). */
    st = load_state("tfstate/driftctl/aws_db_instance.tfstate");
    ck_assert_uint_eq(for_each_instance(tm, st, check_by_attr, (void *)"identifier"), 1);
    json_decref(st);

    st = load_state("tfstate/driftctl/aws_cloudtrail.tfstate");
    ck_assert_uint_eq(for_each_instance(tm, st, check_by_attr, (void *)"name"), 1);
    json_decref(st);

    /* The listener state also holds an azurerm resource and a data source:
     * neither is matched.  Listener and load balancer ids are ARNs. */
    st = load_state("tfstate/driftctl/aws_lb_listener.tfstate");
    seen = 0;
    ck_assert_uint_eq(for_each_instance(tm, st, check_lb, &seen), 4);
    ck_assert_uint_eq(seen, 4);
    json_decref(st);

    st = load_state("tfstate/driftctl/aws_launch_template.tfstate");
    ck_assert_uint_eq(for_each_instance(tm, st, check_by_attr, (void *)"id"), 1);
    json_decref(st);

    st = load_state("tfstate/driftctl/aws_cloudfront_distribution.tfstate");
    ck_assert_uint_eq(for_each_instance(tm, st, check_by_attr, (void *)"id"), 1);
    json_decref(st);
    typemap_free(tm);
}
END_TEST

/* A trail state written by a provider that keeps the ARN as id still maps
 * to the trail name: the attributes are the fixture's, with name removed. */
START_TEST(live_id_trail_from_arn)
{
    struct typemap *tm = load_embedded();
    json_t *st = load_state("tfstate/driftctl/aws_cloudtrail.tfstate");
    json_t *attrs = json_object_get(
        json_array_get(
            json_object_get(json_array_get(json_object_get(st, "resources"), 0), "instances"), 0),
        "attributes");
    json_t *copy = json_deep_copy(attrs);
    const char *name = sattr(attrs, "name");
    json_object_del(copy, "name");
    json_object_set(copy, "id", json_object_get(attrs, "arn"));
    char *id = live_id(tm, "aws_cloudtrail", copy);
    ck_assert_str_eq(id, name);
    free(id);
    json_decref(copy);
    json_decref(st);
    typemap_free(tm);
}
END_TEST

static void check_sg_rule(struct typemap *tm, const char *type, const json_t *attrs, void *ud)
{
    ck_assert_str_eq(type, "aws_security_group_rule");
    const struct typemap_type *t = typemap_find(tm, type);
    ck_assert(t->declared_only);
    ck_assert_str_eq(t->match_type, "aws_security_group");
    char *id = live_id(tm, type, attrs);
    /* The synthetic sgrule-<hash> id is never a live id: the rule matches
     * its security group. */
    ck_assert(str_has_prefix(sattr(attrs, "id"), "sgrule-"));
    ck_assert_str_eq(id, sattr(attrs, "security_group_id"));
    ck_assert(str_has_prefix(id, "sg-"));
    /* Its type picks the parent's ingress or egress set. */
    const char *dir = sattr(attrs, "type");
    bool matched = false;
    for (size_t i = 0; i < typemap_relation_count(tm); i++) {
        const struct typemap_relation *rel = typemap_relation_at(tm, i);
        for (size_t k = 0; k < rel->n_separate; k++)
            if (rel->separate[k].type == t && typemap_relation_applies(tm, i, k, attrs)) {
                ck_assert(!matched);
                matched = true;
                ck_assert_str_eq(rel->inline_attr->name, dir);
                ck_assert_str_eq(rel->parent->type, "aws_security_group");
            }
    }
    ck_assert(matched);
    (*(size_t *)ud)++;
    free(id);
}

START_TEST(live_id_security_group_rules)
{
    struct typemap *tm = load_embedded();
    json_t *st = load_state("tfstate/driftctl/aws_vpc_security_group_rule.tfstate");
    size_t seen = 0;
    ck_assert_uint_eq(for_each_instance(tm, st, check_sg_rule, &seen), 11);
    ck_assert_uint_eq(seen, 11);
    json_decref(st);
    typemap_free(tm);
}
END_TEST

struct walk_stats {
    size_t files, instances;
};

static void count_ok(struct typemap *tm, const char *type, const json_t *attrs, void *ud)
{
    char *id = live_id(tm, type, attrs);
    ck_assert(*id);
    free(id);
    ((struct walk_stats *)ud)->instances++;
}

static void walk_dir(struct typemap *tm, const char *dir, struct walk_stats *ws)
{
    DIR *d = opendir(dir);
    ck_assert_msg(d, "%s: %s", dir, strerror(errno));
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' || str_has_suffix(e->d_name, ".md"))
            continue;
        char *p = tu_path_join(dir, e->d_name);
        struct stat sb;
        ck_assert_int_eq(stat(p, &sb), 0);
        if (S_ISDIR(sb.st_mode)) {
            walk_dir(tm, p, ws);
            free(p);
            continue;
        }
        json_t *doc = json_load_file(p, 0, NULL);
        if (json_is_object(doc) && json_integer_value(json_object_get(doc, "version")) == 4 &&
            !str_has_suffix(p, "error_missing_id.json")) {
            ws->files++;
            for_each_instance(tm, doc, count_ok, ws);
        }
        json_decref(doc);
        free(p);
    }
    closedir(d);
}

/* Every instance of a table type in every format-4 fixture maps to a live
 * id, whatever provider version wrote it. */
START_TEST(live_id_every_fixture)
{
    struct typemap *tm = load_embedded();
    char *dir = tu_fixture("tfstate");
    struct walk_stats ws = { 0 };
    walk_dir(tm, dir, &ws);
    ck_assert_uint_ge(ws.files, 40);
    ck_assert_uint_ge(ws.instances, 400);
    free(dir);
    typemap_free(tm);
}
END_TEST

START_TEST(live_id_errors)
{
    struct typemap *tm = load_embedded();
    struct perr err = { 0 };
    char *id = (char *)"untouched";

    /* inframap's error_missing_id.json: a DB instance with no attributes. */
    json_t *st = load_state("tfstate/inframap/error_missing_id.json");
    json_t *attrs = json_object_get(
        json_array_get(
            json_object_get(json_array_get(json_object_get(st, "resources"), 0), "instances"), 0),
        "attributes");
    ck_assert_int_eq(typemap_live_id(tm, "aws_db_instance", attrs, &id, &err), -ENODATA);
    ck_assert_str_eq(err.msg, "aws_db_instance: cannot derive the live id: the declared "
                              "attributes lack identifier, id");
    ck_assert_str_eq(id, "untouched");
    json_decref(st);

    json_t *o = json_pack("{s:s}", "name", "");
    ck_assert_int_eq(typemap_live_id(tm, "aws_iam_user", o, &id, &err), -ENODATA);
    ck_assert_str_eq(err.msg, "aws_iam_user: cannot derive the live id: the declared attributes "
                              "lack name, id");
    json_decref(o);

    o = json_object();
    ck_assert_int_eq(typemap_live_id(tm, "aws_nope", o, &id, &err), -ENOENT);
    ck_assert_str_eq(err.msg, "aws_nope: not a type of the type table");
    ck_assert_int_eq(typemap_live_id(tm, "plumb_iam_credential_report", o, &id, &err), -EOPNOTSUPP);
    ck_assert_str_eq(err.msg, "plumb_iam_credential_report: not a Terraform resource type");
    json_t *arr = json_array();
    ck_assert_int_eq(typemap_live_id(tm, "aws_vpc", arr, &id, &err), -EINVAL);
    ck_assert_str_eq(err.msg, "aws_vpc: declared attributes must be a JSON object");
    json_decref(arr);
    json_decref(o);
    ck_assert_str_eq(id, "untouched");
    typemap_free(tm);
}
END_TEST

/* Composite and conditional ids, filters and aliases. */
START_TEST(live_id_templates)
{
    struct typemap *tm = load_embedded();
    struct {
        const char *type;
        const char *attrs;
        const char *want;
    } cases[] = {
        { "aws_api_gateway_stage",
          "{\"id\": \"ags-abc-prod\", \"rest_api_id\": \"abc\", "
          "\"stage_name\": \"prod\"}",
          "abc/prod" },
        { "aws_apigatewayv2_stage", "{\"id\": \"prod\", \"api_id\": \"xyz\", \"name\": \"prod\"}",
          "xyz/prod" },
        { "aws_cloudwatch_event_rule", "{\"name\": \"r1\", \"event_bus_name\": \"default\"}",
          "r1" },
        { "aws_cloudwatch_event_rule", "{\"name\": \"r1\"}", "r1" },
        { "aws_cloudwatch_event_rule", "{\"name\": \"r1\", \"event_bus_name\": \"ops\"}",
          "ops/r1" },
        { "aws_cloudwatch_event_rule",
          "{\"name\": \"r1\", \"event_bus_name\": "
          "\"arn:aws:events:eu-west-1:111122223333:event-bus/ops\"}",
          "ops/r1" },
        { "aws_cloudwatch_event_target", "{\"rule\": \"r1\", \"target_id\": \"t1\"}", "r1/t1" },
        { "aws_cloudwatch_event_target",
          "{\"rule\": \"r1\", \"target_id\": \"t1\", \"event_bus_name\": \"ops\"}", "ops/r1/t1" },
        { "aws_s3_bucket_versioning", "{\"id\": \"b1,111122223333\"}", "b1" },
        { "aws_iam_role_policy", "{\"id\": \"role1:pol\"}", "role1" },
        { "aws_iam_role_policy", "{\"id\": \"role1:pol\", \"role\": \"role1\"}", "role1" },
        { "aws_alb", "{\"id\": \"arn:aws:elasticloadbalancing:eu-west-1:1:loadbalancer/app/x/1\"}",
          "arn:aws:elasticloadbalancing:eu-west-1:1:loadbalancer/app/x/1" },
        { "aws_account_alternate_contact", "{\"id\": \"111122223333/SECURITY\"}", "SECURITY" },
        { "aws_launch_configuration", "{\"name\": \"lc\", \"id\": \"lc\"}", "lc" },
        { "aws_db_instance", "{\"identifier\": \"MyDB\", \"id\": \"db-ABC\"}", "mydb" },
        { "aws_rds_cluster", "{\"id\": \"Cluster-1\"}", "cluster-1" },
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        json_t *a = json_loads(cases[i].attrs, 0, NULL);
        ck_assert_ptr_nonnull(a);
        char *id = live_id(tm, cases[i].type, a);
        ck_assert_msg(str_eq(id, cases[i].want), "%s %s: got %s, want %s", cases[i].type,
                      cases[i].attrs, id, cases[i].want);
        free(id);
        json_decref(a);
    }
    typemap_free(tm);
}
END_TEST

/* ---- unmanaged exclusions ------------------------------------------------ */

static struct resource *res(const char *type, const char *id, const char *arn, const char *attrs,
                            const char *tags)
{
    struct resource *r = NULL;
    ck_assert_int_eq(resource_new_with("aws", "111122223333", "eu-west-1", type, NULL, id, arn, &r),
                     0);
    if (attrs) {
        json_decref(r->attrs);
        r->attrs = json_loads(attrs, 0, NULL);
        ck_assert_ptr_nonnull(r->attrs);
    }
    if (tags) {
        json_decref(r->tags);
        r->tags = json_loads(tags, 0, NULL);
        ck_assert_ptr_nonnull(r->tags);
    }
    return r;
}

static void expect_excluded(struct typemap *tm, struct resource *r,
                            enum typemap_parent_state parent, const char *reason_part)
{
    const char *reason = NULL;
    bool ex = typemap_unmanaged_excluded(tm, r, parent, &reason);
    if (reason_part) {
        ck_assert_msg(ex, "%s %s should be excluded", r->type, r->id);
        ck_assert_msg(reason && strstr(reason, reason_part), "%s: reason '%s'", r->type,
                      reason ? reason : "(null)");
    } else
        ck_assert_msg(!ex, "%s %s should not be excluded (%s)", r->type, r->id,
                      reason ? reason : "");
    resource_free(r);
}

START_TEST(unmanaged_exclusions)
{
    struct typemap *tm = load_embedded();
    const enum typemap_parent_state U = TYPEMAP_PARENT_UNKNOWN;

    expect_excluded(tm, res("aws_vpc", "vpc-1", NULL, "{\"default\": true}", NULL), U,
                    "default VPC");
    expect_excluded(tm, res("aws_vpc", "vpc-2", NULL, "{\"default\": false}", NULL), U, NULL);
    expect_excluded(tm, res("aws_vpc", "vpc-3", NULL, "{}", NULL), U, NULL);
    expect_excluded(tm, res("aws_subnet", "subnet-1", NULL, "{\"default_for_az\": true}", NULL), U,
                    "default subnet");
    expect_excluded(tm, res("aws_security_group", "sg-1", NULL, "{\"name\": \"default\"}", NULL), U,
                    "default security group");
    expect_excluded(tm, res("aws_security_group", "sg-2", NULL, "{\"name\": \"web\"}", NULL), U,
                    NULL);
    expect_excluded(tm, res("aws_network_acl", "acl-1", NULL, "{\"default\": true}", NULL), U,
                    "default network ACL");
    /* Rules follow their security group. */
    expect_excluded(tm,
                    res("aws_vpc_security_group_ingress_rule", "sgr-1", NULL,
                        "{\"security_group_id\": \"sg-1\", \"ip_protocol\": \"tcp\"}", NULL),
                    TYPEMAP_PARENT_EXCLUDED, "excluded (default)");
    expect_excluded(tm,
                    res("aws_vpc_security_group_ingress_rule", "sgr-2", NULL,
                        "{\"security_group_id\": \"sg-2\", \"ip_protocol\": \"tcp\"}", NULL),
                    TYPEMAP_PARENT_MANAGED, NULL);
    expect_excluded(tm,
                    res("aws_vpc_security_group_egress_rule", "sgr-3", NULL,
                        "{\"ip_protocol\": \"-1\", \"cidr_ipv4\": \"0.0.0.0/0\"}", NULL),
                    TYPEMAP_PARENT_UNMANAGED, "reported once");
    /* Terraform revokes AWS's allow-all egress rule when it creates a group,
     * so one on a managed group that nothing declares is drift. */
    expect_excluded(tm,
                    res("aws_vpc_security_group_egress_rule", "sgr-4", NULL,
                        "{\"ip_protocol\": \"-1\", \"cidr_ipv4\": \"0.0.0.0/0\"}", NULL),
                    TYPEMAP_PARENT_MANAGED, NULL);
    expect_excluded(tm,
                    res("aws_iam_role", "AWSServiceRoleForSupport", NULL,
                        "{\"path\": \"/aws-service-role/support.amazonaws.com/\"}", NULL),
                    U, "service-linked");
    expect_excluded(tm, res("aws_iam_role", "app", NULL, "{\"path\": \"/service-role/\"}", NULL), U,
                    NULL);
    expect_excluded(tm,
                    res("aws_iam_policy", "arn:aws:iam::aws:policy/ReadOnlyAccess",
                        "arn:aws:iam::aws:policy/ReadOnlyAccess", "{}", NULL),
                    U, "AWS-managed policy");
    expect_excluded(tm,
                    res("aws_iam_policy", "arn:aws:iam::111122223333:policy/mine",
                        "arn:aws:iam::111122223333:policy/mine", "{}", NULL),
                    U, NULL);
    expect_excluded(tm, res("aws_kms_key", "k1", NULL, "{\"key_manager\": \"AWS\"}", NULL), U,
                    "AWS-managed key");
    expect_excluded(tm, res("aws_kms_key", "k2", NULL, "{\"key_manager\": \"CUSTOMER\"}", NULL), U,
                    NULL);
    expect_excluded(
        tm, res("aws_kms_alias", "alias/aws/s3", NULL, "{\"name\": \"alias/aws/s3\"}", NULL), U,
        "AWS-managed key");
    expect_excluded(tm,
                    res("aws_instance", "i-1", NULL, "{\"instance_state\": \"running\"}",
                        "{\"aws:autoscaling:groupName\": \"asg\"}"),
                    U, "Auto Scaling group");
    expect_excluded(tm,
                    res("aws_instance", "i-2", NULL, "{\"instance_state\": \"running\"}",
                        "{\"Name\": \"web\"}"),
                    U, NULL);
    expect_excluded(tm,
                    res("aws_ebs_volume", "vol-1", NULL,
                        "{\"attachments\": [{\"delete_on_termination\": false}, "
                        "{\"delete_on_termination\": true}]}",
                        NULL),
                    U, "instance launch");
    expect_excluded(tm,
                    res("aws_ebs_volume", "vol-2", NULL,
                        "{\"attachments\": [{\"delete_on_termination\": false}]}", NULL),
                    U, NULL);
    expect_excluded(
        tm, res("aws_ebs_encryption_by_default", "eu-west-1", NULL, "{\"enabled\": false}", NULL),
        U, "AWS default");
    expect_excluded(
        tm, res("aws_ebs_encryption_by_default", "eu-west-1", NULL, "{\"enabled\": true}", NULL), U,
        NULL);
    /* A split bucket resource is folded into an unmanaged bucket. */
    expect_excluded(tm,
                    res("aws_s3_bucket_versioning", "b", NULL,
                        "{\"versioning_configuration\": [{\"status\": \"Enabled\"}]}", NULL),
                    TYPEMAP_PARENT_UNMANAGED, "reported once");
    expect_excluded(tm,
                    res("aws_s3_bucket_versioning", "b", NULL,
                        "{\"versioning_configuration\": [{\"status\": \"Enabled\"}]}", NULL),
                    TYPEMAP_PARENT_MANAGED, NULL);
    expect_excluded(tm,
                    res("aws_s3_bucket_server_side_encryption_configuration", "b", NULL,
                        "{\"rule\": [{\"apply_server_side_encryption_by_default\": "
                        "[{\"sse_algorithm\": \"AES256\"}], \"bucket_key_enabled\": false}]}",
                        NULL),
                    TYPEMAP_PARENT_MANAGED, "SSE-S3 default");
    expect_excluded(tm,
                    res("aws_s3_bucket_server_side_encryption_configuration", "b", NULL,
                        "{\"rule\": [{\"apply_server_side_encryption_by_default\": "
                        "[{\"sse_algorithm\": \"aws:kms\"}]}]}",
                        NULL),
                    TYPEMAP_PARENT_MANAGED, NULL);
    expect_excluded(tm,
                    res("aws_ec2_instance_metadata_defaults", "eu-west-1", NULL,
                        "{\"http_tokens\": \"no-preference\", \"http_endpoint\": "
                        "\"no-preference\", \"http_put_response_hop_limit\": -1}",
                        NULL),
                    U, "no account-level preference");
    expect_excluded(tm,
                    res("aws_ec2_instance_metadata_defaults", "eu-west-1", NULL,
                        "{\"http_tokens\": \"required\"}", NULL),
                    U, NULL);
    expect_excluded(
        tm, res("aws_cloudwatch_event_rule", "r", NULL, "{\"managed_by\": \"x.aws\"}", NULL), U,
        "managed rule");
    expect_excluded(tm, res("aws_cloudwatch_event_rule", "r", NULL, "{}", NULL), U, NULL);
    expect_excluded(tm,
                    res("aws_iam_virtual_mfa_device", "arn:aws:iam::1:mfa/root-account-mfa-device",
                        "arn:aws:iam::1:mfa/root-account-mfa-device", "{}", NULL),
                    U, "root user");
    expect_excluded(tm, res("aws_backup_vault", "Default", NULL, "{\"name\": \"Default\"}", NULL),
                    U, "Default vault");
    /* Pseudo types are never unmanaged; unknown types never excluded. */
    expect_excluded(tm, res("plumb_iam_credential_report", "<root_account>", NULL, "{}", NULL), U,
                    "not a Terraform resource");
    expect_excluded(tm, res("aws_something_else", "x", NULL, "{}", NULL), U, NULL);
    ck_assert(!typemap_unmanaged_excluded(tm, NULL, U, NULL));
    typemap_free(tm);
}
END_TEST

/* ---- ARNs -------------------------------------------------------------- */

START_TEST(arn_parse)
{
    struct typemap_arn a;
    struct perr err = { 0 };
    ck_assert_int_eq(typemap_arn_parse("arn:aws:s3:::my-bucket", &a, &err), 0);
    ck_assert_str_eq(a.partition, "aws");
    ck_assert_str_eq(a.service, "s3");
    ck_assert_str_eq(a.region, "");
    ck_assert_str_eq(a.account, "");
    ck_assert_str_eq(a.resource, "my-bucket");
    ck_assert_str_eq(a.resource_type, "");
    ck_assert_str_eq(a.resource_id, "my-bucket");
    typemap_arn_clear(&a);

    ck_assert_int_eq(typemap_arn_parse("arn:aws-cn:rds:cn-north-1:111122223333:db:my:db", &a, &err),
                     0);
    ck_assert_str_eq(a.partition, "aws-cn");
    ck_assert_str_eq(a.region, "cn-north-1");
    ck_assert_str_eq(a.account, "111122223333");
    ck_assert_str_eq(a.resource, "db:my:db");
    ck_assert_str_eq(a.resource_type, "db");
    ck_assert_str_eq(a.resource_id, "my:db");
    typemap_arn_clear(&a);

    ck_assert_int_eq(typemap_arn_parse("arn:aws:elasticloadbalancing:us-east-1:1:loadbalancer/"
                                       "app/test/168f",
                                       &a, &err),
                     0);
    ck_assert_str_eq(a.resource_type, "loadbalancer");
    ck_assert_str_eq(a.resource_id, "app/test/168f");
    typemap_arn_clear(&a);
    typemap_arn_clear(&a); /* twice is harmless */

    ck_assert_int_eq(typemap_arn_parse("sg-123", &a, &err), -EINVAL);
    ck_assert_str_eq(err.msg, "'sg-123' is not an ARN (does not start with arn:)");
    ck_assert_int_eq(typemap_arn_parse("arn:aws:s3", &a, &err), -EINVAL);
    ck_assert_str_eq(err.msg, "'arn:aws:s3' is not an ARN (expected 6 ':'-separated fields)");
    ck_assert_int_eq(typemap_arn_parse("arn::s3:::b", &a, &err), -EINVAL);
    ck_assert_str_eq(err.msg, "'arn::s3:::b' is not an ARN (empty partition, service or resource)");
    ck_assert_int_eq(typemap_arn_parse("arn:aws:iam::1:", &a, &err), -EINVAL);
    ck_assert_int_eq(typemap_arn_parse(NULL, &a, &err), -EINVAL);
    ck_assert_str_eq(err.msg, "'(null)' is not an ARN (does not start with arn:)");
}
END_TEST

START_TEST(declared_regions)
{
    struct typemap *tm = load_embedded();
    char *region = NULL;
    json_t *o = json_pack("{s:s}", "id", "eu-central-1");
    ck_assert_int_eq(
        typemap_declared_region(typemap_find(tm, "aws_ebs_encryption_by_default"), o, &region), 0);
    ck_assert_str_eq(region, "eu-central-1");
    free(region);
    ck_assert_int_eq(
        typemap_declared_region(
            typemap_find(tm, "aws_bedrock_model_invocation_logging_configuration"), o, &region),
        0);
    ck_assert_str_eq(region, "eu-central-1");
    free(region);
    ck_assert_int_eq(typemap_declared_region(typemap_find(tm, "aws_iam_role"), o, &region), 0);
    ck_assert_str_eq(region, "global");
    free(region);
    region = (char *)"untouched";
    ck_assert_int_eq(typemap_declared_region(typemap_find(tm, "aws_instance"), o, &region),
                     -ENODATA);
    ck_assert_int_eq(typemap_declared_region(typemap_find(tm, "aws_s3_bucket_policy"), o, &region),
                     -ENODATA);
    ck_assert_str_eq(region, "untouched");
    json_decref(o);
    typemap_free(tm);
}
END_TEST

START_TEST(arn_build)
{
    struct typemap *tm = load_embedded();
    char *arn = NULL;
    const struct typemap_type *b = typemap_find(tm, "aws_s3_bucket");
    ck_assert_int_eq(typemap_arn_build(b, "aws", "eu-west-1", "111122223333", "bkt", NULL, &arn),
                     0);
    ck_assert_str_eq(arn, "arn:aws:s3:::bkt");
    free(arn);
    const struct typemap_type *st = typemap_find(tm, "aws_api_gateway_stage");
    json_t *attrs = json_pack("{s:s,s:s}", "rest_api_id", "abc", "stage_name", "prod");
    ck_assert_int_eq(
        typemap_arn_build(st, "aws-us-gov", "us-gov-west-1", "1", "abc/prod", attrs, &arn), 0);
    ck_assert_str_eq(arn, "arn:aws-us-gov:apigateway:us-gov-west-1::/restapis/abc/stages/prod");
    free(arn);
    json_object_del(attrs, "stage_name");
    arn = (char *)"untouched";
    ck_assert_int_eq(typemap_arn_build(st, "aws", "eu-west-1", "1", "x", attrs, &arn), -ENODATA);
    ck_assert_str_eq(arn, "untouched");
    json_decref(attrs);
    const struct typemap_type *inst = typemap_find(tm, "aws_instance");
    ck_assert_int_eq(typemap_arn_build(inst, NULL, "eu-west-1", NULL, "i-1", NULL, &arn), -ENODATA);
    ck_assert_int_eq(typemap_arn_build(typemap_find(tm, "aws_kms_key"), "aws", "eu-west-1", "1",
                                       "k", NULL, &arn),
                     -ENOENT);
    typemap_free(tm);
}
END_TEST

/* ---- malformed tables ---------------------------------------------------- */

/* A minimal valid table; each case below replaces one substring. */
static const char base_table[] =
    "{\"format\": 1, \"types\": [\n"
    " {\"type\": \"aws_widget\", \"aws_type\": \"AWS::W::Widget\", \"service\": \"w\",\n"
    "  \"collector\": \"collect_w\", \"scope\": \"regional\",\n"
    "  \"config\": {\"type\": \"AWS::W::Widget\", \"mirrors\": \"DescribeWidgets\"},\n"
    "  \"id\": {\"live\": \"widget id\", \"import\": \"widget id\", \"state\": [\"{id}\"]},\n"
    "  \"arn\": {\"template\": \"arn:{partition}:w:{region}:{account}:widget/{id}\"},\n"
    "  \"operations\": {\"DescribeWidgets\": \"Widgets[]\"},\n"
    "  \"attributes\": {\n"
    "   \"name\": {\"kind\": \"string\", \"from\": \"DescribeWidgets:Name\", \"compare\": "
    "\"exact\"},\n"
    "   \"rules\": {\"kind\": \"set\", \"from\": \"DescribeWidgets:Rules[]\", \"compare\": "
    "\"set_of_objects\", \"key\": [\"port\"], \"attributes\": {\n"
    "     \"port\": {\"kind\": \"number\", \"from\": \"Port\", \"compare\": \"default:0\"}}},\n"
    "   \"tags\": {\"kind\": \"map\", \"location\": \"tags\", \"from\": \"DescribeWidgets:Tags\", "
    "\"compare\": \"tags\"}},\n"
    "  \"unmanaged_exclude\": [{\"reason\": \"the default widget\", \"when\": {\"attr\": "
    "\"name\", \"eq\": \"default\"}}]},\n"
    " {\"type\": \"aws_widget_rule\", \"aws_type\": null, \"service\": \"w\", \"collector\": "
    "null,\n"
    "  \"scope\": \"regional\", \"declared_only\": true, \"config\": null, \"arn\": null,\n"
    "  \"id\": {\"live\": \"none\", \"import\": \"x\", \"state\": [\"{widget}\"], \"match\": "
    "\"aws_widget\"},\n"
    "  \"operations\": {}, \"attributes\": {\"widget\": {\"kind\": \"string\", \"from\": null, "
    "\"compare\": \"exact\"}}}\n"
    "], \"relations\": [{\"parent\": \"aws_widget\", \"inline\": \"rules\", \"join\": \"widget\", "
    "\"separate\": [{\"type\": \"aws_widget_rule\"}]}]}\n";

static char *replace(const char *s, const char *from, const char *to)
{
    const char *at = strstr(s, from);
    ck_assert_msg(at, "'%s' not in the base table", from);
    return str_printf("%.*s%s%s", (int)(at - s), s, to, at + strlen(from));
}

START_TEST(base_table_is_valid)
{
    struct typemap *tm = NULL;
    struct perr err = { 0 };
    ck_assert_msg(typemap_load_string(base_table, strlen(base_table), "t.json", &tm, &err) == 0,
                  "%s", err.msg);
    ck_assert_uint_eq(typemap_count(tm), 2);
    const struct typemap_type *w = typemap_find(tm, "aws_widget");
    ck_assert_str_eq(typemap_attr(w, "name")->config_path, "configuration.name");
    ck_assert_str_eq(typemap_attr(w, "rules.port")->config_path, "configuration.rules[].port");
    ck_assert_str_eq(typemap_attr(w, "rules.port")->sources[0].path, "Widgets[].Rules[].Port");
    const json_t *dv = typemap_attr(w, "rules.port")->default_value;
    ck_assert(json_is_integer(dv) && json_integer_value(dv) == 0);
    ck_assert_uint_eq(typemap_relation_count(tm), 1);
    ck_assert_ptr_eq(typemap_relation_at(tm, 0)->parent, w);
    ck_assert_ptr_null(typemap_relation_at(tm, 1));
    ck_assert(typemap_relation_applies(tm, 0, 0, NULL));
    ck_assert(!typemap_relation_applies(tm, 0, 1, NULL));
    typemap_free(tm);
}
END_TEST

static const struct {
    const char *from, *to, *msg;
    int code;
} bad_tables[] = {
    { "{\"format\": 1,", "{\"format\": 1,,", "t.json:1:14: string or '}' expected near ','",
      -EINVAL },
    { "\"format\": 1", "\"format\": 2", "t.json: unsupported format (expected \"format\": 1)",
      -EINVAL },
    { "\"format\": 1,", "\"format\": 1, \"extra\": 0,", "t.json: top level: unknown key 'extra'",
      -EINVAL },
    { "\"scope\": \"regional\",\n  \"config\"",
      "\"scope\": \"regional\", \"colector\": 1,\n  \"config\"",
      "t.json: aws_widget: unknown key 'colector'", -EINVAL },
    { "\"kind\": \"string\", \"from\": \"DescribeWidgets:Name\"",
      "\"kind\": \"text\", \"from\": \"DescribeWidgets:Name\"",
      "t.json: aws_widget: attribute name: unknown kind 'text' (expected string, number, bool, "
      "list, set, map or object)",
      -EINVAL },
    { "\"compare\": \"exact\"},\n   \"rules\"", "\"compare\": \"exactly\"},\n   \"rules\"",
      "t.json: aws_widget: attribute name: unknown compare 'exactly' (expected exact, set, "
      "set_of_objects, policy_json, tags, arn, case_insensitive, computed or default:<value>)",
      -EINVAL },
    { "\"DescribeWidgets:Name\"", "\"ListWidgets:Name\"",
      "t.json: aws_widget: attribute name: from 'ListWidgets:Name': operation ListWidgets is not "
      "listed in operations",
      -EINVAL },
    { "\"DescribeWidgets:Name\"", "\"Name\"",
      "t.json: aws_widget: attribute name: from 'Name' is relative but the attribute has no "
      "enclosing source (write Operation:Path)",
      -EINVAL },
    { "\"DescribeWidgets:Name\"", "\"DescribeWidgets:Na-me\"",
      "t.json: aws_widget: attribute name: from 'DescribeWidgets:Na-me': malformed member path",
      -EINVAL },
    { "\"from\": \"Port\"", "\"from\": \"Port[\"",
      "t.json: aws_widget: attribute rules.port: from 'Port[': malformed member path", -EINVAL },
    { "\"key\": [\"port\"]", "\"key\": [\"proto\"]",
      "t.json: aws_widget: attribute rules: key 'proto' is not a nested attribute", -EINVAL },
    { "\"compare\": \"set_of_objects\", \"key\": [\"port\"], \"attributes\": {\n     \"port\": "
      "{\"kind\": \"number\", \"from\": \"Port\", \"compare\": \"default:0\"}}}",
      "\"compare\": \"set_of_objects\"}",
      "t.json: aws_widget: attribute rules: compare set_of_objects needs nested attributes",
      -EINVAL },
    { "\"compare\": \"exact\"},\n   \"rules\"",
      "\"compare\": \"exact\", \"plumb_only\": true},\n   \"rules\"",
      "t.json: aws_widget: attribute name: plumb_only attributes must use compare computed",
      -EINVAL },
    { "\"location\": \"tags\", ", "",
      "t.json: aws_widget: attribute tags: compare tags needs kind map and location \"tags\"",
      -EINVAL },
    { "\"compare\": \"default:0\"", "\"compare\": \"default:[1]\"",
      "t.json: aws_widget: attribute rules.port: compare 'default:[1]': the default must be a "
      "scalar",
      -EINVAL },
    { "\"state\": [\"{id}\"]", "\"state\": [\"{nam}\"]",
      "t.json: aws_widget: id: template '{nam}': unknown attribute 'nam'", -EINVAL },
    { "\"state\": [\"{id}\"]", "\"state\": [\"{id|upper}\"]",
      "t.json: aws_widget: id: template '{id|upper}': unknown filter 'upper' (expected lower, "
      "last_segment, first_csv or before_colon)",
      -EINVAL },
    { "\"state\": [\"{id}\"]", "\"state\": []",
      "t.json: aws_widget: id: 'state' needs at least one template", -EINVAL },
    { "widget/{id}\"}", "widget/{id}\", \"colour\": 1}",
      "t.json: aws_widget: arn: unknown key 'colour'", -EINVAL },
    { "\"arn:{partition}:w:", "\"arn:aws:w:",
      "t.json: aws_widget: arn: template 'arn:aws:w:{region}:{account}:widget/{id}' must start "
      "with arn:{partition}:",
      -EINVAL },
    { "{\"attr\": \"name\", \"eq\": \"default\"}", "{\"attr\": \"nmae\", \"eq\": \"default\"}",
      "t.json: aws_widget: unmanaged_exclude[0]: condition on unknown attribute 'nmae'", -EINVAL },
    { "{\"attr\": \"name\", \"eq\": \"default\"}", "{\"attr\": \"name\", \"equals\": \"default\"}",
      "t.json: aws_widget: unmanaged_exclude[0]: unknown operator 'equals' (expected eq, ne, in, "
      "prefix, suffix, contains or exists)",
      -EINVAL },
    { "{\"attr\": \"name\", \"eq\": \"default\"}", "{\"parent\": \"excluded\"}",
      "t.json: aws_widget: unmanaged_exclude[0]: a 'parent' condition needs the type to declare "
      "a parent",
      -EINVAL },
    { "{\"attr\": \"name\", \"eq\": \"default\"}", "{\"attr\": \"@uuid\", \"eq\": \"x\"}",
      "t.json: aws_widget: unmanaged_exclude[0]: unknown resource field '@uuid' (expected @id, "
      "@arn, @region or @account)",
      -EINVAL },
    { "{\"attr\": \"name\", \"eq\": \"default\"}", "{\"attr\": \"name\", \"in\": \"default\"}",
      "t.json: aws_widget: unmanaged_exclude[0]: 'in' needs a list of values", -EINVAL },
    { "{\"attr\": \"name\", \"eq\": \"default\"}", "{\"all\": []}",
      "t.json: aws_widget: unmanaged_exclude[0]: 'all' must be a non-empty list of conditions",
      -EINVAL },
    { "\"scope\": \"regional\",\n  \"config\"", "\"scope\": \"zonal\",\n  \"config\"",
      "t.json: aws_widget: unknown scope 'zonal' (expected regional, global, region_singleton or "
      "account_singleton)",
      -EINVAL },
    { "\"collector\": \"collect_w\"", "\"collector\": null",
      "t.json: aws_widget: 'collector' is required (null for declared_only types)", -EINVAL },
    { "\"mirrors\": \"DescribeWidgets\"", "\"mirrors\": \"GetWidget\"",
      "t.json: aws_widget: config: mirrors GetWidget, which is not listed in operations", -EINVAL },
    { "\"type\": \"aws_widget_rule\"", "\"type\": \"aws_widget\"",
      "t.json: aws_widget: duplicate type", -EINVAL },
    { "\"aws_type\": null, \"service\": \"w\", \"collector\": null",
      "\"aws_type\": \"AWS::W::Widget\", \"service\": \"w\", \"collector\": null",
      "t.json: aws_widget_rule: aws_type AWS::W::Widget is already the aws_type of aws_widget",
      -EINVAL },
    { "\"match\": \"aws_widget\"", "\"match\": \"aws_gadget\"",
      "t.json: aws_widget_rule: id: match names unknown type aws_gadget", -EINVAL },
    { ", \"match\": \"aws_widget\"", "",
      "t.json: aws_widget_rule: id: declared_only types must name the type they 'match'", -EINVAL },
    { "\"type\": \"aws_widget_rule\"", "\"type\": \"plumb_widget_rule\"",
      "t.json: plumb_widget_rule: id: plumb_* types are not declared in Terraform: 'state' must "
      "be empty",
      -EINVAL },
    { "\"type\": \"aws_widget_rule\"", "\"type\": \"Widget\"",
      "t.json: types[1]: type 'Widget' must be aws_<name> or plumb_<name> in lower case", -EINVAL },
    { "\"inline\": \"rules\"", "\"inline\": \"rulez\"",
      "t.json: relations[0]: inline 'rulez' is not an attribute of aws_widget", -EINVAL },
    { "\"join\": \"widget\"", "\"join\": \"gadget\"",
      "t.json: relations[0]: separate[0]: join 'gadget' is not an attribute of aws_widget_rule",
      -EINVAL },
    { "{\"type\": \"aws_widget_rule\"}]",
      "{\"type\": \"aws_widget_rule\", \"when\": {\"attr\": "
      "\"direction\", \"eq\": \"in\"}}]",
      "t.json: relations[0]: separate[0]: condition on unknown attribute 'direction'", -EINVAL },
    { "\"collector\": \"collect_w\", \"scope\": \"regional\",",
      "\"collector\": \"collect_w\", \"scope\": \"regional\", \"declared_aliases\": "
      "[\"aws_widget_rule\"],",
      "t.json: aws_widget: declared alias aws_widget_rule is itself a type of the table", -EINVAL },
    { "\"config\": null, \"arn\": null",
      "\"config\": null, \"arn\": null, \"parent\": {\"type\": "
      "\"aws_gadget\", \"attr\": \"widget\"}",
      "t.json: aws_widget_rule: parent: unknown type aws_gadget", -EINVAL },
    { "\"from\": null, \"compare\": \"exact\"}}}",
      "\"from\": null, \"compare\": \"exact\", \"config\": \"configuration.x\"}}}",
      "t.json: aws_widget_rule: attribute widget: config path given but the type is not recorded "
      "by AWS Config",
      -EINVAL },
    { "\"name\": {\"kind\"", "\"Name\": {\"kind\"",
      "t.json: aws_widget: attribute Name: attribute names are lower-case letters, digits and '_'",
      -EINVAL },
    { "\"operations\": {\"DescribeWidgets\": \"Widgets[]\"},",
      "\"operations\": {\"DescribeWidgets\": \"Widgets[]\"}, \"filter\": {\"from\": "
      "\"DescribeWidgets:Kind\"},",
      "t.json: aws_widget: filter: needs 'from' and 'eq'", -EINVAL },
    { "\"operations\": {\"DescribeWidgets\": \"Widgets[]\"},",
      "\"operations\": {\"DescribeWidgets\": \"Widgets[]\", \"describeGadgets\": \"\"},",
      "t.json: aws_widget: operation 'describeGadgets' must be an API operation name", -EINVAL },
    { "\"state\": [\"{id}\"]", "\"state\": [\"{id}\"], \"region\": [\"{zone}\"]",
      "t.json: aws_widget: id: template '{zone}': unknown attribute 'zone'", -EINVAL },
    { "\"scope\": \"regional\", \"declared_only\": true, \"config\": null, \"arn\": null,\n"
      "  \"id\": {\"live\": \"none\", \"import\": \"x\", \"state\": [\"{widget}\"]",
      "\"scope\": \"global\", \"declared_only\": true, \"config\": null, \"arn\": null,\n"
      "  \"id\": {\"live\": \"none\", \"import\": \"x\", \"state\": [\"{widget}\"], \"region\": "
      "[\"{widget}\"]",
      "t.json: aws_widget_rule: id: 'region' makes no sense for a global type", -EINVAL },
    { "\"tags\": {\"kind\": \"map\"", "\"name\": {\"kind\": \"map\"",
      "t.json:12:9: duplicate object key near '\"name\"'", -EINVAL },
};

START_TEST(malformed_tables)
{
    for (size_t i = 0; i < ARRAY_SIZE(bad_tables); i++) {
        char *text = replace(base_table, bad_tables[i].from, bad_tables[i].to);
        struct typemap *tm = (struct typemap *)0x1;
        struct perr err = { 0 };
        int r = typemap_load_string(text, strlen(text), "t.json", &tm, &err);
        ck_assert_msg(r == bad_tables[i].code, "case %zu: got %d (%s)", i, r, err.msg);
        ck_assert_msg(str_eq(err.msg, bad_tables[i].msg), "case %zu:\n got  %s\n want %s", i,
                      err.msg, bad_tables[i].msg);
        ck_assert_ptr_eq(tm, (struct typemap *)0x1);
        free(text);
    }
}
END_TEST

START_TEST(malformed_inputs)
{
    struct typemap *tm = NULL;
    struct perr err = { 0 };
    ck_assert_int_eq(typemap_load_string("", 0, "e.json", &tm, &err), -EINVAL);
    ck_assert_str_eq(err.msg, "e.json:1:0: '[' or '{' expected near end of file");
    ck_assert_int_eq(typemap_load_string("[]", 2, "e.json", &tm, &err), -EINVAL);
    ck_assert_str_eq(err.msg, "e.json: the table must be a JSON object");
    ck_assert_int_eq(typemap_load_string("{\"format\": 1, \"types\": []}", 26, "e.json", &tm, &err),
                     -EINVAL);
    ck_assert_str_eq(err.msg, "e.json: 'types' must be a non-empty list");
    ck_assert_int_eq(typemap_load_string("{}", TYPEMAP_MAX_SIZE + 1, "big.json", &tm, &err),
                     -EFBIG);
    ck_assert_str_eq(err.msg, "big.json: larger than 8388608 bytes");
    ck_assert_ptr_null(tm);

    char *dir = tu_tmpdir();
    char *missing = tu_path_join(dir, "none.json");
    ck_assert_int_eq(typemap_load_file(missing, &tm, &err), -ENOENT);
    ck_assert(str_has_suffix(err.msg, "none.json: No such file or directory"));
    /* The same table from a file gives the same messages, named by path. */
    char *path = tu_path_join(dir, "t.json");
    char *text = replace(base_table, "\"exact\"},\n   \"rules\"", "\"exactly\"},\n   \"rules\"");
    tu_write_file(path, text);
    ck_assert_int_eq(typemap_load_file(path, &tm, &err), -EINVAL);
    ck_assert(strstr(err.msg, "t.json: aws_widget: attribute name: unknown compare 'exactly'"));
    tu_write_file(path, base_table);
    ck_assert_int_eq(typemap_load_file(path, &tm, &err), 0);
    ck_assert_uint_eq(typemap_count(tm), 2);
    typemap_free(tm);
    free(text);
    free(path);
    free(missing);
    tu_rmrf(dir);
    free(dir);
    ck_assert_ptr_null(typemap_free(NULL));
}
END_TEST

/* ---- controls and the generated index ----------------------------------- */

static void collect_controls(const struct typemap_attr *attrs, size_t n, json_t *seen,
                             const char *type, const char *prefix)
{
    for (size_t i = 0; i < n; i++) {
        char path[256];
        snprintf(path, sizeof(path), "%s%s%s", prefix, *prefix ? "." : "", attrs[i].name);
        for (char **c = attrs[i].controls; *c; c++) {
            json_t *list = json_object_get(seen, *c);
            if (!list) {
                list = json_array();
                json_object_set_new(seen, *c, list);
            }
            char *full = str_printf("%s.%s", type, path);
            json_array_append_new(list, json_string(full));
            free(full);
        }
        collect_controls(attrs[i].attrs, attrs[i].n_attrs, seen, type, path);
    }
}

/* Control ids from the catalogue's tables: "| id | title | ..." rows whose
 * id looks like area-name (the legend and parameter tables do not). */
static json_t *catalogue_ids(const char *text)
{
    json_t *ids = json_array();
    for (const char *line = text; line && *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        if (len > 4 && line[0] == '|' && line[1] == ' ') {
            size_t n = 0;
            while (n + 2 < len && (islower((unsigned char)line[2 + n]) ||
                                   isdigit((unsigned char)line[2 + n]) || line[2 + n] == '-'))
                n++;
            char id[64];
            if (n > 0 && n < sizeof(id) && memchr(line + 2, '-', n) && (line[2 + n] == ' ') &&
                line[2] != '-') {
                memcpy(id, line + 2, n);
                id[n] = '\0';
                json_array_append_new(ids, json_string(id));
            }
        }
        line = end ? end + 1 : NULL;
    }
    return ids;
}

START_TEST(every_control_reads_an_attribute)
{
    struct typemap *tm = load_embedded();
    char *path = tu_fixture("../reference/nis2-dora-controls.md");
    char *text = tu_read_file(path);
    json_t *ids = catalogue_ids(text);
    json_t *seen = json_object();
    for (size_t i = 0; i < typemap_count(tm); i++) {
        const struct typemap_type *t = typemap_type_at(tm, i);
        collect_controls(t->attrs, t->n_attrs, seen, t->type, "");
    }
    /* The catalogue says 63 controls. */
    ck_assert_uint_eq(json_array_size(ids), 63);
    size_t i;
    json_t *id;
    json_array_foreach (ids, i, id) {
        json_t *attrs = json_object_get(seen, json_string_value(id));
        ck_assert_msg(attrs && json_array_size(attrs) > 0, "control %s reads no attribute",
                      json_string_value(id));
        /* Each attribute named for a control resolves in its type. */
        size_t k;
        json_t *a;
        json_array_foreach (attrs, k, a) {
            const char *full = json_string_value(a);
            const char *dot = strchr(full, '.');
            char *type = str_ndup(full, (size_t)(dot - full));
            ck_assert_ptr_nonnull(typemap_attr(typemap_find(tm, type), dot + 1));
            free(type);
        }
    }
    /* No attribute names a control the catalogue does not have. */
    const char *key;
    json_t *v;
    json_object_foreach (seen, key, v) {
        bool found = false;
        json_array_foreach (ids, i, id)
            found = found || str_eq(json_string_value(id), key);
        ck_assert_msg(found, "%s is not a control of the catalogue (read by %s)", key,
                      json_string_value(json_array_get(v, 0)));
    }
    json_decref(seen);
    json_decref(ids);
    free(text);
    free(path);
    typemap_free(tm);
}
END_TEST

START_TEST(index_matches_the_table)
{
    char *tool = tu_srcpath("tools/typemap.py");
    char *json = tu_srcpath("lib/typemap.json");
    char *md = tu_srcpath("lib/typemap.md");
    char *controls = tu_fixture("../reference/nis2-dora-controls.md");
    const char *argv[] = { "python3", tool, "md", json, controls, NULL };
    char *out = NULL, *errs = NULL;
    int st = tu_run(argv, NULL, &out, &errs);
    ck_assert_msg(st == 0, "typemap.py md failed (%d): %s", st, errs);
    char *have = tu_read_file(md);
    ck_assert_msg(str_eq(out, have),
                  "lib/typemap.md is stale: run tools/typemap.py md lib/typemap.json "
                  "../shared/reference/nis2-dora-controls.md > lib/typemap.md");
    free(have);
    free(out);
    free(errs);
    free(controls);
    free(md);
    free(json);
    free(tool);
}
END_TEST

/* The embedded copy is the checked-in file. */
START_TEST(embedded_is_the_source_file)
{
    struct typemap *a = load_embedded(), *b = NULL;
    char *path = tu_srcpath("lib/typemap.json");
    struct perr err = { 0 };
    ck_assert_msg(typemap_load_file(path, &b, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(typemap_count(a), typemap_count(b));
    for (size_t i = 0; i < typemap_count(a); i++)
        ck_assert_str_eq(typemap_type_at(a, i)->type, typemap_type_at(b, i)->type);
    typemap_free(a);
    typemap_free(b);
    free(path);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("typemap");
    TCase *tc = tcase_create("table");
    tcase_add_test(tc, embedded_loads_with_every_required_type);
    tcase_add_test(tc, every_type_is_complete);
    tcase_add_test(tc, lookups);
    tcase_add_test(tc, embedded_is_the_source_file);
    tcase_add_test(tc, every_control_reads_an_attribute);
    tcase_add_test(tc, index_matches_the_table);
    suite_add_tcase(s, tc);

    tc = tcase_create("botocore");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, botocore_walker_rejects_bad_paths);
    tcase_add_test(tc, every_source_exists_in_botocore);
    suite_add_tcase(s, tc);

    tc = tcase_create("ids");
    tcase_add_test(tc, live_id_s3_full);
    tcase_add_test(tc, live_id_kms_db_trail_lb);
    tcase_add_test(tc, live_id_trail_from_arn);
    tcase_add_test(tc, live_id_security_group_rules);
    tcase_add_test(tc, live_id_every_fixture);
    tcase_add_test(tc, live_id_errors);
    tcase_add_test(tc, live_id_templates);
    suite_add_tcase(s, tc);

    tc = tcase_create("rules");
    tcase_add_test(tc, unmanaged_exclusions);
    tcase_add_test(tc, arn_parse);
    tcase_add_test(tc, arn_build);
    tcase_add_test(tc, declared_regions);
    suite_add_tcase(s, tc);

    tc = tcase_create("malformed");
    tcase_add_test(tc, base_table_is_valid);
    tcase_add_test(tc, malformed_tables);
    tcase_add_test(tc, malformed_inputs);
    suite_add_tcase(s, tc);

    remove("typemap-botocore-missing");
    int rc = tu_run_suite(s);
    if (rc == EXIT_SUCCESS && remove("typemap-botocore-missing") == 0) {
        printf("botocore service models not found: the 'from' check did not run\n");
        return TU_SKIP;
    }
    return rc;
}
