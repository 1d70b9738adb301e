/* Drift end to end: a moto estate and the Terraform state that declares it
 * (tests/seed/drift_estate.py) show no drift at all; after known changes on
 * the live side, plumb reports exactly those — changed (with attribute
 * paths), missing and unmanaged — and nothing on untouched resources. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "jsonutil.h"
#include "testutil.h"
#include "util.h"

static struct tu_moto moto;
static char *tmp;
static char *state;
static char e_xdg[512], e_data[512], e_ep[128];
static const char *env[12];

static void setup(void)
{
    char *src = tu_srcpath("etc");
    const char *args[3];
    char *out;
    tu_moto_start(&moto);
    tmp = tu_tmpdir();
    snprintf(e_xdg, sizeof(e_xdg), "XDG_STATE_HOME=%s/xdg", tmp);
    snprintf(e_data, sizeof(e_data), "PLUMB_DATADIR=%s", src);
    snprintf(e_ep, sizeof(e_ep), "AWS_ENDPOINT_URL=%s", moto.endpoint);
    free(src);
    env[0] = e_xdg;
    env[1] = e_data;
    env[2] = e_ep;
    env[3] = "AWS_ACCESS_KEY_ID=AKIAPLUMBTEST0000000";
    env[4] = "AWS_SECRET_ACCESS_KEY=plumbtestsecretplumbtestsecretplumbtest0";
    env[5] = "AWS_REGION=eu-central-1";
    env[6] = NULL;
    args[0] = "seed";
    args[1] = tmp;
    args[2] = NULL;
    out = tu_moto_seed(&moto, "drift_estate.py", args);
    free(out);
    state = tu_path_join(tmp, "main.tfstate");
}

static void teardown(void)
{
    tu_moto_stop(&moto);
    tu_rmrf(tmp);
    free(tmp);
    free(state);
}

static json_t *plumb_json(const char *first, ...)
{
    char *plumb = tu_buildpath("daemon/plumb"), *out = NULL, *err = NULL;
    const char *argv[24];
    size_t n = 0;
    json_t *j;
    va_list ap;
    int st;
    argv[n++] = plumb;
    argv[n++] = first;
    va_start(ap, first);
    while (n < 20 && (argv[n] = va_arg(ap, const char *)))
        n++;
    va_end(ap);
    argv[n++] = "-o";
    argv[n++] = "json";
    argv[n] = NULL;
    st = tu_run(argv, env, &out, &err);
    ck_assert_msg(st == 0 || st == 3, "plumb %s exited %d: %s", first, st, err);
    j = json_loads(out, 0, NULL);
    ck_assert_msg(j != NULL, "plumb %s printed no JSON: %s\n%s", first, out, err);
    free(out);
    free(err);
    free(plumb);
    return j;
}

static void scan(const char *state_outcome)
{
    json_t *j = plumb_json("scan", "--once", "--quiet", "--state", state, "--collector", "s3",
                           "--collector", "kms", "--collector", "ec2", "--collector", "iam",
                           "--collector", "logs", NULL);
    ck_assert_int_eq((int)json_array_size(json_object_get(j, "states")), 1);
    ck_assert_str_eq(json_string_value(json_path_get(j, "states[0].outcome")), state_outcome);
    json_decref(j);
}

/* A printable line per drift item, for messages. */
static char *describe(json_t *arr)
{
    struct buf b;
    size_t i;
    json_t *d;
    buf_init(&b, 1 << 20);
    json_array_foreach (arr, i, d) {
        buf_appendf(&b, "  %s %s %s", json_string_value(json_object_get(d, "category")),
                    json_string_value(json_object_get(d, "type")),
                    json_string_value(json_object_get(d, "id")));
        if (json_object_get(d, "changes")) {
            size_t k;
            json_t *c;
            json_array_foreach (json_object_get(d, "changes"), k, c) {
                buf_appendf(&b, " [%s]", json_string_value(json_object_get(c, "path")));
            }
        }
        buf_append_char(&b, '\n');
    }
    return buf_steal(&b, NULL);
}

START_TEST(healthy_then_drifted)
{
    json_t *drift, *expected, *e;
    char *out, *text, *argv_drift[3];
    size_t i;

    /* 1. The state matches the estate: not one drift item. */
    scan("updated");
    drift = plumb_json("drift", NULL);
    text = describe(drift);
    ck_assert_msg(json_array_size(drift) == 0, "false positives on a healthy estate:\n%s", text);
    free(text);
    json_decref(drift);

    /* 2. Known live changes. */
    argv_drift[0] = (char *)"drift";
    argv_drift[1] = tmp;
    argv_drift[2] = NULL;
    out = tu_moto_seed(&moto, "drift_estate.py", (const char *const *)argv_drift);
    expected = json_loads(out, 0, NULL);
    ck_assert_msg(expected != NULL, "seed printed no JSON: %s", out);
    free(out);
    /* The declared state did not change; the estate did. */
    scan("unchanged");
    drift = plumb_json("drift", NULL);
    text = describe(drift);
    /* Every expected item is there, with exactly its paths ... */
    json_array_foreach (expected, i, e) {
        const char *cat = json_string_value(json_object_get(e, "category"));
        const char *type = json_string_value(json_object_get(e, "type"));
        const char *id = json_string_value(json_object_get(e, "id"));
        json_t *paths = json_object_get(e, "paths");
        json_t *found = NULL, *d;
        size_t k;
        json_array_foreach (drift, k, d) {
            if (str_eq(json_string_value(json_object_get(d, "category")), cat) &&
                str_eq(json_string_value(json_object_get(d, "type")), type) &&
                str_eq(json_string_value(json_object_get(d, "id")), id))
                found = d;
        }
        ck_assert_msg(found != NULL, "expected %s %s %s, got:\n%s", cat, type, id, text);
        if (str_eq(cat, "changed")) {
            json_t *changes = json_object_get(found, "changes"), *p;
            size_t m;
            ck_assert_msg(json_array_size(changes) == json_array_size(paths),
                          "%s %s: expected %zu changed paths, got:\n%s", type, id,
                          json_array_size(paths), text);
            json_array_foreach (paths, m, p) {
                bool hit = false;
                size_t q;
                json_t *c;
                json_array_foreach (changes, q, c) {
                    hit = hit || str_eq(json_string_value(json_object_get(c, "path")),
                                        json_string_value(p));
                }
                ck_assert_msg(hit, "%s %s: no change at %s in:\n%s", type, id, json_string_value(p),
                              text);
            }
        }
    }
    /* ... and nothing else: untouched managed resources stay quiet. */
    ck_assert_msg(json_array_size(drift) == json_array_size(expected),
                  "expected %zu drift items, got %zu:\n%s", json_array_size(expected),
                  json_array_size(drift), text);
    free(text);
    json_decref(drift);
    json_decref(expected);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("drift");
    TCase *tc = tcase_create("drift");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 180);
    tcase_add_test(tc, healthy_then_drifted);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(suite());
}
