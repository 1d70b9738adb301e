#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "buf.h"
#include "testutil.h"
#include "tfstate.h"
#include "util.h"

/* ---- helpers ------------------------------------------------------------ */

static struct tfstate *load_ok(const char *path)
{
    struct tfstate *s = NULL;
    struct perr err = { 0 };
    int r = tfstate_load(path, NULL, &s, &err);
    ck_assert_msg(r == 0, "%s: %d %s", path, r, err.msg);
    ck_assert_ptr_nonnull(s);
    return s;
}

static struct tfstate *load_fixture(const char *rel)
{
    char *path = tu_fixture(rel);
    struct tfstate *s = load_ok(path);
    free(path);
    return s;
}

static struct tfstate *load_data(const char *rel)
{
    char *path = tu_srcpath(rel);
    struct tfstate *s = load_ok(path);
    free(path);
    return s;
}

static json_t *load_raw(const char *path)
{
    json_error_t jerr;
    json_t *j = json_load_file(path, 0, &jerr);
    ck_assert_msg(j != NULL, "%s: %s", path, jerr.text);
    return j;
}

static const struct tfstate_instance *find(const struct tfstate *s, const char *address,
                                           const char *deposed)
{
    for (size_t i = 0; i < s->n_instances; i++)
        if (str_eq(s->instances[i].address, address) && str_eq(s->instances[i].deposed, deposed))
            return &s->instances[i];
    ck_abort_msg("no instance %s (deposed %s)", address, deposed ? deposed : "-");
    return NULL;
}

static const char *attr_str(const struct tfstate_instance *inst, const char *key)
{
    return json_string_value(json_object_get(inst->attributes, key));
}

/* Parse an inline document and expect a failure with exactly this message. */
static void expect_error(const char *doc, int code, const char *msg)
{
    struct tfstate *s = NULL;
    struct perr err = { 0 };
    int r = tfstate_parse("t.tfstate", doc, strlen(doc), NULL, &s, &err);
    ck_assert_msg(r == code, "expected %d, got %d (%s) for %s", code, r, err.msg, doc);
    ck_assert_ptr_null(s);
    ck_assert_str_eq(err.msg, msg);
}

static struct tfstate *parse_inline(const char *doc)
{
    struct tfstate *s = NULL;
    struct perr err = { 0 };
    int r = tfstate_parse("t.tfstate", doc, strlen(doc), NULL, &s, &err);
    ck_assert_msg(r == 0, "%d %s for %s", r, err.msg, doc);
    return s;
}

static char *dump_state(const struct tfstate *s)
{
    json_t *j = tfstate_to_json(s);
    char *d;
    ck_assert_ptr_nonnull(j);
    d = json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT);
    json_decref(j);
    ck_assert_ptr_nonnull(d);
    return d;
}

/* Records keyed by address (+ deposed key), so that two states can be
 * compared regardless of the order Terraform wrote them in. */
static json_t *records_by_address(const struct tfstate *s)
{
    json_t *o = json_object();
    for (size_t i = 0; i < s->n_instances; i++) {
        const struct tfstate_instance *inst = &s->instances[i];
        char *key = str_printf("%s/%s", inst->address, inst->deposed ? inst->deposed : "");
        ck_assert_int_eq(json_object_set_new(o, key, tfstate_instance_to_json(inst)), 0);
        free(key);
    }
    return o;
}

/* ---- the whole fixture corpus ----------------------------------------- */

/* Files that must be refused, with the error and a fragment of the message.
 * Every other file below fixtures/tfstate/ (except SOURCES.md) must parse. */
static const struct {
    const char *rel;
    int code;
    const char *fragment;
} rejected[] = {
    { "driftctl/version-checks/invalid.tfstate", -EINVAL, ":16:10: not valid JSON: " },
    { "terraform-v1.5.7/show-corrupt-statefile.tfstate", -EINVAL, ":1:7: not valid JSON: " },
    { "terraform-v1.5.7/show-json-state-empty.tfstate", -ENODATA,
      ": the file is empty, expected a Terraform state (JSON)" },
    { "inframap/invalid_version_state.json", -EPROTONOSUPPORT,
      ": Terraform state format 2 (written by Terraform 0.11 or older) is not supported; run "
      "`terraform init && terraform apply -refresh-only`" },
    { "inframap/empty.json", -EPROTONOSUPPORT, ": Terraform state format 3 (written by" },
    { "inframap/version_3_state.json", -EPROTONOSUPPORT, ": Terraform state format 3 (written by" },
    { "terraform-v1.5.7/statefile-roundtrip/v1-simple.in.tfstate", -EPROTONOSUPPORT,
      ": Terraform state format 1 (written by" },
    /* This one also holds an integer beyond 64 bits: the format is still
     * what gets reported. */
    { "terraform-v1.5.7/statefile-roundtrip/v3-bigint.in.tfstate", -EPROTONOSUPPORT,
      ": Terraform state format 3 (written by" },
    { "terraform-v1.5.7/statefile-roundtrip/v3-builtin.in.tfstate", -EPROTONOSUPPORT,
      ": Terraform state format 3 (written by" },
    { "terraform-v1.5.7/statefile-roundtrip/v3-grabbag.in.tfstate", -EPROTONOSUPPORT,
      ": Terraform state format 3 (written by" },
    { "terraform-v1.5.7/statefile-roundtrip/v3-invalid-depends.in.tfstate", -EPROTONOSUPPORT,
      ": Terraform state format 3 (written by" },
    { "terraform-v1.5.7/statefile-roundtrip/v3-simple.in.tfstate", -EPROTONOSUPPORT,
      ": Terraform state format 3 (written by" },
    { "opentofu/init-encryption-with-state.tfstate", -EPROTONOSUPPORT,
      ": the state is encrypted with OpenTofu state encryption; plumb needs a plaintext state" },
};

static void walk(const char *root, const char *rel, char ***files)
{
    char *dir = rel ? tu_path_join(root, rel) : strdup(root);
    DIR *d = opendir(dir);
    struct dirent *de;

    ck_assert_msg(d != NULL, "%s: %s", dir, strerror(errno));
    while ((de = readdir(d))) {
        char *sub, *full;
        struct stat st;
        if (str_eq(de->d_name, ".") || str_eq(de->d_name, ".."))
            continue;
        sub = rel ? str_printf("%s/%s", rel, de->d_name) : strdup(de->d_name);
        full = tu_path_join(root, sub);
        ck_assert_int_eq(lstat(full, &st), 0);
        if (S_ISDIR(st.st_mode))
            walk(root, sub, files);
        else
            ck_assert_int_eq(strv_push(files, sub), 0);
        free(sub);
        free(full);
    }
    closedir(d);
    free(dir);
}

/* Structural facts checked against the raw JSON for every parsed file:
 * one record per instance object, in order, with the resource's type, name,
 * mode and module, an address built from them, and an attributes object. */
static void check_against_raw(const char *path, const struct tfstate *s)
{
    json_t *raw = load_raw(path), *res = json_object_get(raw, "resources"), *r, *i;
    size_t ri, ii, k = 0;

    ck_assert_uint_eq(s->version, 4);
    ck_assert_uint_eq(s->n_resources, json_array_size(res));
    json_array_foreach (res, ri, r) {
        const char *module = json_string_value(json_object_get(r, "module"));
        bool data = str_eq(json_string_value(json_object_get(r, "mode")), "data");
        char *tail = str_printf("%s%s.%s", data ? "data." : "",
                                json_string_value(json_object_get(r, "type")),
                                json_string_value(json_object_get(r, "name")));
        json_array_foreach (json_object_get(r, "instances"), ii, i) {
            const struct tfstate_instance *inst;
            json_t *key = json_object_get(i, "index_key");
            char *prefix = module && *module ? str_printf("%s.%s", module, tail) : strdup(tail);
            ck_assert_msg(k < s->n_instances, "%s: fewer records than instances", path);
            inst = &s->instances[k++];
            ck_assert_str_eq(inst->type, json_string_value(json_object_get(r, "type")));
            ck_assert_str_eq(inst->name, json_string_value(json_object_get(r, "name")));
            ck_assert_str_eq(inst->module, module ? module : "");
            ck_assert_int_eq(inst->mode, data ? TFSTATE_DATA : TFSTATE_MANAGED);
            ck_assert_msg(str_has_prefix(inst->address, prefix), "%s: %s does not start with %s",
                          path, inst->address, prefix);
            if (json_is_integer(key)) {
                char *want = str_printf("%s[%lld]", prefix, (long long)json_integer_value(key));
                ck_assert_int_eq(inst->key_kind, TFSTATE_KEY_INT);
                ck_assert_int_eq(inst->index_int, json_integer_value(key));
                ck_assert_str_eq(inst->address, want);
                free(want);
            } else if (json_is_string(key)) {
                ck_assert_int_eq(inst->key_kind, TFSTATE_KEY_STRING);
                ck_assert_str_eq(inst->index_str, json_string_value(key));
                ck_assert(str_has_suffix(inst->address, "\"]"));
            } else {
                ck_assert_int_eq(inst->key_kind, TFSTATE_KEY_NONE);
                ck_assert_str_eq(inst->address, prefix);
            }
            ck_assert(json_is_object(inst->attributes));
            if (json_object_get(r, "provider"))
                ck_assert_msg(str_has_prefix(inst->provider, "registry.terraform.io/") ||
                                  str_has_prefix(inst->provider, "terraform.io/builtin/"),
                              "%s: %s: provider %s", path, inst->address, inst->provider);
            free(prefix);
        }
        free(tail);
    }
    ck_assert_uint_eq(k, s->n_instances);
    json_decref(raw);
}

START_TEST(fixture_corpus)
{
    char *root = tu_fixture("tfstate"), **files = NULL, *out = NULL;
    const char *argv[] = { "find", root, "-type", "f", NULL };
    size_t on_disk = 0, parsed = 0, refused = 0, sources = 0;
    bool seen[ARRAY_SIZE(rejected)] = { false };

    /* Count the files independently of the walk below. */
    ck_assert_int_eq(tu_run(argv, NULL, &out, NULL), 0);
    for (const char *p = out; *p; p++)
        on_disk += *p == '\n';
    free(out);

    files = strv_new();
    walk(root, NULL, &files);
    ck_assert_uint_eq(strv_length(files), on_disk);
    for (size_t f = 0; files[f]; f++) {
        char *path = tu_path_join(root, files[f]);
        struct tfstate *s = NULL;
        struct perr err = { 0 };
        size_t t;
        int r;

        if (str_eq(files[f], "SOURCES.md")) {
            sources++;
            free(path);
            continue;
        }
        r = tfstate_load(path, NULL, &s, &err);
        for (t = 0; t < ARRAY_SIZE(rejected); t++)
            if (str_eq(files[f], rejected[t].rel))
                break;
        if (t < ARRAY_SIZE(rejected)) {
            ck_assert_msg(r == rejected[t].code, "%s: expected %d, got %d (%s)", files[f],
                          rejected[t].code, r, err.msg);
            ck_assert_ptr_null(s);
            ck_assert_msg(str_has_prefix(err.msg, path), "%s: message does not name the file: %s",
                          files[f], err.msg);
            ck_assert_msg(strstr(err.msg, rejected[t].fragment), "%s: %s", files[f], err.msg);
            ck_assert_ptr_null(strchr(err.msg, '\n'));
            seen[t] = true;
            refused++;
        } else {
            ck_assert_msg(r == 0, "%s: %d %s", files[f], r, err.msg);
            check_against_raw(path, s);
            tfstate_free(s);
            parsed++;
        }
        free(path);
    }
    for (size_t t = 0; t < ARRAY_SIZE(rejected); t++)
        ck_assert_msg(seen[t], "rejected-table entry %s not found on disk", rejected[t].rel);
    ck_assert_uint_eq(sources, 1);
    ck_assert_uint_eq(parsed + refused + sources, on_disk);
    ck_assert_uint_eq(refused, ARRAY_SIZE(rejected));
    strv_free(files);
    free(root);
}
END_TEST

START_TEST(count_and_for_each)
{
    struct tfstate *s = load_fixture("tfstate/driftctl/aws_iam_access_key_multiple.tfstate");
    const struct tfstate_instance *k1 = find(s, "aws_iam_access_key.key[1]", NULL);
    ck_assert_int_eq(k1->key_kind, TFSTATE_KEY_INT);
    ck_assert_int_eq(k1->index_int, 1);
    ck_assert_ptr_null(k1->index_str);
    tfstate_free(s);

    s = load_fixture("tfstate/tfstate-lookup/terraform.tfstate");
    k1 = find(s, "module.logs.aws_cloudwatch_log_group.main[\"web\"]", NULL);
    ck_assert_int_eq(k1->key_kind, TFSTATE_KEY_STRING);
    ck_assert_str_eq(k1->index_str, "web");
    ck_assert_str_eq(k1->module, "module.logs");
    /* for_each keys with dots stay whole. */
    k1 = find(s, "aws_iam_user.users[\"foo.bar\"]", NULL);
    ck_assert_str_eq(k1->index_str, "foo.bar");
    k1 = find(s, "data.aws_lb_target_group.app[\"dev2\"]", NULL);
    ck_assert_int_eq(k1->mode, TFSTATE_DATA);
    k1 = find(s, "module.webapp.module.ecs_task_roles.aws_iam_role.task_execution_role", NULL);
    ck_assert_str_eq(k1->module, "module.webapp.module.ecs_task_roles");
    tfstate_free(s);
}
END_TEST

START_TEST(nested_and_counted_modules)
{
    struct tfstate *s = load_fixture("tfstate/terraform-v1.5.7/state-list-nested-modules.tfstate");
    const struct tfstate_instance *i =
        find(s, "module.nest.module.subnest.test_instance.subnest", NULL);
    ck_assert_str_eq(i->module, "module.nest.module.subnest");
    ck_assert_str_eq(tfstate_instance_id(i), "subnested");
    tfstate_free(s);

    s = load_fixture("tfstate/inframap/repeated_modules.json");
    i = find(s, "module.ec2_ubuntu_a[1].aws_instance.this[0]", NULL);
    ck_assert_str_eq(i->module, "module.ec2_ubuntu_a[1]");
    i = find(s, "module.ec2_openvpn.module.bastion_sg.aws_security_group.this_name_prefix[0]",
             NULL);
    ck_assert_str_eq(i->module, "module.ec2_openvpn.module.bastion_sg");
    tfstate_free(s);
}
END_TEST

START_TEST(data_sources)
{
    struct tfstate *s = load_fixture("tfstate/driftctl/data_source.tfstate");
    const struct tfstate_instance *i = find(s, "data.aws_ami.ubuntu", NULL);
    ck_assert_int_eq(i->mode, TFSTATE_DATA);
    ck_assert_str_eq(i->type, "aws_ami");
    ck_assert_str_eq(tfstate_mode_name(i->mode), "data");
    tfstate_free(s);
}
END_TEST

START_TEST(legacy_providers)
{
    char *path = tu_fixture("tfstate/driftctl/aws_db_instance.tfstate");
    json_t *raw = load_raw(path);
    struct tfstate *s = load_ok(path);
    const char *written = json_string_value(
        json_object_get(json_array_get(json_object_get(raw, "resources"), 0), "provider"));

    ck_assert_str_eq(written, "provider.aws");
    ck_assert_str_eq(s->instances[0].provider_config, written);
    ck_assert_str_eq(s->instances[0].provider, "registry.terraform.io/hashicorp/aws");
    ck_assert_ptr_null(s->instances[0].provider_alias);
    tfstate_free(s);
    json_decref(raw);
    free(path);

    /* "provider. null" (a stray blank) and the builtin terraform provider. */
    s = load_fixture("tfstate/terraform-v1.5.7/statefile-roundtrip/v4-legacy-modules.in.tfstate");
    ck_assert_str_eq(find(s, "module.modB.null_resource.bar[\"a\"]", NULL)->provider,
                     "registry.terraform.io/hashicorp/null");
    tfstate_free(s);
    s = load_fixture("tfstate/terraform-v1.5.7/statefile-roundtrip/v4-legacy-simple.in.tfstate");
    ck_assert_str_eq(find(s, "data.terraform_remote_state.random", NULL)->provider,
                     "terraform.io/builtin/terraform");
    tfstate_free(s);
    /* Other namespaces are kept. */
    s = load_fixture("tfstate/inframap/multi_module_state.json");
    ck_assert_str_eq(s->instances[0].provider, "registry.terraform.io/scaleway/scaleway");
    tfstate_free(s);
}
END_TEST

/* The legacy flatmap, checked against the values in the file itself. */
START_TEST(attributes_flat_fixtures)
{
    char *path = tu_fixture("tfstate/terraform-v1.5.7/statefile-roundtrip/v3-builtin.out.tfstate");
    json_t *raw = load_raw(path), *flat, *config, *ws;
    struct tfstate *s = load_ok(path);
    const struct tfstate_instance *i = find(s, "data.terraform_remote_state.test", NULL);

    flat = json_object_get(
        json_array_get(json_object_get(json_array_get(json_object_get(raw, "resource"
                                                                           "s"),
                                                      0),
                                       "instances"),
                       0),
        "attributes_flat");
    ck_assert(json_is_object(flat));
    config = json_object_get(i->attributes, "config");
    ck_assert(json_is_array(config));
    ck_assert_uint_eq(json_array_size(config), 1);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(config, 0), "organization")),
                     json_string_value(json_object_get(flat, "config.345861710.organization")));
    ws = json_object_get(json_array_get(config, 0), "workspaces");
    ck_assert_uint_eq(json_array_size(ws), 1);
    ck_assert_str_eq(
        json_string_value(json_object_get(json_array_get(ws, 0), "name")),
        json_string_value(json_object_get(flat, "config.345861710.workspaces.0.name")));
    ck_assert_str_eq(attr_str(i, "backend"), json_string_value(json_object_get(flat, "backend")));
    /* Every flat key that is not a marker or nested maps to one value. */
    ck_assert_uint_eq(json_object_size(i->attributes), 5);
    tfstate_free(s);
    json_decref(raw);
    free(path);

    path = tu_fixture("tfstate/inframap/flexibleengine_state_tf_011.json");
    raw = load_raw(path);
    s = load_ok(path);
    i = find(s, "flexibleengine_networking_port_v2.Maycs", NULL);
    flat = NULL;
    {
        json_t *r;
        size_t ri;
        json_array_foreach (json_object_get(raw, "resources"), ri, r)
            if (str_eq(json_string_value(json_object_get(r, "name")), "Maycs"))
                flat = json_object_get(json_array_get(json_object_get(r, "instances"), 0),
                                       "attributes_flat");
    }
    ck_assert_ptr_nonnull(flat);
    ck_assert_uint_eq(json_array_size(json_object_get(i->attributes, "security_group_ids")), 1);
    ck_assert_str_eq(
        json_string_value(json_array_get(json_object_get(i->attributes, "security_group_ids"), 0)),
        json_string_value(json_object_get(flat, "security_group_ids.3535293312")));
    tfstate_free(s);
    json_decref(raw);
    free(path);
}
END_TEST

START_TEST(sensitive_fixture)
{
    char *path = tu_fixture("tfstate/terraform-v1.5.7/show-json-state-sensitive-variables.tfstate");
    json_t *raw = load_raw(path);
    struct tfstate *s = load_ok(path);
    const char *secret = json_string_value(json_object_get(
        json_object_get(
            json_array_get(json_object_get(json_array_get(json_object_get(raw, "resource"
                                                                               "s"),
                                                          0),
                                           "instances"),
                           0),
            "attributes"),
        "ami"));
    const struct tfstate_instance *i = find(s, "test_instance.test", NULL);
    char *quoted = str_printf("\"%s\"", secret), *dump = dump_state(s);

    ck_assert_ptr_nonnull(secret);
    ck_assert_str_eq(attr_str(i, "ami"), TFSTATE_SENSITIVE_MARKER);
    ck_assert_uint_eq(strv_length(i->sensitive), 1);
    ck_assert_str_eq(i->sensitive[0], "ami");
    ck_assert_msg(strstr(dump, quoted) == NULL, "secret %s in %s", quoted, dump);
    ck_assert_ptr_nonnull(strstr(dump, "\"ami\":\"(sensitive)\""));
    free(dump);
    free(quoted);
    tfstate_free(s);
    json_decref(raw);
    free(path);
}
END_TEST

START_TEST(large_state)
{
    char *path = tu_fixture("tfstate/inframap/large-canonicals.tfstate");
    json_t *raw = load_raw(path), *r;
    struct tfstate *s = load_ok(path);
    size_t n = 0, ri;

    json_array_foreach (json_object_get(raw, "resources"), ri, r)
        n += json_array_size(json_object_get(r, "instances"));
    ck_assert_uint_eq(s->n_resources, 318);
    ck_assert_uint_eq(s->n_instances, n);
    tfstate_free(s);
    json_decref(raw);
    free(path);
}
END_TEST

START_TEST(terraform_versions_verbatim)
{
    static const char *files[] = {
        "tfstate/terraform-v1.5.7/statefile-roundtrip/v4-future.in.tfstate",
        "tfstate/driftctl/version-checks/invalid_version.tfstate",
        "tfstate/driftctl/version-checks/unsupported_version.tfstate",
        "tfstate/terraform-v1.5.7/show-json-conditions-for-refresh.tfstate",
    };
    for (size_t f = 0; f < ARRAY_SIZE(files); f++) {
        char *path = tu_fixture(files[f]);
        json_t *raw = load_raw(path);
        struct tfstate *s = load_ok(path);
        ck_assert_str_eq(s->terraform_version,
                         json_string_value(json_object_get(raw, "terraform_version")));
        ck_assert_uint_eq(s->serial, json_integer_value(json_object_get(raw, "serial")));
        ck_assert_str_eq(s->lineage, json_string_value(json_object_get(raw, "lineage")));
        tfstate_free(s);
        json_decref(raw);
        free(path);
    }
    /* The misspelt key in this file leaves the version unknown; the
     * instance has no id. */
    {
        struct tfstate *s = load_fixture("tfstate/inframap/error_missing_id.json");
        ck_assert_ptr_null(s->terraform_version);
        ck_assert_ptr_null(tfstate_instance_id(&s->instances[0]));
        tfstate_free(s);
    }
}
END_TEST

/* Pairs that Terraform's roundtrip tests (and SOURCES.md) say are the same
 * state: the legacy .in files and the .out files Terraform wrote for them,
 * and byte-identical or version-only variants. */
START_TEST(roundtrip_pairs)
{
    static const char *pairs[][2] = {
        { "v4-legacy-simple.in.tfstate", "v4-legacy-simple.out.tfstate" },
        { "v4-legacy-modules.in.tfstate", "v4-legacy-modules.out.tfstate" },
        { "v4-legacy-foreach.in.tfstate", "v4-legacy-foreach.out.tfstate" },
        { "v4-modules.in.tfstate", "v4-legacy-modules.out.tfstate" },
        { "v4-foreach.in.tfstate", "v4-legacy-foreach.out.tfstate" },
        { "v4-simple.in.tfstate", "v4-future.in.tfstate" },
        { "v3-bigint.out.tfstate", "v3-grabbag.out.tfstate" },
    };
    for (size_t p = 0; p < ARRAY_SIZE(pairs); p++) {
        char *a = str_printf("tfstate/terraform-v1.5.7/statefile-roundtrip/%s", pairs[p][0]);
        char *b = str_printf("tfstate/terraform-v1.5.7/statefile-roundtrip/%s", pairs[p][1]);
        struct tfstate *sa = load_fixture(a), *sb = load_fixture(b);
        json_t *ja = records_by_address(sa), *jb = records_by_address(sb);
        ck_assert_uint_gt(json_object_size(ja), 0);
        ck_assert_msg(json_equal(ja, jb), "%s and %s differ", pairs[p][0], pairs[p][1]);
        json_decref(ja);
        json_decref(jb);
        tfstate_free(sa);
        tfstate_free(sb);
        free(a);
        free(b);
    }
}
END_TEST

/* ---- hand-written fixtures (tests/data/tfstate/) -------------------------- */

START_TEST(tainted)
{
    struct tfstate *s = load_data("tests/data/tfstate/tainted.tfstate");
    const struct tfstate_instance *web = find(s, "aws_instance.web", NULL);
    const struct tfstate_instance *sg = find(s, "aws_security_group.web", NULL);
    ck_assert(web->tainted);
    ck_assert(!sg->tainted);
    ck_assert_int_eq(web->schema_version, 1);
    ck_assert_str_eq(web->provider, "registry.terraform.io/hashicorp/aws");
    ck_assert_str_eq(web->provider_alias, "eu");
    ck_assert_ptr_null(sg->provider_alias);
    ck_assert_uint_eq(strv_length(web->dependencies), 1);
    ck_assert_str_eq(web->dependencies[0], "aws_security_group.web");
    tfstate_free(s);
}
END_TEST

START_TEST(deposed)
{
    struct tfstate *s = load_data("tests/data/tfstate/deposed.tfstate");
    const struct tfstate_instance *cur = find(s, "aws_launch_template.app", NULL);
    const struct tfstate_instance *d1 = find(s, "aws_launch_template.app", "6e8d4f1a");
    const struct tfstate_instance *d2 = find(s, "aws_launch_template.app", "00c0ffee");
    json_t *j;

    ck_assert_uint_eq(s->n_instances, 3);
    ck_assert_uint_eq(s->n_resources, 1);
    ck_assert(!cur->tainted && d1->tainted && !d2->tainted);
    ck_assert(cur->create_before_destroy && d1->create_before_destroy);
    ck_assert_str_eq(tfstate_instance_id(cur), "lt-0fedcba9876543210");
    ck_assert_str_ne(tfstate_instance_id(d1), tfstate_instance_id(cur));
    j = tfstate_instance_to_json(d1);
    ck_assert_str_eq(json_string_value(json_object_get(j, "deposed")), "6e8d4f1a");
    ck_assert(json_is_true(json_object_get(j, "tainted")));
    ck_assert_ptr_null(json_object_get(j, "index_key"));
    json_decref(j);
    j = tfstate_instance_to_json(cur);
    ck_assert_ptr_null(json_object_get(j, "deposed"));
    json_decref(j);
    tfstate_free(s);
}
END_TEST

START_TEST(string_keyed_modules)
{
    struct tfstate *s = load_data("tests/data/tfstate/module-string-keys.tfstate");
    const struct tfstate_instance *i =
        find(s, "module.net[\"eu\"].module.sg[0].aws_security_group.web[\"x\"]", NULL);
    ck_assert_str_eq(i->module, "module.net[\"eu\"].module.sg[0]");
    ck_assert_str_eq(i->index_str, "x");
    ck_assert_str_eq(i->provider, "registry.terraform.io/hashicorp/aws");
    ck_assert_str_eq(i->provider_alias, "eu");
    i = find(s, "module.net[\"eu\"].module.sg[0].aws_security_group.web[\"say \\\"hi\\\"\"]", NULL);
    ck_assert_str_eq(i->index_str, "say \"hi\"");
    i = find(s, "module.x[\"k\"].data.aws_iam_policy_document.assume", NULL);
    ck_assert_int_eq(i->mode, TFSTATE_DATA);
    i = find(s, "module.x[\"k\"].aws_iam_role.this[0]", NULL);
    ck_assert_str_eq(i->dependencies[0], "module.x.data.aws_iam_policy_document.assume");
    tfstate_free(s);
}
END_TEST

START_TEST(check_results_and_unknown_keys)
{
    struct tfstate *s = load_data("tests/data/tfstate/check-results.tfstate");
    const struct tfstate_instance *i = find(s, "aws_s3_bucket.logs", NULL);
    ck_assert_str_eq(s->terraform_version, "1.12.1");
    ck_assert_str_eq(tfstate_instance_id(i), "acme-logs");
    /* identity is not an attribute. */
    ck_assert_ptr_null(json_object_get(i->attributes, "identity"));
    tfstate_free(s);
}
END_TEST

START_TEST(attributes_flat_rules)
{
    struct tfstate *s = load_data("tests/data/tfstate/attributes-flat.tfstate");
    const struct tfstate_instance *i = find(s, "aws_security_group.legacy", NULL);
    json_t *a = i->attributes, *ingress = json_object_get(a, "ingress"), *e;

    ck_assert_str_eq(i->provider, "registry.terraform.io/hashicorp/aws");
    ck_assert_str_eq(i->provider_alias, "west");
    /* A set keyed by hash codes: ordered by the numeric hash. */
    ck_assert_uint_eq(json_array_size(ingress), 2);
    e = json_array_get(ingress, 0);
    ck_assert_str_eq(json_string_value(json_object_get(e, "from_port")), "22");
    /* A list keeps its index order whatever the key order in the file. */
    ck_assert_str_eq(json_string_value(json_array_get(json_object_get(e, "cidr_blocks"), 0)),
                     "10.0.0.0/8");
    ck_assert_str_eq(json_string_value(json_array_get(json_object_get(e, "cidr_blocks"), 1)),
                     "192.168.0.0/16");
    e = json_array_get(ingress, 1);
    ck_assert_str_eq(json_string_value(json_object_get(e, "to_port")), "443");
    /* Empty list and map. */
    ck_assert(json_is_array(json_object_get(a, "egress")));
    ck_assert_uint_eq(json_array_size(json_object_get(a, "egress")), 0);
    ck_assert(json_is_object(json_object_get(a, "timeouts")));
    ck_assert_uint_eq(json_object_size(json_object_get(a, "timeouts")), 0);
    /* A map whose count matches: keys taken whole, dots included. */
    ck_assert_str_eq(json_string_value(
                         json_object_get(json_object_get(a, "tags"), "kubernetes.io/cluster/main")),
                     "owned");
    ck_assert_uint_eq(json_object_size(json_object_get(a, "tags")), 2);
    /* A map whose count does not match: split further into objects. */
    e = json_object_get(json_object_get(a, "lifecycle"), "rule");
    ck_assert_str_eq(json_string_value(json_object_get(e, "days")), "30");
    ck_assert_str_eq(json_string_value(json_object_get(e, "enabled")), "true");
    /* A list of lists. */
    e = json_array_get(json_object_get(a, "nested"), 0);
    ck_assert(json_is_array(e));
    ck_assert_str_eq(json_string_value(json_array_get(e, 1)), "second");
    /* dependencies and depends_on merged without duplicates. */
    ck_assert_uint_eq(strv_length(i->dependencies), 2);
    ck_assert_str_eq(i->dependencies[0], "aws_vpc.main");
    ck_assert_str_eq(i->dependencies[1], "aws_subnet.a");
    tfstate_free(s);
}
END_TEST

START_TEST(sensitive_masking)
{
    char *path = tu_srcpath("tests/data/tfstate/sensitive.tfstate");
    char *text = tu_read_file(path);
    struct tfstate *s = load_ok(path);
    const struct tfstate_instance *db = find(s, "aws_db_instance.main", NULL);
    const struct tfstate_instance *x = find(s, "test_complex.x", NULL);
    const struct tfstate_instance *y = find(s, "test_whole.y", NULL);
    static const char *want[] = {
        "settings[0].secret", "tags[\"Api-Key\"]", "block", "rules", "nothing",
        "not_there",          "settings[5]",       "pin",   "opaque"
    };
    char *dump;

    /* The fixture marks every secret with "s3cr3t"; make sure it does. */
    ck_assert_ptr_nonnull(strstr(text, "s3cr3t-db-password"));
    ck_assert_str_eq(attr_str(db, "password"), TFSTATE_SENSITIVE_MARKER);
    ck_assert_str_eq(attr_str(db, "username"), "admin");
    ck_assert(json_is_true(json_object_get(db->attributes, "storage_encrypted")));

    ck_assert_uint_eq(strv_length(x->sensitive), ARRAY_SIZE(want));
    for (size_t k = 0; k < ARRAY_SIZE(want); k++)
        ck_assert_str_eq(x->sensitive[k], want[k]);
    ck_assert_str_eq(json_string_value(json_object_get(
                         json_array_get(json_object_get(x->attributes, "settings"), 0), "secret")),
                     TFSTATE_SENSITIVE_MARKER);
    ck_assert_str_eq(json_string_value(json_object_get(
                         json_array_get(json_object_get(x->attributes, "settings"), 0), "name")),
                     "a");
    ck_assert_str_eq(
        json_string_value(json_object_get(json_object_get(x->attributes, "tags"), "Api-Key")),
        TFSTATE_SENSITIVE_MARKER);
    ck_assert_str_eq(
        json_string_value(json_object_get(json_object_get(x->attributes, "tags"), "Name")), "x");
    ck_assert_str_eq(attr_str(x, "block"), TFSTATE_SENSITIVE_MARKER);
    ck_assert_str_eq(attr_str(x, "rules"), TFSTATE_SENSITIVE_MARKER);
    ck_assert_str_eq(attr_str(x, "pin"), TFSTATE_SENSITIVE_MARKER);
    ck_assert_str_eq(attr_str(x, "opaque"), TFSTATE_SENSITIVE_MARKER);
    ck_assert(json_is_null(json_object_get(x->attributes, "nothing")));
    ck_assert_ptr_null(json_object_get(x->attributes, "not_there"));

    /* An empty path: the whole object is sensitive. */
    ck_assert_uint_eq(strv_length(y->sensitive), 2);
    ck_assert_str_eq(attr_str(y, "key"), TFSTATE_SENSITIVE_MARKER);
    ck_assert(json_is_null(json_object_get(y->attributes, "empty")));

    /* No secret (nor the sensitive output) survives in what is handed out. */
    dump = dump_state(s);
    ck_assert_msg(strstr(dump, "s3cr3t") == NULL, "%s", dump);
    ck_assert_ptr_null(strstr(dump, "8443"));
    free(dump);
    for (size_t k = 0; k < s->n_instances; k++) {
        char *a = json_dumps(s->instances[k].attributes, JSON_COMPACT);
        ck_assert_ptr_null(strstr(a, "s3cr3t"));
        free(a);
    }
    tfstate_free(s);
    free(text);
    free(path);
}
END_TEST

/* ---- inline documents: each error message, exactly -------------------- */

#define RES(body) "{\"version\":4,\"resources\":[" body "]}"
#define AWS       "\"provider\":\"provider[\\\"registry.terraform.io/hashicorp/aws\\\"]\""

START_TEST(bad_documents)
{
    expect_error("", -ENODATA, "t.tfstate: the file is empty, expected a Terraform state (JSON)");
    expect_error(" \n\t", -ENODATA,
                 "t.tfstate: the file is empty, expected a Terraform state (JSON)");
    expect_error("{\"version\": 4,", -EINVAL,
                 "t.tfstate:1:14: not valid JSON: string or '}' expected near end of file");
    expect_error("[]", -EINVAL,
                 "t.tfstate: not a Terraform state: the JSON document is an array, expected an "
                 "object");
    expect_error("{}", -EINVAL,
                 "t.tfstate: not a Terraform state: the JSON object has no \"version\" key");
    expect_error("{\"version\":\"4\"}", -EINVAL,
                 "t.tfstate: not a Terraform state: \"version\" is not an integer");
    expect_error("{\"version\":4.5}", -EINVAL,
                 "t.tfstate: not a Terraform state: \"version\" is not an integer");
    expect_error("{\"version\":0}", -EINVAL,
                 "t.tfstate: not a Terraform state: unknown state format 0");
    expect_error("{\"version\":5,\"resources\":[]}", -EPROTONOSUPPORT,
                 "t.tfstate: Terraform state format 5 is newer than this plumb understands (it "
                 "reads format 4); upgrade plumb");
    expect_error("{\"version\":3,\"modules\":[]}", -EPROTONOSUPPORT,
                 "t.tfstate: Terraform state format 3 (written by Terraform 0.11 or older) is not "
                 "supported; run `terraform init && terraform apply -refresh-only` (`terraform "
                 "refresh` before 0.15.4) with Terraform 0.12 or newer to upgrade it to format 4");
    expect_error("{\"encryption_version\":\"v0\",\"encrypted_data\":\"eA==\"}", -EPROTONOSUPPORT,
                 "t.tfstate: the state is encrypted with OpenTofu state encryption; plumb needs a "
                 "plaintext state: export one with `tofu state pull` (with the encryption key "
                 "configured) or point plumb at a state source it can read unencrypted");
    expect_error("{\"version\":4,\"serial\":-1}", -EINVAL,
                 "t.tfstate: \"serial\" is not a non-negative integer");
    expect_error("{\"version\":4,\"terraform_version\":1}", -EINVAL,
                 "t.tfstate: \"terraform_version\" is a number, expected a string");
    expect_error("{\"version\":4,\"resources\":{}}", -EINVAL,
                 "t.tfstate: \"resources\" is an object, expected a list");
}
END_TEST

START_TEST(bad_resources)
{
    expect_error(RES("1"), -EINVAL, "t.tfstate: resources[0] is a number, expected an object");
    expect_error(RES("{\"mode\":\"managed\",\"name\":\"a\",\"instances\":[]}"), -EINVAL,
                 "t.tfstate: resources[0] has no \"type\"");
    expect_error(RES("{\"mode\":\"managed\",\"type\":\"aws_vpc\",\"instances\":[]}"), -EINVAL,
                 "t.tfstate: resources[0] (aws_vpc) has no \"name\"");
    expect_error(RES("{\"mode\":\"managed\",\"type\":7,\"name\":\"a\",\"instances\":[]}"), -EINVAL,
                 "t.tfstate: resources[0]: \"type\" is a number, expected a string");
    expect_error(RES("{\"mode\":\"ephemeral\",\"type\":\"aws_vpc\",\"name\":\"a\","
                     "\"instances\":[]}"),
                 -EINVAL,
                 "t.tfstate: resources[0] (aws_vpc.a) has mode \"ephemeral\", expected \"managed\" "
                 "or \"data\"");
    expect_error(RES("{\"type\":\"aws_vpc\",\"name\":\"a\",\"instances\":[]}"), -EINVAL,
                 "t.tfstate: resources[0] (aws_vpc.a) has mode \"\", expected \"managed\" or "
                 "\"data\"");
    expect_error(
        RES("{\"module\":\"module.a[x]\",\"mode\":\"managed\",\"type\":\"aws_vpc\","
            "\"name\":\"a\",\"instances\":[]}"),
        -EINVAL,
        "t.tfstate: resources[0] (aws_vpc.a) has an invalid module address \"module.a[x]\"");
    expect_error(RES("{\"module\":\"module.a.\",\"mode\":\"managed\",\"type\":\"aws_vpc\","
                     "\"name\":\"a\",\"instances\":[]}"),
                 -EINVAL,
                 "t.tfstate: resources[0] (aws_vpc.a) has an invalid module address \"module.a.\"");
    expect_error(RES("{\"mode\":\"managed\",\"type\":\"aws_vpc\",\"name\":\"a\","
                     "\"provider\":\"aws\",\"instances\":[]}"),
                 -EINVAL, "t.tfstate: aws_vpc.a: unrecognised provider address \"aws\"");
    expect_error(RES("{\"mode\":\"managed\",\"type\":\"aws_vpc\",\"name\":\"a\","
                     "\"provider\":\"provider[\\\"a/b/c/d\\\"]\",\"instances\":[]}"),
                 -EINVAL,
                 "t.tfstate: aws_vpc.a: unrecognised provider address \"provider[\"a/b/c/d\"]\"");
    expect_error(RES("{\"mode\":\"managed\",\"type\":\"aws_vpc\",\"name\":\"a\","
                     "\"provider\":\"provider[\\\"hashicorp/aws\\\"].bad alias\","
                     "\"instances\":[]}"),
                 -EINVAL,
                 "t.tfstate: aws_vpc.a: unrecognised provider address "
                 "\"provider[\"hashicorp/aws\"].bad alias\"");
    expect_error(RES("{\"mode\":\"data\",\"type\":\"aws_vpc\",\"name\":\"a\"," AWS "}"), -EINVAL,
                 "t.tfstate: data.aws_vpc.a has no \"instances\" list");
}
END_TEST

#define ONE(inst)                                                                                \
    RES("{\"module\":\"module.m\",\"mode\":\"managed\",\"type\":\"aws_vpc\",\"name\":\"a\"," AWS \
        ",\"instances\":[" inst "]}")

START_TEST(bad_instances)
{
    expect_error(ONE("[]"), -EINVAL,
                 "t.tfstate: module.m.aws_vpc.a: instances[0] is an array, expected an object");
    expect_error(ONE("{\"index_key\":true,\"attributes\":{}}"), -EINVAL,
                 "t.tfstate: module.m.aws_vpc.a: instances[0] has index_key a boolean, expected a "
                 "whole number (count) or a string (for_each)");
    expect_error(ONE("{\"index_key\":1.5,\"attributes\":{}}"), -EINVAL,
                 "t.tfstate: module.m.aws_vpc.a: instances[0] has index_key a number, expected a "
                 "whole number (count) or a string (for_each)");
    expect_error(ONE("{\"index_key\":2,\"status\":\"gone\",\"attributes\":{}}"), -EINVAL,
                 "t.tfstate: module.m.aws_vpc.a[2]: unknown instance status \"gone\" (expected "
                 "\"tainted\")");
    expect_error(ONE("{\"deposed\":\"xyz\",\"attributes\":{}}"), -EINVAL,
                 "t.tfstate: module.m.aws_vpc.a: deposed key \"xyz\" is not 8 hexadecimal digits");
    expect_error(ONE("{\"deposed\":\"0000000g\",\"attributes\":{}}"), -EINVAL,
                 "t.tfstate: module.m.aws_vpc.a: deposed key \"0000000g\" is not 8 hexadecimal "
                 "digits");
    expect_error(ONE("{\"status\":1,\"attributes\":{}}"), -EINVAL,
                 "t.tfstate: module.m.aws_vpc.a: \"status\" is a number, expected a string");
    expect_error(ONE("{\"schema_version\":-1,\"attributes\":{}}"), -EINVAL,
                 "t.tfstate: module.m.aws_vpc.a: schema_version is not a non-negative integer");
    expect_error(ONE("{\"schema_version\":0}"), -EINVAL,
                 "t.tfstate: module.m.aws_vpc.a: instance has neither \"attributes\" nor "
                 "\"attributes_flat\"");
    expect_error(ONE("{\"attributes\":[1]}"), -EINVAL,
                 "t.tfstate: module.m.aws_vpc.a: attributes is an array, expected an object");
    expect_error(ONE("{\"attributes_flat\":\"id=1\"}"), -EINVAL,
                 "t.tfstate: module.m.aws_vpc.a: attributes_flat is a string, expected an object");
    expect_error(ONE("{\"attributes\":{},\"instance_provider\":\"nope\"}"), -EINVAL,
                 "t.tfstate: module.m.aws_vpc.a: unrecognised instance_provider \"nope\"");
    expect_error(ONE("{\"attributes\":{}},{\"attributes\":{}}"), -EINVAL,
                 "t.tfstate: module.m.aws_vpc.a appears more than once in the state");
    expect_error(ONE("{\"deposed\":\"0badcafe\",\"attributes\":{}},"
                     "{\"deposed\":\"0badcafe\",\"attributes\":{}}"),
                 -EINVAL,
                 "t.tfstate: module.m.aws_vpc.a: deposed object 0badcafe appears more than once "
                 "in the state");
    expect_error(ONE("{\"attributes\":{},\"dependencies\":\"aws_vpc.b\"}"), -EINVAL,
                 "t.tfstate: module.m.aws_vpc.a: \"dependencies\" is a string, expected a list of "
                 "addresses");
    expect_error(ONE("{\"attributes\":{},\"depends_on\":[\"x\",null]}"), -EINVAL,
                 "t.tfstate: module.m.aws_vpc.a: depends_on[1] is null, expected an address");
    expect_error(ONE("{\"attributes\":{\"p\":1},\"sensitive_attributes\":{}}"), -EINVAL,
                 "t.tfstate: module.m.aws_vpc.a: sensitive_attributes is an object, expected a "
                 "list");
    expect_error(ONE("{\"attributes\":{\"p\":1},\"sensitive_attributes\":[\"p\"]}"), -EINVAL,
                 "t.tfstate: module.m.aws_vpc.a: sensitive_attributes[0] is not a list of "
                 "{\"type\", \"value\"} steps");
    expect_error(ONE("{\"attributes\":{\"p\":1},\"sensitive_attributes\":[[{\"type\":"
                     "\"get_attr\",\"value\":3}]]}"),
                 -EINVAL,
                 "t.tfstate: module.m.aws_vpc.a: sensitive_attributes[0] is not a list of "
                 "{\"type\", \"value\"} steps");
    expect_error(ONE("{\"attributes\":{\"p\":1},\"sensitive_attributes\":[[],[{\"type\":"
                     "\"index\",\"value\":0}]]}"),
                 -EINVAL,
                 "t.tfstate: module.m.aws_vpc.a: sensitive_attributes[1] is not a list of "
                 "{\"type\", \"value\"} steps");
}
END_TEST

START_TEST(bad_flatmaps)
{
    char *deep, *doc;
    struct buf b;

    expect_error(ONE("{\"attributes_flat\":{\"id\":\"x\",\"n\":3}}"), -EINVAL,
                 "t.tfstate: module.m.aws_vpc.a: attributes_flat value \"n\" is a number, "
                 "expected a string");
    expect_error(ONE("{\"attributes_flat\":{\"a\":\"x\",\"a.b\":\"y\"}}"), -EINVAL,
                 "t.tfstate: module.m.aws_vpc.a: attributes_flat key \"a\" is both a value and the "
                 "prefix of other keys");
    expect_error(ONE("{\"attributes_flat\":{\"a.#\":\"1\",\"a.%\":\"1\",\"a.0\":\"y\"}}"), -EINVAL,
                 "t.tfstate: module.m.aws_vpc.a: attributes_flat has both \"a.%\" and \"a.#\" (a "
                 "map and a list)");

    /* A key nested deeper than the limit. */
    buf_init(&b, SIZE_MAX);
    for (int k = 0; k <= TFSTATE_MAX_FLAT_DEPTH; k++)
        ck_assert_int_ge(buf_append_str(&b, k ? ".a" : "a"), 0);
    deep = buf_steal(&b, NULL);
    doc = str_printf(ONE("{\"attributes_flat\":{\"%s\":\"v\"}}"), deep);
    {
        char *msg = str_printf("t.tfstate: module.m.aws_vpc.a: attributes_flat key \"%s\" is "
                               "nested deeper than %d levels",
                               deep, TFSTATE_MAX_FLAT_DEPTH);
        struct perr err = { 0 };
        struct tfstate *s = NULL;
        ck_assert_int_eq(tfstate_parse("t.tfstate", doc, strlen(doc), NULL, &s, &err), -EINVAL);
        ck_assert_str_eq(err.msg, msg);
        free(msg);
    }
    free(doc);
    /* One level less is fine. */
    deep[strlen(deep) - 2] = '\0';
    doc = str_printf(ONE("{\"attributes_flat\":{\"%s\":\"v\"}}"), deep);
    tfstate_free(parse_inline(doc));
    free(doc);
    free(deep);
}
END_TEST

START_TEST(size_limit_and_files)
{
    const char *doc = "{\"version\":4,\"resources\":[]}";
    struct tfstate_opts opts = { .max_size = strlen(doc) - 1 };
    struct tfstate *s = NULL;
    struct perr err = { 0 };
    char *dir = tu_tmpdir(), *path = tu_path_join(dir, "big.tfstate"), *msg;

    ck_assert_int_eq(tfstate_parse("t.tfstate", doc, strlen(doc), &opts, &s, &err), -EFBIG);
    msg = str_printf("t.tfstate: %zu bytes is larger than the state size limit of %zu bytes; "
                     "raise the limit if this really is a Terraform state",
                     strlen(doc), strlen(doc) - 1);
    ck_assert_str_eq(err.msg, msg);
    free(msg);
    ck_assert_ptr_null(s);
    opts.max_size = strlen(doc);
    ck_assert_int_eq(tfstate_parse("t.tfstate", doc, strlen(doc), &opts, &s, &err), 0);
    s = tfstate_free(s);

    tu_write_file(path, doc);
    opts.max_size = 8;
    ck_assert_int_eq(tfstate_load(path, &opts, &s, &err), -EFBIG);
    msg = str_printf("%s: larger than the state size limit of 8 bytes; raise the limit if this "
                     "really is a Terraform state",
                     path);
    ck_assert_str_eq(err.msg, msg);
    free(msg);
    ck_assert_int_eq(tfstate_load(path, NULL, &s, &err), 0);
    ck_assert_uint_eq(s->n_instances, 0);
    s = tfstate_free(s);
    free(path);

    path = tu_path_join(dir, "missing.tfstate");
    ck_assert_int_eq(tfstate_load(path, NULL, &s, &err), -ENOENT);
    msg = str_printf("%s: cannot read the state: No such file or directory", path);
    ck_assert_str_eq(err.msg, msg);
    free(msg);
    free(path);
    ck_assert_ptr_null(tfstate_free(NULL));
    tu_rmrf(dir);
    free(dir);
}
END_TEST

START_TEST(providers_and_numbers)
{
    struct tfstate *s = parse_inline(
        RES("{\"mode\":\"managed\",\"type\":\"a_b\",\"name\":\"n\","
            "\"provider\":\"module.m[\\\"k\\\"].provider.aws.west\",\"instances\":[{\"attributes\":"
            "{\"big\":18446744073709551617,\"small\":42,\"frac\":0.5}}]},"
            "{\"mode\":\"managed\",\"type\":\"a_b\",\"name\":\"o\","
            "\"provider\":\"provider[\\\"registry.terraform.io/-/Null\\\"]\",\"instances\":[{"
            "\"attributes\":{},\"instance_provider\":\"provider[\\\"example.com/acme/"
            "widget\\\"].x\"}]},"
            "{\"mode\":\"managed\",\"type\":\"a_b\",\"name\":\"p\","
            "\"provider\":\"provider[\\\"hashicorp/aws\\\"]\",\"instances\":[{\"attributes\":{},"
            "\"index_key\":3.0}]},"
            "{\"mode\":\"managed\",\"type\":\"a_b\",\"name\":\"q\",\"provider\":\"\","
            "\"instances\":[{\"attributes\":null,\"attributes_flat\":{}}]}"));
    const struct tfstate_instance *n = find(s, "a_b.n", NULL);
    const struct tfstate_instance *o = find(s, "a_b.o", NULL);
    const struct tfstate_instance *p = find(s, "a_b.p[3]", NULL);
    const struct tfstate_instance *q = find(s, "a_b.q", NULL);

    ck_assert_str_eq(n->provider, "registry.terraform.io/hashicorp/aws");
    ck_assert_str_eq(n->provider_alias, "west");
    ck_assert(json_is_real(json_object_get(n->attributes, "big")));
    ck_assert(json_is_integer(json_object_get(n->attributes, "small")));
    ck_assert_int_eq(json_integer_value(json_object_get(n->attributes, "small")), 42);
    ck_assert(json_is_real(json_object_get(n->attributes, "frac")));
    /* instance_provider wins over the resource's provider. */
    ck_assert_str_eq(o->provider, "example.com/acme/widget");
    ck_assert_str_eq(o->provider_alias, "x");
    ck_assert_str_eq(p->provider, "registry.terraform.io/hashicorp/aws");
    ck_assert_int_eq(p->key_kind, TFSTATE_KEY_INT);
    ck_assert_ptr_null(q->provider);
    ck_assert_ptr_null(q->provider_config);
    ck_assert_uint_eq(json_object_size(q->attributes), 0);
    tfstate_free(s);

    s = parse_inline(RES("{\"mode\":\"managed\",\"type\":\"a_b\",\"name\":\"r\",\"provider\":"
                         "\"provider[\\\"registry.terraform.io/-/null\\\"]\",\"instances\":[{"
                         "\"attributes\":{}}]}"));
    ck_assert_str_eq(s->instances[0].provider, "registry.terraform.io/hashicorp/null");
    tfstate_free(s);
}
END_TEST

START_TEST(record_json)
{
    struct tfstate *s = load_data("tests/data/tfstate/module-string-keys.tfstate");
    json_t *j = tfstate_to_json(s), *first;

    ck_assert_int_eq(json_integer_value(json_object_get(j, "version")), 4);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "resources")), 3);
    ck_assert_uint_eq(json_array_size(json_object_get(j, "instances")), 4);
    first = json_array_get(json_object_get(j, "instances"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(first, "index_key")), "x");
    ck_assert_str_eq(json_string_value(json_object_get(first, "mode")), "managed");
    ck_assert_str_eq(json_string_value(json_object_get(first, "provider_alias")), "eu");
    ck_assert(json_is_array(json_object_get(first, "sensitive")));
    /* A copy: changing it does not touch the state. */
    ck_assert_int_eq(
        json_object_set_new(json_object_get(first, "attributes"), "id", json_string("changed")), 0);
    ck_assert_str_eq(tfstate_instance_id(&s->instances[0]), "sg-0aa11bb22cc33dd44");
    first = json_array_get(json_object_get(j, "instances"), 3);
    ck_assert_int_eq(json_integer_value(json_object_get(first, "index_key")), 0);
    json_decref(j);
    tfstate_free(s);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("tfstate");
    TCase *tc = tcase_create("fixtures");
    tcase_add_test(tc, fixture_corpus);
    tcase_add_test(tc, count_and_for_each);
    tcase_add_test(tc, nested_and_counted_modules);
    tcase_add_test(tc, data_sources);
    tcase_add_test(tc, legacy_providers);
    tcase_add_test(tc, attributes_flat_fixtures);
    tcase_add_test(tc, sensitive_fixture);
    tcase_add_test(tc, large_state);
    tcase_add_test(tc, terraform_versions_verbatim);
    tcase_add_test(tc, roundtrip_pairs);
    suite_add_tcase(s, tc);

    tc = tcase_create("handwritten");
    tcase_add_test(tc, tainted);
    tcase_add_test(tc, deposed);
    tcase_add_test(tc, string_keyed_modules);
    tcase_add_test(tc, check_results_and_unknown_keys);
    tcase_add_test(tc, attributes_flat_rules);
    tcase_add_test(tc, sensitive_masking);
    tcase_add_test(tc, providers_and_numbers);
    tcase_add_test(tc, record_json);
    suite_add_tcase(s, tc);

    tc = tcase_create("errors");
    tcase_add_test(tc, bad_documents);
    tcase_add_test(tc, bad_resources);
    tcase_add_test(tc, bad_instances);
    tcase_add_test(tc, bad_flatmaps);
    tcase_add_test(tc, size_limit_and_files);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(suite());
}
