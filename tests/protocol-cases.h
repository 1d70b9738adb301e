/* Shared by test-awsxml.c and test-awsjson.c: run botocore's protocol
 * output test cases (fixtures aws-responses/botocore-protocol-tests/output)
 * through plumb's parsers and compare with the expected results.
 *
 * Each case is parsed with a model built from the case's own metadata,
 * shapes and operation ("given").  Expected values are what botocore's
 * test harness compares against: timestamps as epoch seconds, blobs as
 * their decoded text, errors as {"Error": {Code, Message}} plus the
 * modeled members.  The comparison walks the shape so each of plumb's
 * representation choices (ISO timestamps, base64 blobs) is checked
 * exactly against botocore's value. */
#ifndef PLUMB_TEST_PROTOCOL_CASES_H
#define PLUMB_TEST_PROTOCOL_CASES_H

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "awserr.h"
#include "awsjson.h"
#include "awsmodel.h"
#include "awsxml.h"
#include "crypto.h"
#include "testutil.h"

struct pc_exclusion {
    const char *id;
    const char *reason;
};

struct pc_counts {
    size_t total;
    size_t run;
    size_t ignored;  /* protocol-tests-ignore-list.json */
    size_t excluded; /* our own reasoned list */
    size_t refused;  /* event streams: asserted to be refused cleanly */
};

static inline bool pc_fail(char *why, size_t size, const char *path, const char *fmt, ...)
    PLUMB_PRINTF(4, 5);
static inline bool pc_fail(char *why, size_t size, const char *path, const char *fmt, ...)
{
    char m[700];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m, sizeof(m), fmt, ap);
    va_end(ap);
    snprintf(why, size, "%.300s: %.700s", path, m);
    return false;
}

static inline bool pc_compare(const struct awsref *ref, json_t *want, json_t *got, const char *path,
                              char *why, size_t size);

static inline bool pc_compare_struct(const struct awsshape *s, json_t *want, json_t *got,
                                     const char *path, bool top, char *why, size_t size)
{
    const char *key;
    json_t *v;

    if (s->document)
        return json_equal(want, got) ? true : pc_fail(why, size, path, "document differs%s", "");
    if (!json_is_object(got))
        return pc_fail(why, size, path, "expected an object%s", "");
    if (json_object_get(want, "SDK_UNKNOWN_MEMBER"))
        return json_equal(want, got) ? true
                                     : pc_fail(why, size, path, "unknown union member%s", "");
    json_object_foreach (want, key, v) {
        const struct awsmember *mem = awsshape_member(s, key);
        json_t *g = json_object_get(got, key);
        char sub[512];
        snprintf(sub, sizeof(sub), "%s.%s", path, key);
        if (!mem)
            return pc_fail(why, size, sub, "expected key is not a member of %s", s->name);
        if (!g)
            return pc_fail(why, size, sub, "missing%s", "");
        if (!pc_compare(&mem->ref, v, g, sub, why, size))
            return false;
    }
    json_object_foreach (got, key, v) {
        if (top && strcmp(key, "ResponseMetadata") == 0)
            continue;
        if (!json_object_get(want, key))
            return pc_fail(why, size, path, "unexpected member %s", key);
    }
    return true;
}

static inline bool pc_compare(const struct awsref *ref, json_t *want, json_t *got, const char *path,
                              char *why, size_t size)
{
    const struct awsshape *s = ref->shape;

    if (json_is_null(want))
        return json_is_null(got) ? true : pc_fail(why, size, path, "expected null%s", "");
    switch (s->type) {
    case AWS_SHAPE_STRUCTURE: return pc_compare_struct(s, want, got, path, false, why, size);
    case AWS_SHAPE_LIST: {
        size_t i;
        json_t *v;
        if (!json_is_array(got) || json_array_size(got) != json_array_size(want))
            return pc_fail(why, size, path, "list length differs%s", "");
        json_array_foreach (want, i, v) {
            char sub[512];
            snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
            if (!pc_compare(&s->member, v, json_array_get(got, i), sub, why, size))
                return false;
        }
        return true;
    }
    case AWS_SHAPE_MAP: {
        const char *key;
        json_t *v;
        if (!json_is_object(got) || json_object_size(got) != json_object_size(want))
            return pc_fail(why, size, path, "map size differs%s", "");
        json_object_foreach (want, key, v) {
            char sub[512];
            json_t *g = json_object_get(got, key);
            snprintf(sub, sizeof(sub), "%s{%s}", path, key);
            if (!g)
                return pc_fail(why, size, sub, "missing%s", "");
            if (!pc_compare(&s->value, v, g, sub, why, size))
                return false;
        }
        return true;
    }
    case AWS_SHAPE_TIMESTAMP: {
        int64_t want_ms, got_ms;
        char canon[AWS_TS_BUFSZ];
        if (json_is_number(want))
            ck_assert_int_eq(aws_ts_from_epoch(json_number_value(want), &want_ms), 0);
        else if (aws_ts_parse(json_string_value(want), &want_ms) < 0)
            return pc_fail(why, size, path, "unreadable expected timestamp %s",
                           json_string_value(want));
        if (!json_is_string(got) || aws_ts_parse(json_string_value(got), &got_ms) < 0)
            return pc_fail(why, size, path, "timestamp is not a string%s", "");
        aws_ts_format(got_ms, canon);
        if (strcmp(canon, json_string_value(got)) != 0)
            return pc_fail(why, size, path, "timestamp not in canonical form: %s",
                           json_string_value(got));
        if (want_ms != got_ms)
            return pc_fail(why, size, path, "timestamp differs: got %s", json_string_value(got));
        return true;
    }
    case AWS_SHAPE_BLOB: {
        unsigned char *raw = NULL;
        size_t len = 0;
        bool same;
        if (!json_is_string(got) || base64_decode(json_string_value(got), &raw, &len) < 0)
            return pc_fail(why, size, path, "blob is not base64: %s", json_string_value(got));
        same = json_is_string(want) && len == json_string_length(want) &&
               memcmp(raw, json_string_value(want), len) == 0;
        free(raw);
        return same ? true : pc_fail(why, size, path, "blob differs: %s", json_string_value(got));
    }
    case AWS_SHAPE_FLOAT:
    case AWS_SHAPE_DOUBLE:
        if (json_is_string(want))
            return json_equal(want, got)
                       ? true
                       : pc_fail(why, size, path, "expected %s", json_string_value(want));
        if (!json_is_real(got) || json_real_value(got) != json_number_value(want))
            return pc_fail(why, size, path, "float differs%s", "");
        return true;
    case AWS_SHAPE_INTEGER:
    case AWS_SHAPE_LONG:
        if (!json_is_integer(got) || json_integer_value(got) != json_integer_value(want))
            return pc_fail(why, size, path, "integer differs%s", "");
        return true;
    default: return json_equal(want, got) ? true : pc_fail(why, size, path, "value differs%s", "");
    }
}

static inline const char *pc_reason(const struct pc_exclusion *ex, const char *id)
{
    for (; ex && ex->id; ex++)
        if (strcmp(ex->id, id) == 0)
            return ex->reason;
    return NULL;
}

static inline bool pc_ignored(json_t *ignore, const char *proto, const char *id)
{
    json_t *cases = json_object_get(
        json_object_get(json_object_get(json_object_get(ignore, "protocols"), proto), "output"),
        "cases");
    size_t i;
    json_t *v;
    json_array_foreach (cases, i, v)
        if (strcmp(json_string_value(v), id) == 0)
            return true;
    return false;
}

/* Parse one case; returns false with why filled on a mismatch. */
static inline bool pc_run_case(json_t *suite, json_t *c, char *why, size_t size)
{
    json_t *given = json_object_get(c, "given"), *resp = json_object_get(c, "response");
    const char *name = json_string_value(json_object_get(given, "name"));
    json_t *doc, *hdrs = json_object_get(resp, "headers"), *hv, *got = NULL;
    struct awsheader headers[32];
    struct awsresponse r = { 0 };
    struct awsmodel *m = NULL;
    const struct awsop *op;
    struct perr err = { 0 };
    const char *hk;
    bool ok;
    int rc;

    if (!name)
        name = "OperationName";
    given = json_deep_copy(given);
    doc = json_pack("{s:O,s:O,s:{s:o}}", "metadata", json_object_get(suite, "metadata"), "shapes",
                    json_object_get(suite, "shapes"), "operations", name, given);
    ck_assert_ptr_nonnull(doc);
    /* As botocore's harness does: the query cases' bodies have an
     * <OpResult> wrapper their models do not declare. */
    if (str_eq(json_string_value(json_object_get(json_object_get(suite, "metadata"), "protocol")),
               "query") &&
        !json_object_get(c, "error")) {
        json_t *out = json_object_get(given, "output");
        json_t *shape = json_object_get(json_object_get(suite, "shapes"),
                                        json_string_value(json_object_get(out, "shape")));
        if (out && json_object_size(json_object_get(shape, "members")) > 0) {
            char wrapper[256];
            snprintf(wrapper, sizeof(wrapper), "%sResult", name);
            json_object_set_new(out, "resultWrapper", json_string(wrapper));
        }
    }
    rc = awsmodel_load_json(doc, "protocol-test", &m, &err);
    ck_assert_msg(rc == 0, "model: %s", err.msg);
    op = awsmodel_op(m, name);
    ck_assert_ptr_nonnull(op);

    json_object_foreach (hdrs, hk, hv) {
        ck_assert_uint_lt(r.n_headers, ARRAY_SIZE(headers));
        headers[r.n_headers].name = hk;
        headers[r.n_headers].value = json_string_value(hv);
        r.n_headers++;
    }
    r.headers = headers;
    r.status = (int)json_integer_value(json_object_get(resp, "status_code"));
    r.body = json_string_value(json_object_get(resp, "body"));
    /* botocore's harness: no body is b"", or "<xml/>" for query. */
    if (!r.body &&
        str_eq(json_string_value(json_object_get(json_object_get(suite, "metadata"), "protocol")),
               "query"))
        r.body = "<xml/>";
    r.body_len = r.body ? strlen(r.body) : 0;

    if (json_object_get(c, "error")) {
        struct awserr *e = NULL;
        const char *want_code = json_string_value(json_object_get(c, "errorCode"));
        const char *want_msg = json_string_value(json_object_get(c, "errorMessage"));
        json_t *want_fields = json_object_get(c, "error"), *empty = json_object();
        const struct awsshape *es;
        ck_assert_int_eq(awserr_parse(m, op, &r, &e, &err), 0);
        es = awsmodel_error_shape(m, e->code);
        if (!str_eq(e->code, want_code ? want_code : ""))
            ok = pc_fail(why, size, "Error.Code", "got %.200s", e->code);
        else if (!str_eq(e->message, want_msg ? want_msg : ""))
            ok = pc_fail(why, size, "Error.Message", "got %.200s", e->message);
        else if (json_object_size(want_fields) > 0 && !es)
            ok = pc_fail(why, size, "Error", "no shape for code %s", e->code);
        else if (es)
            ok = pc_compare_struct(es, want_fields, e->fields ? e->fields : empty, "error", true,
                                   why, size);
        else
            ok = e->fields == NULL ? true : pc_fail(why, size, "error", "unexpected fields%s", "");
        json_decref(empty);
        awserr_free(e);
    } else {
        if (m->protocol == AWS_PROTOCOL_JSON || m->protocol == AWS_PROTOCOL_REST_JSON)
            rc = awsjson_parse_output(m, op, &r, 0, &got, &err);
        else
            rc = awsxml_parse_output(m, op, &r, NULL, &got, &err);
        if (rc < 0) {
            ok = pc_fail(why, size, "parse", "%s", err.msg);
        } else if (!op->output.shape) {
            json_object_del(got, "ResponseMetadata");
            ok =
                json_object_size(got) == 0 ? true : pc_fail(why, size, "result", "not empty%s", "");
        } else {
            ok = pc_compare_struct(op->output.shape, json_object_get(c, "result"), got, "result",
                                   true, why, size);
        }
        json_decref(got);
    }
    awsmodel_free(m);
    json_decref(doc);
    return ok;
}

/* A suite whose output shape has an event stream member. */
static inline bool pc_unsupported(json_t *suite)
{
    const char *name;
    json_t *shape;
    json_object_foreach (json_object_get(suite, "shapes"), name, shape) {
        const char *mname;
        json_t *mem;
        json_object_foreach (json_object_get(shape, "members"), mname, mem) {
            json_t *target = json_object_get(json_object_get(suite, "shapes"),
                                             json_string_value(json_object_get(mem, "shape")));
            if (json_is_true(json_object_get(target, "eventstream")))
                return true;
        }
    }
    return false;
}

static inline bool pc_refuses_eventstream(json_t *suite, json_t *c)
{
    json_t *given = json_object_get(c, "given"), *resp = json_object_get(c, "response");
    const char *name = json_string_value(json_object_get(given, "name"));
    json_t *doc, *out = NULL;
    struct awsmodel *m = NULL;
    struct awsresponse r = { 0 };
    struct perr err = { 0 };
    int rc;

    if (!name)
        name = "OperationName";
    doc = json_pack("{s:O,s:O,s:{s:O}}", "metadata", json_object_get(suite, "metadata"), "shapes",
                    json_object_get(suite, "shapes"), "operations", name, given);
    ck_assert_int_eq(awsmodel_load_json(doc, "protocol-test", &m, &err), 0);
    r.status = (int)json_integer_value(json_object_get(resp, "status_code"));
    r.body = json_string_value(json_object_get(resp, "body"));
    r.body_len = r.body ? strlen(r.body) : 0;
    if (m->protocol == AWS_PROTOCOL_JSON || m->protocol == AWS_PROTOCOL_REST_JSON)
        rc = awsjson_parse_output(m, awsmodel_op(m, name), &r, 0, &out, &err);
    else
        rc = awsxml_parse_output(m, awsmodel_op(m, name), &r, NULL, &out, &err);
    json_decref(out);
    awsmodel_free(m);
    json_decref(doc);
    return rc == -EOPNOTSUPP && str_has_suffix(err.msg, ": event streams are not supported");
}

/* Run every case of <dir>/<stem>.json (dir "output" or "legacy/output";
 * ignore-list key `proto`).  Cases without an id are named by their
 * suite's description and their position. */
static inline void pc_run_dir_file(const char *dir, const char *stem, const char *proto,
                                   const struct pc_exclusion *excluded, struct pc_counts *cnt)
{
    char rel[256];
    char *path, *ipath;
    json_t *suites, *ignore, *suite;
    json_error_t jerr;
    size_t i, failures = 0;
    char first_failure[1024] = "";

    snprintf(rel, sizeof(rel), "aws-responses/botocore-protocol-tests/%s/%s.json", dir, stem);
    path = tu_fixture(rel);
    ipath = tu_fixture("aws-responses/botocore-protocol-tests/protocol-tests-ignore-list.json");
    suites = json_load_file(path, 0, &jerr);
    ck_assert_msg(suites != NULL, "%s: %s", path, jerr.text);
    ignore = json_load_file(ipath, 0, &jerr);
    ck_assert_msg(ignore != NULL, "%s: %s", ipath, jerr.text);
    memset(cnt, 0, sizeof(*cnt));

    json_array_foreach (suites, i, suite) {
        size_t k;
        json_t *c;
        json_array_foreach (json_object_get(suite, "cases"), k, c) {
            const char *id = json_string_value(json_object_get(c, "id"));
            char why[1100], idbuf[300];
            if (!id) {
                snprintf(idbuf, sizeof(idbuf), "%.250s #%zu",
                         json_string_value(json_object_get(suite, "description")), k);
                id = idbuf;
            }
            cnt->total++;
            if (pc_ignored(ignore, proto, id)) {
                cnt->ignored++;
                continue;
            }
            if (pc_reason(excluded, id)) {
                cnt->excluded++;
                continue;
            }
            if (pc_unsupported(suite)) {
                /* Event streams: plumb calls no such operation; the
                 * parser must refuse them cleanly. */
                cnt->refused++;
                ck_assert_msg(pc_refuses_eventstream(suite, c), "%s %s: event stream accepted",
                              stem, id);
                continue;
            }
            cnt->run++;
            if (!pc_run_case(suite, c, why, sizeof(why))) {
                printf("%s %s: FAIL %s\n", stem, id, why);
                if (failures++ == 0)
                    snprintf(first_failure, sizeof(first_failure), "%.100s %.100s: %.800s", stem,
                             id, why);
            }
        }
    }
    printf("%s/%s.json: %zu cases, %zu run, %zu event-stream cases refused as unsupported, %zu "
           "on botocore's ignore list, %zu excluded\n",
           dir, stem, cnt->total, cnt->run, cnt->refused, cnt->ignored, cnt->excluded);
    ck_assert_msg(failures == 0, "%zu failures, first: %s", failures, first_failure);
    /* Everything botocore itself runs, minus a short reasoned list. */
    ck_assert_msg((cnt->run + cnt->refused) * 10 >= (cnt->total - cnt->ignored) * 9,
                  "%s: only %zu of %zu cases run", stem, cnt->run + cnt->refused,
                  cnt->total - cnt->ignored);
    json_decref(suites);
    json_decref(ignore);
    free(path);
    free(ipath);
}

static inline void pc_run_file(const char *stem, const char *proto,
                               const struct pc_exclusion *excluded, struct pc_counts *cnt)
{
    pc_run_dir_file("output", stem, proto, excluded, cnt);
}

#endif
